// `fjord group list|describe|delete|reset-offsets`, like kafka-consumer-groups.sh.
#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/group_admin.h"
#include "cli/group_report.h"
#include "cli/offset_reset.h"

namespace fjord::cli {
namespace {

// An admin client that is known to reach the cluster.
Result<std::unique_ptr<KafkaClient>> connect_admin(const ClientOptions& options) {
  auto client = KafkaClient::create(KafkaClient::Kind::kProducer, options,
                                    {{"allow.auto.create.topics", "false"}});
  if (!client.ok()) return client.error();
  Status reachable = (*client)->await_cluster();
  if (!reachable.ok()) return reachable.error();
  return client;
}

int fail_with(const Error& error) {
  return fail(error.code == ErrorCode::kInvalidConfig ? kExitUsage : kExitFailure, error.message);
}

std::string no_group_message(const std::string& group) {
  return fmt::format("group '{}' does not exist: see the groups with 'fjord group list'", group);
}

// librdkafka refuses a request that names a group twice.
std::vector<std::string> without_repeats(const std::vector<std::string>& names) {
  std::vector<std::string> unique;
  for (const std::string& name : names) {
    if (std::find(unique.begin(), unique.end(), name) == unique.end()) unique.push_back(name);
  }
  return unique;
}

bool is_inactive(const std::string& state) { return state == "Empty" || state == "Dead"; }

// The log end offset of every partition in `partitions` that has one.
Result<OffsetMap> log_end_offsets(KafkaClient& client,
                                  const std::vector<TopicPartitionId>& partitions) {
  auto listed = list_offsets(client, partitions, RD_KAFKA_OFFSET_END);
  if (!listed.ok()) return listed.error();
  return std::move(listed->offsets);
}

// Describes one group; false if it could not (the error is already printed).
bool describe_one(KafkaClient& client, const GroupLookup& lookup, bool first) {
  const GroupDescription& group = lookup.description;
  if (lookup.error == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
    fail(kExitFailure, no_group_message(group.name));
    return false;
  }
  if (lookup.error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fail(kExitFailure, fmt::format("cannot describe group '{}': {} ({})", group.name,
                                   lookup.error_message, kafka_error_name(lookup.error)));
    return false;
  }
  auto committed = committed_offsets(client, group.name);
  if (!committed.ok()) {
    fail(kExitFailure, committed.error().message);
    return false;
  }
  if (group.state == "Dead" && committed->empty()) {
    fail(kExitFailure, no_group_message(group.name));
    return false;
  }
  std::vector<PartitionLag> lags = partition_lags(group, *committed, {});
  std::vector<TopicPartitionId> partitions;
  for (const PartitionLag& lag : lags) partitions.push_back(lag.partition);
  auto log_ends = log_end_offsets(client, partitions);
  if (!log_ends.ok()) {
    fail(kExitFailure, log_ends.error().message);
    return false;
  }
  if (!first) fmt::print("\n");
  fmt::print("{}", format_group_description(group, partition_lags(group, *committed, *log_ends)));
  return true;
}

std::string delete_error_message(const GroupDeletion& deletion) {
  const std::string& group = deletion.group;
  switch (deletion.error) {
    case RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP:
      return fmt::format(
          "group '{}' still has active members: stop its consumers (see "
          "'fjord group describe {}') and retry",
          group, group);
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
      return no_group_message(group);
    default:
      return fmt::format("cannot delete group '{}': {} ({})", group,
                         rd_kafka_err2str(deletion.error), kafka_error_name(deletion.error));
  }
}

// The partitions a reset applies to: the named ones (checked against the
// topic's metadata), or with --all-topics every partition the group committed.
Result<std::vector<TopicPartitionId>> reset_partitions(KafkaClient& client,
                                                       const GroupResetOptions& options,
                                                       const OffsetMap& committed) {
  std::set<TopicPartitionId> partitions;
  if (options.all_topics) {
    for (const auto& [id, offset] : committed) partitions.insert(id);
    if (partitions.empty()) {
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("group '{}' has no committed offsets: name the topics with --topic",
                               options.group)};
    }
  }
  for (const std::string& text : options.topics) {
    auto scope = parse_topic_scope(text);
    if (!scope.ok()) return scope.error();
    auto topic = fetch_topic(client, scope->topic);
    if (!topic.ok()) return topic.error();
    const auto count = static_cast<int32_t>(topic->partitions.size());
    for (int32_t p : scope->partitions) {
      if (p >= count) {
        return Error{ErrorCode::kInvalidConfig,
                     fmt::format("topic '{}' has no partition {}: it has {} (0 to {})",
                                 scope->topic, p, count, count - 1)};
      }
    }
    if (scope->partitions.empty()) {
      for (const PartitionInfo& partition : topic->partitions) {
        partitions.insert({scope->topic, partition.id});
      }
    }
    for (int32_t p : scope->partitions) partitions.insert({scope->topic, p});
  }
  return std::vector<TopicPartitionId>(partitions.begin(), partitions.end());
}

Error missing_log_error(const TopicPartitionId& id, const ListedOffsets& listed) {
  auto error = listed.errors.find(id);
  const rd_kafka_resp_err_t code =
      error != listed.errors.end() ? error->second : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
  return Error{ErrorCode::kUnknownServerError,
               fmt::format("cannot read the offsets of {}:{}: {} ({}); check 'fjord topic "
                           "describe {}'",
                           id.topic, id.partition, rd_kafka_err2str(code), kafka_error_name(code),
                           id.topic)};
}

// Every partition's new offset; fails when a partition's log cannot be read.
Result<std::vector<ResetPlanRow>> plan_reset(KafkaClient& client, const ResetTarget& target,
                                             const std::vector<TopicPartitionId>& partitions,
                                             const OffsetMap& committed) {
  auto starts = list_offsets(client, partitions, RD_KAFKA_OFFSET_BEGINNING);
  if (!starts.ok()) return starts.error();
  auto ends = list_offsets(client, partitions, RD_KAFKA_OFFSET_END);
  if (!ends.ok()) return ends.error();
  ListedOffsets at_time;
  if (target.kind == ResetTarget::Kind::kTimestamp) {
    auto listed = list_offsets(client, partitions, target.value);
    if (!listed.ok()) return listed.error();
    at_time = std::move(*listed);
  }
  std::vector<ResetPlanRow> rows;
  for (const TopicPartitionId& id : partitions) {
    auto start = starts->offsets.find(id);
    if (start == starts->offsets.end()) return missing_log_error(id, *starts);
    auto end = ends->offsets.find(id);
    if (end == ends->offsets.end()) return missing_log_error(id, *ends);
    if (at_time.errors.count(id) > 0) return missing_log_error(id, at_time);
    PartitionLog log{start->second, end->second, std::nullopt};
    if (auto found = at_time.offsets.find(id); found != at_time.offsets.end()) {
      log.offset_for_time = found->second;
    }
    auto current = committed.find(id);
    rows.push_back(plan_partition_reset(
        target, id,
        current != committed.end() ? std::optional<int64_t>(current->second) : std::nullopt, log));
  }
  return rows;
}

std::string active_group_message(const GroupDescription& group) {
  return fmt::format(
      "consumer group '{}' is not inactive: it has {} member(s), state {}; stop "
      "its consumers (see 'fjord group describe {}') before resetting offsets",
      group.name, group.members.size(), group.state, group.name);
}

Status execute_reset(KafkaClient& client, const GroupDescription& group,
                     const std::vector<ResetPlanRow>& rows) {
  OffsetMap offsets;
  for (const ResetPlanRow& row : rows) offsets[row.partition] = row.new_offset;
  Status status = alter_committed_offsets(client, group.name, offsets);
  if (!status.ok() && status.error().code == ErrorCode::kUnknownMemberId) {
    // A consumer joined between the state check and the commit.
    return Error{ErrorCode::kUnknownMemberId,
                 fmt::format("consumer group '{}' got members while resetting, so nothing was "
                             "committed: stop its consumers and retry",
                             group.name)};
  }
  return status;
}

}  // namespace

