#include "cli/group_admin.h"

#include <fmt/core.h>
#include <strings.h>

#include <algorithm>
#include <memory>

#include "cli/admin.h"

namespace fjord::cli {
namespace {

using PartitionListPtr =
    std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>;

PartitionListPtr to_partition_list(const std::vector<TopicPartitionId>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())),
                        &rd_kafka_topic_partition_list_destroy);
  for (const TopicPartitionId& id : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), id.topic.c_str(), id.partition);
  }
  return list;
}

std::vector<TopicPartitionId> to_ids(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartitionId> ids;
  if (list == nullptr) return ids;
  for (int i = 0; i < list->cnt; ++i)
    ids.push_back({list->elems[i].topic, list->elems[i].partition});
  return ids;
}

std::string text_or_empty(const char* text) { return text != nullptr ? text : ""; }

const rd_kafka_consumer_group_state_t kNamedStates[] = {
    RD_KAFKA_CONSUMER_GROUP_STATE_STABLE, RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY,
    RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE,
    RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE, RD_KAFKA_CONSUMER_GROUP_STATE_DEAD};

Error group_error(const std::string& group, const rd_kafka_error_t* error, const char* what) {
  return Error{ErrorCode::kUnknownServerError,
               fmt::format("{} of group '{}' failed: {} ({})", what, group,
                           rd_kafka_error_string(error), rd_kafka_error_name(error))};
}

// The single group result of a ListConsumerGroupOffsets/AlterConsumerGroupOffsets event.
Result<const rd_kafka_group_result_t*> single_group_result(const rd_kafka_group_result_t** results,
                                                           size_t count, const std::string& group,
                                                           const char* what) {
  if (count != 1) {
    return Error{ErrorCode::kUnknownServerError,
                 fmt::format("{} of group '{}': expected one result, got {}", what, group, count)};
  }
  if (const rd_kafka_error_t* error = rd_kafka_group_result_error(results[0])) {
    return group_error(group, error, what);
  }
  return results[0];
}

GroupMember to_member(const rd_kafka_MemberDescription_t* source) {
  GroupMember member;
  member.member_id = text_or_empty(rd_kafka_MemberDescription_consumer_id(source));
  member.instance_id = text_or_empty(rd_kafka_MemberDescription_group_instance_id(source));
  member.client_id = text_or_empty(rd_kafka_MemberDescription_client_id(source));
  member.host = text_or_empty(rd_kafka_MemberDescription_host(source));
  if (const rd_kafka_MemberAssignment_t* assignment =
          rd_kafka_MemberDescription_assignment(source)) {
    member.assignment = to_ids(rd_kafka_MemberAssignment_partitions(assignment));
  }
  return member;
}

GroupLookup to_lookup(const rd_kafka_ConsumerGroupDescription_t* source) {
  GroupLookup lookup;
  GroupDescription& group = lookup.description;
  group.name = text_or_empty(rd_kafka_ConsumerGroupDescription_group_id(source));
  if (const rd_kafka_error_t* error = rd_kafka_ConsumerGroupDescription_error(source)) {
    lookup.error = rd_kafka_error_code(error);
    lookup.error_message = text_or_empty(rd_kafka_error_string(error));
    return lookup;
  }
  group.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(source));
  // librdkafka 2.0.2 tells only whether the protocol type is empty.
  group.protocol_type =
      rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(source) ? "" : "consumer";
  group.protocol = text_or_empty(rd_kafka_ConsumerGroupDescription_partition_assignor(source));
  if (const rd_kafka_Node_t* node = rd_kafka_ConsumerGroupDescription_coordinator(source)) {
    group.coordinator = rd_kafka_Node_id(node);
  }
  const size_t member_count = rd_kafka_ConsumerGroupDescription_member_count(source);
  for (size_t m = 0; m < member_count; ++m) {
    group.members.push_back(to_member(rd_kafka_ConsumerGroupDescription_member(source, m)));
  }
  return lookup;
}

}  // namespace

