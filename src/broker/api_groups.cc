// Consumer groups: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit, OffsetFetch, ListGroups, DescribeGroups, DeleteGroups and
// OffsetDelete. Each handler translates the request into calls on the group
// (src/groups), which runs on the shard owning the group's __consumer_offsets
// partition, and translates the outcome back.
#include <fmt/core.h>

#include "broker/broker.h"
#include "broker/request_checks.h"
#include "protocol/generated/delete_groups_request.h"
#include "protocol/generated/delete_groups_response.h"
#include "protocol/generated/describe_groups_request.h"
#include "protocol/generated/describe_groups_response.h"
#include "protocol/generated/find_coordinator_request.h"
#include "protocol/generated/find_coordinator_response.h"
#include "protocol/generated/heartbeat_request.h"
#include "protocol/generated/heartbeat_response.h"
#include "protocol/generated/join_group_request.h"
#include "protocol/generated/join_group_response.h"
#include "protocol/generated/leave_group_request.h"
#include "protocol/generated/leave_group_response.h"
#include "protocol/generated/list_groups_request.h"
#include "protocol/generated/list_groups_response.h"
#include "protocol/generated/offset_commit_request.h"
#include "protocol/generated/offset_commit_response.h"
#include "protocol/generated/offset_delete_request.h"
#include "protocol/generated/offset_delete_response.h"
#include "protocol/generated/offset_fetch_request.h"
#include "protocol/generated/offset_fetch_response.h"
#include "protocol/generated/sync_group_request.h"
#include "protocol/generated/sync_group_response.h"