int group_list(const ClientOptions& client_options, const std::vector<std::string>& states) {
  std::vector<rd_kafka_consumer_group_state_t> filter;
  for (const std::string& name : states) {
    auto state = parse_group_state(name);
    if (!state.ok()) return fail_with(state.error());
    filter.push_back(*state);
  }
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  auto groups = list_groups(**client, filter);
  if (!groups.ok()) return fail_with(groups.error());
  fmt::print("{}", format_group_list(*groups));
  return kExitOk;
}

int group_describe(const ClientOptions& client_options, const std::vector<std::string>& groups) {
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  auto lookups = describe_groups(**client, without_repeats(groups));
  if (!lookups.ok()) return fail_with(lookups.error());
  int exit_code = kExitOk;
  bool first = true;
  for (const GroupLookup& lookup : *lookups) {
    if (describe_one(**client, lookup, first)) {
      first = false;
    } else {
      exit_code = kExitFailure;
    }
  }
  return exit_code;
}

int group_delete(const ClientOptions& client_options, const std::vector<std::string>& groups) {
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  auto deletions = delete_groups(**client, without_repeats(groups));
  if (!deletions.ok()) return fail_with(deletions.error());
  int exit_code = kExitOk;
  for (const GroupDeletion& deletion : *deletions) {
    if (deletion.error == RD_KAFKA_RESP_ERR_NO_ERROR) {
      fmt::print("deleted group '{}'\n", deletion.group);
    } else {
      exit_code = fail(kExitFailure, delete_error_message(deletion));
    }
  }
  return exit_code;
}