Result<rd_kafka_consumer_group_state_t> parse_group_state(std::string_view name) {
  std::string names;
  for (rd_kafka_consumer_group_state_t state : kNamedStates) {
    const char* state_name = rd_kafka_consumer_group_state_name(state);
    if (name.size() == std::char_traits<char>::length(state_name) &&
        strncasecmp(name.data(), state_name, name.size()) == 0) {
      return state;
    }
    names += names.empty() ? "" : ", ";
    names += state_name;
  }
  return Error{ErrorCode::kInvalidConfig,
               fmt::format("invalid --state '{}': expected one of {}", name, names)};
}

Result<std::vector<GroupListing>> list_groups(
    KafkaClient& client, const std::vector<rd_kafka_consumer_group_state_t>& states) {
  AdminRequest request(client);
  if (!states.empty()) {
    rd_kafka_error_t* error = rd_kafka_AdminOptions_set_match_consumer_group_states(
        request.options(), states.data(), states.size());
    if (error != nullptr) {
      Error result{ErrorCode::kInvalidConfig,
                   fmt::format("invalid --state filter: {}", rd_kafka_error_string(error))};
      rd_kafka_error_destroy(error);
      return result;
    }
  }
  rd_kafka_ListConsumerGroups(client.handle(), request.options(), request.queue());
  auto event = request.wait("ListGroups");
  if (!event.ok()) return event.error();
  const rd_kafka_ListConsumerGroups_result_t* result =
      rd_kafka_event_ListConsumerGroups_result(event->get());
  size_t error_count = 0;
  const rd_kafka_error_t** errors = rd_kafka_ListConsumerGroups_result_errors(result, &error_count);
  if (error_count > 0) {  // a broker that did not answer: the list would be incomplete
    return Error{ErrorCode::kUnknownServerError,
                 fmt::format("ListGroups failed: {} ({})", rd_kafka_error_string(errors[0]),
                             rd_kafka_error_name(errors[0]))};
  }
  size_t count = 0;
  const rd_kafka_ConsumerGroupListing_t** listings =
      rd_kafka_ListConsumerGroups_result_valid(result, &count);
  std::vector<GroupListing> groups;
  for (size_t i = 0; i < count; ++i) {
    groups.push_back(GroupListing{
        text_or_empty(rd_kafka_ConsumerGroupListing_group_id(listings[i])),
        rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(listings[i])),
        rd_kafka_ConsumerGroupListing_is_simple_consumer_group(listings[i]) ? "" : "consumer"});
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return groups;
}

Result<std::vector<GroupLookup>> describe_groups(KafkaClient& client,
                                                 const std::vector<std::string>& names) {
  std::vector<const char*> c_names;
  for (const std::string& name : names) c_names.push_back(name.c_str());
  AdminRequest request(client);
  rd_kafka_DescribeConsumerGroups(client.handle(), c_names.data(), c_names.size(),
                                  request.options(), request.queue());
  auto event = request.wait("DescribeGroups");
  if (!event.ok()) return event.error();
  size_t count = 0;
  const rd_kafka_ConsumerGroupDescription_t** results =
      rd_kafka_DescribeConsumerGroups_result_groups(
          rd_kafka_event_DescribeConsumerGroups_result(event->get()), &count);
  std::vector<GroupLookup> lookups;
  for (size_t i = 0; i < count; ++i) lookups.push_back(to_lookup(results[i]));
  // In the order asked for, whatever order the results came in.
  std::vector<GroupLookup> ordered;
  for (const std::string& name : names) {
    auto found = std::find_if(lookups.begin(), lookups.end(),
                              [&](const GroupLookup& l) { return l.description.name == name; });
    if (found == lookups.end()) {
      return Error{ErrorCode::kUnknownServerError,
                   fmt::format("DescribeGroups returned no result for group '{}'", name)};
    }
    ordered.push_back(*found);
  }
  return ordered;
}