namespace fjord::broker {

namespace p = protocol;
using groups::GroupRegistry;
using groups::join_failure;
using groups::sync_failure;

namespace {

constexpr int8_t kGroupKeyType = 0;
constexpr int8_t kTransactionKeyType = 1;
constexpr int32_t kNoAuthorizedOperations = INT32_MIN;

// Kafka shows a member's host as "/ip".
std::string client_host(const RequestContext& context) {
  const std::string& peer = context.connection ? context.connection->peer : std::string();
  const size_t colon = peer.rfind(':');
  return "/" + (colon == std::string::npos ? peer : peer.substr(0, colon));
}

}  // namespace

boost::asio::awaitable<ErrorCode> Broker::ensure_offsets_topic() {
  if (groups_.active()) {
    co_return ErrorCode::kNone;
  }
  const std::string name(kOffsetsTopic);
  const auto& config = groups_.config();
  auto opened =
      co_await open_internal_topic(name, config.offsets_partitions, config.offsets_segment_bytes);
  if (!opened) {
    co_return opened.error().code;
  }
  groups_.activate(*opened);
  co_return ErrorCode::kNone;
}

boost::asio::awaitable<p::FindCoordinatorResponse> Broker::find_coordinator(
    const RequestContext& context, p::FindCoordinatorRequest& request) {
  const int16_t version = context.api_version;
  const int8_t key_type = version >= 1 ? request.key_type : kGroupKeyType;
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  if (key_type == kGroupKeyType) {
    error = co_await ensure_offsets_topic();
    if (error != ErrorCode::kNone) message = "the offsets topic is not available yet";
  } else if (key_type == kTransactionKeyType) {
    error = co_await ensure_txn_state_topic();
    if (error != ErrorCode::kNone) message = "the transaction state topic is not available yet";
  } else {
    error = ErrorCode::kInvalidRequest;
    message = fmt::format("unknown coordinator key type {}", key_type);
  }
  // The coordinator of a key is the leader of its partition of the internal topic.
  auto locate = [&](const std::string& key) -> Result<CoordinatorAddress> {
    if (error != ErrorCode::kNone) return Error{error, message};
    return key_type == kGroupKeyType
               ? coordinator_address(kOffsetsTopic, groups_.partition_for(key))
               : coordinator_address(kTransactionStateTopic, txns_.partition_for(key));
  };
  p::FindCoordinatorResponse response;
  if (version < 4) {
    auto address = locate(request.key);
    response.error_code = to_wire(address.code());
    if (!address) response.error_message = address.error().message;
    response.node_id = address ? address->node_id : -1;
    response.host = address ? address->host : "";
    response.port = address ? address->port : -1;
    co_return response;
  }
  for (const auto& key : request.coordinator_keys) {
    auto address = locate(key);
    p::FindCoordinatorResponse::Coordinator coordinator;
    coordinator.key = key;
    coordinator.error_code = to_wire(address.code());
    if (!address) coordinator.error_message = address.error().message;
    coordinator.node_id = address ? address->node_id : -1;
    coordinator.host = address ? address->host : "";
    coordinator.port = address ? address->port : -1;
    response.coordinators.push_back(std::move(coordinator));
  }
  co_return response;
}

ErrorCode Broker::group_coordinator_check(const std::string& group_id) const {
  if (!partitions_.is_cluster_node() || !groups_.active()) return ErrorCode::kNone;
  auto address = coordinator_address(kOffsetsTopic, groups_.partition_for(group_id));
  if (!address) return address.code();
  return address->node_id == config_.node_id ? ErrorCode::kNone : ErrorCode::kNotCoordinator;
}

ErrorCode Broker::txn_coordinator_check(const std::string& transactional_id) const {
  if (!partitions_.is_cluster_node() || !txns_.active()) return ErrorCode::kNone;
  auto address = coordinator_address(kTransactionStateTopic, txns_.partition_for(transactional_id));
  if (!address) return address.code();
  return address->node_id == config_.node_id ? ErrorCode::kNone : ErrorCode::kNotCoordinator;
}

Result<Broker::CoordinatorAddress> Broker::coordinator_address(std::string_view topic_name,
                                                               int32_t partition) const {
  if (!partitions_.is_cluster_node()) {
    return CoordinatorAddress{config_.node_id, advertised_host_, advertised_port_};
  }
  const auto image = controller_.image();
  const metadata::TopicInfo* topic = image->find(std::string(topic_name));
  const int32_t leader = topic == nullptr ? -1 : image->leader_of(*topic, partition);
  if (leader == config_.node_id) {
    return CoordinatorAddress{config_.node_id, advertised_host_, advertised_port_};
  }
  auto broker = image->brokers.find(leader);
  if (leader < 0 || broker == image->brokers.end() || broker->second.endpoints.empty()) {
    return Error{ErrorCode::kCoordinatorNotAvailable,
                 fmt::format("{}-{} has no leader", topic_name, partition)};
  }
  const auto& endpoint = broker->second.endpoints.front();
  return CoordinatorAddress{leader, endpoint.host, endpoint.port};
}

// --- Membership ---------------------------------------------------------------

boost::asio::awaitable<p::JoinGroupResponse> Broker::join_group(const RequestContext& context,
                                                                p::JoinGroupRequest& request) {
  const int16_t version = context.api_version;
  groups::JoinRequest join;
  join.member_id = request.member_id;
  join.group_instance_id = request.group_instance_id;
  join.client_id = context.client_id;
  join.client_host = client_host(context);
  join.session_timeout_ms = request.session_timeout_ms;
  join.rebalance_timeout_ms =
      version >= 1 ? request.rebalance_timeout_ms : request.session_timeout_ms;
  join.protocol_type = request.protocol_type;
  for (auto& protocol : request.protocols) {
    join.protocols.push_back({protocol.name, std::move(protocol.metadata)});
  }
  join.require_known_member_id = version >= 4;
  join.supports_skip_assignment = version >= 9;

  groups::JoinResult result;
  ErrorCode ready = ErrorCode::kInvalidGroupId;
  if (!invalid_group_id(request.group_id)) {
    ready = co_await ensure_offsets_topic();
  }
  if (ready == ErrorCode::kNone) ready = group_coordinator_check(request.group_id);
  if (ready != ErrorCode::kNone) {
    result = join_failure(ready, request.member_id);
  } else {
    const std::string group_id = request.group_id;
    GroupWork<groups::JoinResult> work = [group_id, join = std::move(join)](GroupRegistry& registry,
                                                                            auto reply) {
      auto group =
          join.member_id.empty() ? registry.get_or_create(group_id) : registry.find(group_id);
      if (!group) {
        reply(join_failure(ErrorCode::kUnknownMemberId, join.member_id));
        return;
      }
      group->join(join, wall_clock_ms(), reply);
      registry.forget_if_unused(group_id);
    };
    result = co_await groups_.run<groups::JoinResult>(group_id, work);
  }
  p::JoinGroupResponse response;
  response.error_code = to_wire(result.error);
  response.generation_id = result.generation;
  response.protocol_type = result.protocol_type;
  response.protocol_name = version >= 7 ? result.protocol_name : result.protocol_name.value_or("");
  response.leader = result.leader;
  response.skip_assignment = result.skip_assignment;
  response.member_id = result.member_id;
  for (auto& member : result.members) {
    p::JoinGroupResponse::JoinGroupResponseMember entry;
    entry.member_id = std::move(member.member_id);
    entry.group_instance_id = std::move(member.group_instance_id);
    entry.metadata = std::move(member.metadata);
    response.members.push_back(std::move(entry));
  }
  co_return response;
}

boost::asio::awaitable<p::SyncGroupResponse> Broker::sync_group(const RequestContext&,
                                                                p::SyncGroupRequest& request) {
  groups::SyncRequest sync;
  sync.member_id = request.member_id;
  sync.group_instance_id = request.group_instance_id;
  sync.generation = request.generation_id;
  sync.protocol_type = request.protocol_type;
  sync.protocol_name = request.protocol_name;
  for (auto& assignment : request.assignments) {
    sync.assignments.emplace_back(assignment.member_id, std::move(assignment.assignment));
  }
  groups::SyncResult result;
  if (invalid_group_id(request.group_id)) {
    result = sync_failure(ErrorCode::kInvalidGroupId);
  } else if (!groups_.active()) {
    result = sync_failure(ErrorCode::kUnknownMemberId);
  } else if (ErrorCode elsewhere = group_coordinator_check(request.group_id);
             elsewhere != ErrorCode::kNone) {
    result = sync_failure(elsewhere);
  } else {
    const std::string group_id = request.group_id;
    GroupWork<groups::SyncResult> work = [group_id, sync = std::move(sync)](GroupRegistry& registry,
                                                                            auto reply) {
      auto group = registry.find(group_id);
      if (!group) {
        reply(sync_failure(ErrorCode::kUnknownMemberId));
        return;
      }
      group->sync(sync, wall_clock_ms(), reply);
    };
    result = co_await groups_.run<groups::SyncResult>(group_id, work);
  }
  p::SyncGroupResponse response;
  response.error_code = to_wire(result.error);
  response.protocol_type = result.protocol_type;
  response.protocol_name = result.protocol_name;
  response.assignment = std::move(result.assignment);
  co_return response;
}

boost::asio::awaitable<p::HeartbeatResponse> Broker::heartbeat(const RequestContext&,
                                                               p::HeartbeatRequest& request) {
  ErrorCode error = ErrorCode::kUnknownMemberId;
  if (invalid_group_id(request.group_id)) {
    error = ErrorCode::kInvalidGroupId;
  } else if (group_coordinator_check(request.group_id) != ErrorCode::kNone) {
    error = group_coordinator_check(request.group_id);
  } else if (groups_.active()) {
    groups::HeartbeatRequest beat{request.member_id, request.group_instance_id,
                                  request.generation_id};
    const std::string group_id = request.group_id;
    GroupWork<ErrorCode> work = [group_id, beat](GroupRegistry& registry, auto reply) {
      auto group = registry.find(group_id);
      reply(group ? group->heartbeat(beat, wall_clock_ms()) : ErrorCode::kUnknownMemberId);
    };
    error = co_await groups_.run<ErrorCode>(group_id, work);
  }
  p::HeartbeatResponse response;
  response.error_code = to_wire(error);
  co_return response;
}

boost::asio::awaitable<p::LeaveGroupResponse> Broker::leave_group(const RequestContext& context,
                                                                  p::LeaveGroupRequest& request) {
  const int16_t version = context.api_version;
  using Leaving = std::pair<std::string, std::optional<std::string>>;
  std::vector<Leaving> leaving;
  if (version < 3) {
    leaving.emplace_back(request.member_id, std::nullopt);
  } else {
    for (const auto& member : request.members) {
      leaving.emplace_back(member.member_id, member.group_instance_id);
    }
  }
  std::vector<ErrorCode> errors(leaving.size(), ErrorCode::kUnknownMemberId);
  ErrorCode top_level = ErrorCode::kNone;
  if (invalid_group_id(request.group_id)) {
    top_level = ErrorCode::kInvalidGroupId;
  } else if (group_coordinator_check(request.group_id) != ErrorCode::kNone) {
    top_level = group_coordinator_check(request.group_id);
  } else if (groups_.active()) {
    const std::string group_id = request.group_id;
    GroupWork<std::vector<ErrorCode>> work = [group_id, leaving](GroupRegistry& registry,
                                                                 auto reply) {
      std::vector<ErrorCode> results(leaving.size(), ErrorCode::kUnknownMemberId);
      if (auto group = registry.find(group_id)) {
        for (size_t i = 0; i < leaving.size(); ++i) {
          results[i] = group->leave(leaving[i].first, leaving[i].second, wall_clock_ms());
        }
      }
      reply(std::move(results));
    };
    errors = co_await groups_.run<std::vector<ErrorCode>>(group_id, work);
  }
  p::LeaveGroupResponse response;
  if (version < 3) {
    response.error_code = to_wire(top_level != ErrorCode::kNone ? top_level : errors.front());
    co_return response;
  }
  response.error_code = to_wire(top_level);
  if (top_level == ErrorCode::kNone) {
    for (size_t i = 0; i < leaving.size(); ++i) {
      p::LeaveGroupResponse::MemberResponse entry;
      entry.member_id = leaving[i].first;
      entry.group_instance_id = leaving[i].second;
      entry.error_code = to_wire(errors[i]);
      response.members.push_back(std::move(entry));
    }
  }
  co_return response;
}

// --- Offsets ------------------------------------------------------------------

boost::asio::awaitable<p::OffsetCommitResponse> Broker::offset_commit(
    const RequestContext& context, p::OffsetCommitRequest& request) {
  const int16_t version = context.api_version;
  const int64_t now_ms = wall_clock_ms();
  const auto& limits = groups_.config().limits;
  auto image = controller_.image();

  ErrorCode request_error = ErrorCode::kNone;
  if (invalid_group_id(request.group_id)) {
    request_error = ErrorCode::kInvalidGroupId;
  } else {
    request_error = co_await ensure_offsets_topic();
  }
  if (request_error == ErrorCode::kNone) request_error = group_coordinator_check(request.group_id);

  // Per partition: its error, or a place in the commit sent to the group.
  groups::CommitRequest commit;
  commit.generation = request.generation_id_or_member_epoch;
  commit.member_id = request.member_id;
  commit.group_instance_id = request.group_instance_id;
  p::OffsetCommitResponse response;
  // (topic, partition) positions in the response of the offsets sent to the group.
  std::vector<std::pair<size_t, size_t>> committed;
  for (const auto& topic : request.topics) {
    auto& topic_entry = response.topics.emplace_back();
    topic_entry.name = topic.name;
    const metadata::TopicInfo* info = image->find(topic.name);
    for (const auto& partition : topic.partitions) {
      auto& entry = topic_entry.partitions.emplace_back();
      entry.partition_index = partition.partition_index;
      const std::string metadata = partition.committed_metadata.value_or("");
      const ErrorCode error = request_error != ErrorCode::kNone
                                  ? request_error
                                  : offset_commit_error(info, partition.partition_index, metadata,
                                                        limits.max_metadata_bytes);
      if (error != ErrorCode::kNone) {
        entry.error_code = to_wire(error);
      } else {
        groups::CommittedOffset offset;
        offset.offset = partition.committed_offset;
        offset.leader_epoch = version >= 6 ? partition.committed_leader_epoch : -1;
        offset.metadata = metadata;
        offset.commit_timestamp_ms =
            version == 1 && partition.commit_timestamp >= 0 ? partition.commit_timestamp : now_ms;
        if (version >= 2 && version <= 4 && request.retention_time_ms >= 0) {
          offset.expire_timestamp_ms = offset.commit_timestamp_ms + request.retention_time_ms;
        }
        commit.offsets.push_back({{topic.name, partition.partition_index}, std::move(offset)});
        committed.emplace_back(response.topics.size() - 1, topic_entry.partitions.size() - 1);
      }
    }
  }
  if (commit.offsets.empty()) {
    co_return response;
  }
  const std::string group_id = request.group_id;
  GroupWork<ErrorCode> work = [group_id, commit = std::move(commit)](GroupRegistry& registry,
                                                                     auto reply) {
    auto group = registry.find(group_id);
    if (!group && commit.generation < 0) group = registry.get_or_create(group_id);
    if (!group) {
      reply(ErrorCode::kIllegalGeneration);
      return;
    }
    group->commit(commit, wall_clock_ms(), reply);
  };
  const ErrorCode error = co_await groups_.run<ErrorCode>(group_id, work);
  for (const auto& [topic, partition] : committed) {
    response.topics[topic].partitions[partition].error_code = to_wire(error);
  }
  co_return response;
}

namespace {

struct FetchedOffset {
  groups::TopicPartition partition;
  std::optional<groups::CommittedOffset> offset;
  ErrorCode error = ErrorCode::kNone;
};

// The offsets of one group that OffsetFetch asked for; nullopt topics: all.
struct FetchedOffsets {
  ErrorCode error = ErrorCode::kNone;
  std::vector<FetchedOffset> offsets;
};

using WantedPartitions = std::optional<std::vector<groups::TopicPartition>>;

// The committed offset of `partition`; with `require_stable` (v7+, KIP-447),
// UNSTABLE_OFFSET_COMMIT while an open transaction holds an offset of it, so
// that a consumer does not start from an offset its producer may still replace.
FetchedOffset fetched_offset(const groups::Group* group, const groups::TopicPartition& partition,
                             bool require_stable) {
  if (group == nullptr) return {partition, std::nullopt};
  if (require_stable && group->has_pending_txn_offset(partition)) {
    return {partition, std::nullopt, ErrorCode::kUnstableOffsetCommit};
  }
  return {partition, group->committed(partition)};
}

boost::asio::awaitable<FetchedOffsets> fetch_group_offsets(GroupCoordinator& coordinator,
                                                           const std::string& group_id,
                                                           const WantedPartitions& wanted,
                                                           bool require_stable) {
  FetchedOffsets none;
  if (invalid_group_id(group_id)) {
    none.error = ErrorCode::kInvalidGroupId;
    co_return none;
  }
  if (!coordinator.active()) {
    if (wanted) {
      for (auto& partition : *wanted) none.offsets.push_back({partition, std::nullopt});
    }
    co_return none;
  }
  GroupWork<FetchedOffsets> work = [group_id, wanted, require_stable](GroupRegistry& registry,
                                                                      auto reply) {
    FetchedOffsets result;
    auto group = registry.find(group_id);
    if (wanted) {
      for (const auto& partition : *wanted) {
        result.offsets.push_back(fetched_offset(group.get(), partition, require_stable));
      }
    } else if (group) {
      for (const auto& [partition, offset] : group->offsets()) {
        result.offsets.push_back(fetched_offset(group.get(), partition, require_stable));
      }
    }
    reply(std::move(result));
  };
  FetchedOffsets fetched = co_await coordinator.run<FetchedOffsets>(group_id, work);
  co_return fetched;
}

template <typename Partition>
void fill_fetched_partition(Partition& entry, const FetchedOffset& fetched) {
  const auto& offset = fetched.offset;
  entry.committed_offset = offset ? offset->offset : -1;
  entry.committed_leader_epoch = offset ? offset->leader_epoch : -1;
  entry.metadata = offset ? offset->metadata : std::string();
  entry.error_code = to_wire(fetched.error);
}

// Groups fetched offsets by topic, keeping the order they came in.
template <typename Topic, typename Partition>
std::vector<Topic> by_topic(const FetchedOffsets& fetched) {
  std::vector<Topic> topics;
  for (const auto& fetched_partition : fetched.offsets) {
    const auto& partition = fetched_partition.partition;
    if (topics.empty() || topics.back().name != partition.topic) {
      auto it = std::find_if(topics.begin(), topics.end(),
                             [&](const Topic& t) { return t.name == partition.topic; });
      if (it == topics.end()) {
        topics.emplace_back().name = partition.topic;
      } else {
        std::rotate(it, it + 1, topics.end());  // bring it to the back
      }
    }
    Partition entry;
    entry.partition_index = partition.partition;
    fill_fetched_partition(entry, fetched_partition);
    topics.back().partitions.push_back(std::move(entry));
  }
  return topics;
}

}  // namespace

boost::asio::awaitable<p::OffsetFetchResponse> Broker::offset_fetch(
    const RequestContext& context, p::OffsetFetchRequest& request) {
  const int16_t version = context.api_version;
  p::OffsetFetchResponse response;
  if (version < 8) {
    WantedPartitions wanted;
    if (request.topics || version < 2) {
      wanted.emplace();
      for (const auto& topic :
           request.topics.value_or(std::vector<p::OffsetFetchRequest::OffsetFetchRequestTopic>{})) {
        for (int32_t index : topic.partition_indexes) wanted->push_back({topic.name, index});
      }
    }
    const bool require_stable = version >= 7 && request.require_stable;
    FetchedOffsets fetched;
    fetched.error = group_coordinator_check(request.group_id);
    if (fetched.error == ErrorCode::kNone) {
      fetched = co_await fetch_group_offsets(groups_, request.group_id, wanted, require_stable);
    }
    response.error_code = to_wire(fetched.error);
    response.topics = by_topic<p::OffsetFetchResponse::OffsetFetchResponseTopic,
                               p::OffsetFetchResponse::OffsetFetchResponsePartition>(fetched);
    co_return response;
  }
  for (const auto& group : request.groups) {
    WantedPartitions wanted;
    if (group.topics) {
      wanted.emplace();
      for (const auto& topic : *group.topics) {
        for (int32_t index : topic.partition_indexes) wanted->push_back({topic.name, index});
      }
    }
    const bool require_stable = request.require_stable;
    FetchedOffsets fetched;
    fetched.error = group_coordinator_check(group.group_id);
    if (fetched.error == ErrorCode::kNone) {
      fetched = co_await fetch_group_offsets(groups_, group.group_id, wanted, require_stable);
    }
    auto& entry = response.groups.emplace_back();
    entry.group_id = group.group_id;
    entry.error_code = to_wire(fetched.error);
    entry.topics = by_topic<p::OffsetFetchResponse::OffsetFetchResponseTopics,
                            p::OffsetFetchResponse::OffsetFetchResponsePartitions>(fetched);
  }
  co_return response;
}

// --- Administration -----------------------------------------------------------

namespace {

struct ListedGroup {
  std::string id;
  std::string protocol_type;
  groups::GroupState state;
};

}  // namespace

boost::asio::awaitable<p::ListGroupsResponse> Broker::list_groups(const RequestContext& context,
                                                                  p::ListGroupsRequest& request) {
  const int16_t version = context.api_version;
  p::ListGroupsResponse response;
  std::vector<groups::GroupState> states;
  for (const auto& name : request.states_filter) {
    if (auto state = groups::parse_state(name)) states.push_back(*state);
  }
  const bool only_unknown_states = states.empty() && !request.states_filter.empty();
  // Every group here is a classic one (KIP-848 groups are not served).
  bool classic_wanted = request.types_filter.empty();
  for (const auto& type : request.types_filter) {
    if (type == "classic" || type == "Classic") classic_wanted = true;
  }
  if (!groups_.active() || only_unknown_states || !classic_wanted) {
    co_return response;
  }
  for (unsigned shard = 0; shard < partitions_.shards().count(); ++shard) {
    GroupWork<std::vector<ListedGroup>> work = [](GroupRegistry& registry, auto reply) {
      std::vector<ListedGroup> result;
      registry.for_each([&](const groups::Group& group) {
        if (group.state() == groups::GroupState::kDead) return;
        result.push_back({group.id(), group.protocol_type().value_or(""), group.state()});
      });
      reply(std::move(result));
    };
    auto listed = co_await groups_.run_on_shard<std::vector<ListedGroup>>(shard, work);
    for (auto& group : listed) {
      if (!states.empty() && std::find(states.begin(), states.end(), group.state) == states.end()) {
        continue;
      }
      auto& entry = response.groups.emplace_back();
      entry.group_id = std::move(group.id);
      entry.protocol_type = std::move(group.protocol_type);
      if (version >= 4) entry.group_state = std::string(groups::state_name(group.state));
      if (version >= 5) entry.group_type = "classic";
    }
  }
  co_return response;
}

boost::asio::awaitable<p::DescribeGroupsResponse> Broker::describe_groups(
    const RequestContext&, p::DescribeGroupsRequest& request) {
  p::DescribeGroupsResponse response;
  for (const auto& group_id : request.groups) {
    auto& entry = response.groups.emplace_back();
    entry.group_id = group_id;
    entry.authorized_operations = kNoAuthorizedOperations;
    if (invalid_group_id(group_id)) {
      entry.error_code = to_wire(ErrorCode::kInvalidGroupId);
      continue;
    }
    groups::GroupDescription description;
    if (groups_.active()) {
      GroupWork<groups::GroupDescription> work = [group_id](GroupRegistry& registry, auto reply) {
        auto group = registry.find(group_id);
        reply(group ? group->describe() : groups::GroupDescription{});
      };
      description = co_await groups_.run<groups::GroupDescription>(group_id, work);
    }
    entry.error_code = 0;
    entry.group_state = std::string(groups::state_name(description.state));
    entry.protocol_type = description.protocol_type;
    entry.protocol_data = description.protocol;
    for (auto& member : description.members) {
      auto& described = entry.members.emplace_back();
      described.member_id = std::move(member.member_id);
      described.group_instance_id = std::move(member.group_instance_id);
      described.client_id = std::move(member.client_id);
      described.client_host = std::move(member.client_host);
      described.member_metadata = std::move(member.metadata);
      described.member_assignment = std::move(member.assignment);
    }
  }
  co_return response;
}

boost::asio::awaitable<p::DeleteGroupsResponse> Broker::delete_groups(
    const RequestContext&, p::DeleteGroupsRequest& request) {
  p::DeleteGroupsResponse response;
  for (const auto& group_id : request.groups_names) {
    ErrorCode error = ErrorCode::kGroupIdNotFound;
    if (invalid_group_id(group_id)) {
      error = ErrorCode::kInvalidGroupId;
    } else if (groups_.active()) {
      GroupWork<ErrorCode> work = [group_id](GroupRegistry& registry, auto reply) {
        auto group = registry.find(group_id);
        if (!group) {
          reply(ErrorCode::kGroupIdNotFound);
          return;
        }
        const ErrorCode refused = group->remove(reply);
        if (refused != ErrorCode::kNone) reply(refused);
        registry.erase_if_dead(group_id);
      };
      error = co_await groups_.run<ErrorCode>(group_id, work);
    }
    auto& entry = response.results.emplace_back();
    entry.group_id = group_id;
    entry.error_code = to_wire(error);
  }
  co_return response;
}

boost::asio::awaitable<p::OffsetDeleteResponse> Broker::offset_delete(
    const RequestContext&, p::OffsetDeleteRequest& request) {
  p::OffsetDeleteResponse response;
  auto image = controller_.image();
  std::vector<groups::TopicPartition> wanted;
  for (const auto& topic : request.topics) {
    auto& topic_entry = response.topics.emplace_back();
    topic_entry.name = topic.name;
    const metadata::TopicInfo* info = image->find(topic.name);
    for (const auto& partition : topic.partitions) {
      auto& entry = topic_entry.partitions.emplace_back();
      entry.partition_index = partition.partition_index;
      const bool known = partition_exists(info, partition.partition_index);
      entry.error_code = to_wire(known ? ErrorCode::kNone : ErrorCode::kUnknownTopicOrPartition);
      if (known) wanted.push_back({topic.name, partition.partition_index});
    }
  }
  if (invalid_group_id(request.group_id)) {
    response.error_code = to_wire(ErrorCode::kInvalidGroupId);
    response.topics.clear();
    co_return response;
  }
  if (!groups_.active()) {
    response.error_code = to_wire(ErrorCode::kGroupIdNotFound);
    response.topics.clear();
    co_return response;
  }
  using Outcome = std::pair<ErrorCode, std::vector<ErrorCode>>;
  const std::string group_id = request.group_id;
  GroupWork<Outcome> work = [group_id, wanted](GroupRegistry& registry, auto reply) {
    auto group = registry.find(group_id);
    if (!group) {
      reply(Outcome{ErrorCode::kGroupIdNotFound, {}});
      return;
    }
    group->delete_offsets(wanted, [reply](ErrorCode error, std::vector<ErrorCode> errors) {
      reply(Outcome{error, std::move(errors)});
    });
  };
  Outcome outcome = co_await groups_.run<Outcome>(group_id, work);
  if (outcome.first != ErrorCode::kNone) {
    response.error_code = to_wire(outcome.first);
    response.topics.clear();
    co_return response;
  }
  size_t next = 0;
  for (auto& topic : response.topics) {
    for (auto& partition : topic.partitions) {
      if (partition.error_code == 0 && next < outcome.second.size()) {
        partition.error_code = to_wire(outcome.second[next++]);
      }
    }
  }
  co_return response;
}

}  // namespace fjord::broker