int group_reset_offsets(const ClientOptions& client_options, const GroupResetOptions& options) {
  auto target = choose_reset_target(options.to_earliest, options.to_latest, options.to_timestamp,
                                    options.to_offset);
  if (!target.ok()) return fail_with(target.error());
  if (options.topics.empty() == !options.all_topics) {
    return fail(kExitUsage,
                "give the partitions to reset: --topic TOPIC[:P,...] (repeatable) "
                "or --all-topics (every partition the group has committed)");
  }
  for (const std::string& text : options.topics) {  // bad syntax before any request
    if (auto scope = parse_topic_scope(text); !scope.ok()) return fail_with(scope.error());
  }
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  auto lookups = describe_groups(**client, {options.group});
  if (!lookups.ok()) return fail_with(lookups.error());
  const GroupLookup& lookup = lookups->front();
  if (lookup.error != RD_KAFKA_RESP_ERR_NO_ERROR &&
      lookup.error != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
    return fail(kExitFailure, fmt::format("cannot describe group '{}': {} ({})", options.group,
                                          lookup.error_message, kafka_error_name(lookup.error)));
  }
  if (lookup.error == RD_KAFKA_RESP_ERR_NO_ERROR && !is_inactive(lookup.description.state)) {
    return fail(kExitFailure, active_group_message(lookup.description));
  }
  auto committed = committed_offsets(**client, options.group);
  if (!committed.ok()) return fail_with(committed.error());
  auto partitions = reset_partitions(**client, options, *committed);
  if (!partitions.ok()) return fail_with(partitions.error());
  auto rows = plan_reset(**client, *target, *partitions, *committed);
  if (!rows.ok()) return fail_with(rows.error());
  fmt::print("{}", format_reset_plan(*rows));
  if (!options.execute) {
    fmt::print(stderr,
               "dry run: nothing was committed; add --execute to commit these offsets for "
               "group '{}'\n",
               options.group);
    return kExitOk;
  }
  GroupDescription group = lookup.description;
  group.name = options.group;
  Status status = execute_reset(**client, group, *rows);
  if (!status.ok()) return fail_with(status.error());
  fmt::print("committed new offsets of {} partition(s) for group '{}'\n", rows->size(),
             options.group);
  return kExitOk;
}

}  // namespace fjord::cli