Result<OffsetMap> committed_offsets(KafkaClient& client, const std::string& group) {
  AdminRequest request(client);
  rd_kafka_ListConsumerGroupOffsets_t* query =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);  // all partitions
  rd_kafka_ListConsumerGroupOffsets(client.handle(), &query, 1, request.options(), request.queue());
  rd_kafka_ListConsumerGroupOffsets_destroy(query);
  auto event = request.wait("OffsetFetch");
  if (!event.ok()) return event.error();
  size_t count = 0;
  const rd_kafka_group_result_t** results = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(event->get()), &count);
  auto result = single_group_result(results, count, group, "OffsetFetch");
  if (!result.ok()) return result.error();
  OffsetMap offsets;
  const rd_kafka_topic_partition_list_t* list = rd_kafka_group_result_partitions(*result);
  for (int i = 0; list != nullptr && i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{
          ErrorCode::kUnknownServerError,
          fmt::format("OffsetFetch of group '{}' failed for {}:{}: {} ({})", group, p.topic,
                      p.partition, rd_kafka_err2str(p.err), kafka_error_name(p.err))};
    }
    if (p.offset >= 0) offsets[{p.topic, p.partition}] = p.offset;
  }
  return offsets;
}

Result<ListedOffsets> list_offsets(KafkaClient& client,
                                   const std::vector<TopicPartitionId>& partitions, int64_t when) {
  ListedOffsets listed;
  if (partitions.empty()) return listed;
  PartitionListPtr list = to_partition_list(partitions);
  for (int i = 0; i < list->cnt; ++i) list->elems[i].offset = when;
  const rd_kafka_resp_err_t error =
      rd_kafka_offsets_for_times(client.handle(), list.get(), client.options().timeout_ms);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR && error != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
    if (client.all_brokers_down()) return client.unreachable_error();
    return Error{ErrorCode::kUnknownServerError,
                 fmt::format("ListOffsets failed: {} ({})", rd_kafka_err2str(error),
                             kafka_error_name(error))};
  }
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    if (error == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      listed.errors[{p.topic, p.partition}] =
          p.err != RD_KAFKA_RESP_ERR_NO_ERROR ? p.err : RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
    } else if (p.offset >= 0) {
      listed.offsets[{p.topic, p.partition}] = p.offset;
    }
  }
  return listed;
}

Status alter_committed_offsets(KafkaClient& client, const std::string& group,
                               const OffsetMap& offsets) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())),
                        &rd_kafka_topic_partition_list_destroy);
  for (const auto& [id, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), id.topic.c_str(), id.partition)->offset = offset;
  }
  AdminRequest request(client);
  rd_kafka_AlterConsumerGroupOffsets_t* alter =
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get());
  rd_kafka_AlterConsumerGroupOffsets(client.handle(), &alter, 1, request.options(),
                                     request.queue());
  rd_kafka_AlterConsumerGroupOffsets_destroy(alter);
  auto event = request.wait("OffsetCommit");
  if (!event.ok()) return event.error();
  size_t count = 0;
  const rd_kafka_group_result_t** results = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(event->get()), &count);
  auto result = single_group_result(results, count, group, "OffsetCommit");
  if (!result.ok()) return result.error();
  const rd_kafka_topic_partition_list_t* committed = rd_kafka_group_result_partitions(*result);
  for (int i = 0; committed != nullptr && i < committed->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = committed->elems[i];
    if (p.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    return Error{p.err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ? ErrorCode::kUnknownMemberId
                                                              : ErrorCode::kUnknownServerError,
                 fmt::format("OffsetCommit of group '{}' failed for {}:{}: {} ({})", group, p.topic,
                             p.partition, rd_kafka_err2str(p.err), kafka_error_name(p.err))};
  }
  return {};
}

Result<std::vector<GroupDeletion>> delete_groups(KafkaClient& client,
                                                 const std::vector<std::string>& names) {
  std::vector<rd_kafka_DeleteGroup_t*> groups;
  for (const std::string& name : names) groups.push_back(rd_kafka_DeleteGroup_new(name.c_str()));
  AdminRequest request(client);
  rd_kafka_DeleteGroups(client.handle(), groups.data(), groups.size(), request.options(),
                        request.queue());
  rd_kafka_DeleteGroup_destroy_array(groups.data(), groups.size());
  auto event = request.wait("DeleteGroups");
  if (!event.ok()) return event.error();
  size_t count = 0;
  const rd_kafka_group_result_t** results =
      rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(event->get()), &count);
  std::vector<GroupDeletion> deletions;
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_error_t* error = rd_kafka_group_result_error(results[i]);
    deletions.push_back(
        GroupDeletion{text_or_empty(rd_kafka_group_result_name(results[i])),
                      error != nullptr ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR});
  }
  return deletions;
}

}  // namespace fjord::cli
