// The metadata quorum's APIs: DescribeQuorum (55), AddRaftVoter (80) and
// RemoveRaftVoter (81), answered from the Quorum seam as a KRaft controller
// answers them.
#include <fmt/core.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "broker/broker.h"
#include "protocol/generated/add_raft_voter_request.h"
#include "protocol/generated/add_raft_voter_response.h"
#include "protocol/generated/describe_quorum_request.h"
#include "protocol/generated/describe_quorum_response.h"
#include "protocol/generated/remove_raft_voter_request.h"
#include "protocol/generated/remove_raft_voter_response.h"

namespace fjord::broker {

namespace p = protocol;

namespace {

constexpr std::string_view kControllerListener = "CONTROLLER";

// Kafka answers only a request for exactly __cluster_metadata-0.
bool asks_for_metadata_partition(const p::DescribeQuorumRequest& request) {
  return request.topics.size() == 1 && request.topics[0].topic_name == kClusterMetadataTopic &&
         request.topics[0].partitions.size() == 1 &&
         request.topics[0].partitions[0].partition_index == kClusterMetadataPartition;
}

// Every partition asked for, each with `error`.
p::DescribeQuorumResponse partition_errors(const p::DescribeQuorumRequest& request, ErrorCode error,
                                           const std::string& message) {
  p::DescribeQuorumResponse response;
  for (const auto& asked : request.topics) {
    p::DescribeQuorumResponse::TopicData topic;
    topic.topic_name = asked.topic_name;
    for (const auto& partition : asked.partitions) {
      p::DescribeQuorumResponse::PartitionData data;
      data.partition_index = partition.partition_index;
      data.error_code = to_wire(error);
      data.error_message = message;
      data.leader_id = -1;
      data.leader_epoch = -1;
      data.high_watermark = -1;
      topic.partitions.push_back(std::move(data));
    }
    response.topics.push_back(std::move(topic));
  }
  return response;
}

std::vector<p::DescribeQuorumResponse::ReplicaState> replica_states(
    const std::vector<QuorumReplicaStatus>& replicas) {
  std::vector<p::DescribeQuorumResponse::ReplicaState> states;
  for (const QuorumReplicaStatus& replica : replicas) {
    p::DescribeQuorumResponse::ReplicaState state;
    state.replica_id = replica.id;
    state.log_end_offset = replica.log_end_offset;
    state.last_fetch_timestamp = replica.last_fetch_timestamp_ms;
    state.last_caught_up_timestamp = replica.last_caught_up_timestamp_ms;
    states.push_back(state);
  }
  return states;
}

// The listener a new voter's Raft transport is reached on: CONTROLLER if named,
// else the only one given.
const p::AddRaftVoterRequest::Listener* controller_listener(const p::AddRaftVoterRequest& request) {
  auto named =
      std::find_if(request.listeners.begin(), request.listeners.end(),
                   [](const auto& listener) { return listener.name == kControllerListener; });
  if (named != request.listeners.end()) return &*named;
  return request.listeners.size() == 1 ? &request.listeners[0] : nullptr;
}

}  // namespace

Status Broker::require_active_controller() const {
  if (quorum_.is_active_controller()) return {};
  const int32_t controller = quorum_.controller_id();
  return Error{ErrorCode::kNotController,
               controller < 0 ? fmt::format("node {} is not the active controller, and there is "
                                            "none now (an election is running); retry",
                                            config_.node_id)
                              : fmt::format("node {} is not the active controller; node {} is",
                                            config_.node_id, controller)};
}

boost::asio::awaitable<p::DescribeQuorumResponse> Broker::describe_quorum(
    const RequestContext&, p::DescribeQuorumRequest& request) {
  if (!asks_for_metadata_partition(request)) {
    co_return partition_errors(request, ErrorCode::kUnknownTopicOrPartition,
                               fmt::format("DescribeQuorum describes only {}-{}, the metadata log",
                                           kClusterMetadataTopic, kClusterMetadataPartition));
  }
  auto describe = [this]() -> boost::asio::awaitable<Result<QuorumStatus>> {
    co_return quorum_.describe();
  };
  const Result<QuorumStatus> described =
      co_await boost::asio::co_spawn(quorum_calls_, describe, boost::asio::use_awaitable);
  if (!described.ok()) {
    co_return partition_errors(request, described.error().code, described.error().message);
  }
  const QuorumStatus& status = *described;
  p::DescribeQuorumResponse::PartitionData partition;
  partition.partition_index = kClusterMetadataPartition;
  partition.leader_id = status.leader_id;
  partition.leader_epoch = status.leader_epoch;
  partition.high_watermark = status.high_watermark;
  if (status.leader_id != config_.node_id) {
    // Only the leader knows each voter's progress. The leader id (a hint, -1
    // during an election) tells the caller where to ask.
    partition.error_code = to_wire(ErrorCode::kNotLeaderOrFollower);
    const auto is_self = [this](const QuorumReplicaStatus& r) { return r.id == config_.node_id; };
    const bool member = std::any_of(status.voters.begin(), status.voters.end(), is_self) ||
                        std::any_of(status.observers.begin(), status.observers.end(), is_self);
    if (status.leader_id < 0 && !member) {
      // Removed, or not added yet: nobody tells this node who leads.
      partition.error_message = fmt::format(
          "node {} is not a member of the metadata quorum (removed, or not added yet) and "
          "does not know its leader; ask another node",
          config_.node_id);
    } else if (status.leader_id < 0) {
      partition.error_message = fmt::format(
          "node {} is not the quorum leader, and there is none now (an election is running); "
          "retry",
          config_.node_id);
    } else {
      partition.error_message = fmt::format("node {} is not the quorum leader; ask node {}",
                                            config_.node_id, status.leader_id);
    }
  } else {
    partition.current_voters = replica_states(status.voters);
    partition.observers = replica_states(status.observers);
  }
  p::DescribeQuorumResponse::TopicData topic;
  topic.topic_name = std::string(kClusterMetadataTopic);
  topic.partitions.push_back(std::move(partition));
  p::DescribeQuorumResponse response;
  response.topics.push_back(std::move(topic));
  for (const QuorumEndpoint& endpoint : status.endpoints) {
    p::DescribeQuorumResponse::Node node;
    node.node_id = endpoint.id;
    p::DescribeQuorumResponse::Listener listener;
    listener.name = std::string(kControllerListener);
    listener.host = endpoint.address.host;
    listener.port = endpoint.address.port;
    node.listeners.push_back(std::move(listener));
    response.nodes.push_back(std::move(node));
  }
  co_return response;
}

namespace {

template <typename Response>
Response voter_change_result(const Status& status) {
  Response response;
  if (status.ok()) {
    response.error_message = std::nullopt;
    return response;
  }
  response.error_code = to_wire(status.error().code);
  response.error_message = status.error().message;
  return response;
}

Error not_leader(int32_t self, int32_t leader) {
  return Error{ErrorCode::kNotLeaderOrFollower,
               fmt::format("node {} is not the quorum leader (the leader is {})", self, leader)};
}

// A request naming another cluster is refused before anything else (KIP-853).
std::optional<Error> check_cluster_id(const std::optional<std::string>& asked,
                                      const std::string& ours) {
  if (!asked || asked->empty() || *asked == ours) return std::nullopt;
  return Error{ErrorCode::kInconsistentClusterId,
               fmt::format("cluster id '{}' is not this cluster's ('{}')", *asked, ours)};
}

}  // namespace

boost::asio::awaitable<p::AddRaftVoterResponse> Broker::add_raft_voter(
    const RequestContext&, p::AddRaftVoterRequest& request) {
  using Response = p::AddRaftVoterResponse;
  if (auto wrong = check_cluster_id(request.cluster_id, controller_.image()->cluster_id)) {
    co_return voter_change_result<Response>(*wrong);
  }
  if (request.voter_id < 0) {
    co_return voter_change_result<Response>(
        Error{ErrorCode::kInvalidRequest, fmt::format("invalid voter id {}", request.voter_id)});
  }
  const p::AddRaftVoterRequest::Listener* listener = controller_listener(request);
  if (listener == nullptr || listener->host.empty() || listener->port == 0) {
    co_return voter_change_result<Response>(
        Error{ErrorCode::kInvalidRequest,
              fmt::format("voter {} needs one listener (or one named {}) with a host and a "
                          "port, where its Raft transport listens",
                          request.voter_id, kControllerListener)});
  }
  if (!quorum_.is_active_controller()) {
    co_return voter_change_result<Response>(not_leader(config_.node_id, quorum_.controller_id()));
  }
  // Kafka's TimeoutMs is not passed on: the quorum bounds its own wait.
  auto add = [this, id = request.voter_id, endpoint = HostPort{listener->host, listener->port}]()
      -> boost::asio::awaitable<Status> { co_return quorum_.add_voter(id, endpoint); };
  const Status added =
      co_await boost::asio::co_spawn(quorum_calls_, add, boost::asio::use_awaitable);
  co_return voter_change_result<Response>(added);
}

boost::asio::awaitable<p::RemoveRaftVoterResponse> Broker::remove_raft_voter(
    const RequestContext&, p::RemoveRaftVoterRequest& request) {
  using Response = p::RemoveRaftVoterResponse;
  if (auto wrong = check_cluster_id(request.cluster_id, controller_.image()->cluster_id)) {
    co_return voter_change_result<Response>(*wrong);
  }
  if (!quorum_.is_active_controller()) {
    co_return voter_change_result<Response>(not_leader(config_.node_id, quorum_.controller_id()));
  }
  auto remove = [this, id = request.voter_id]() -> boost::asio::awaitable<Status> {
    co_return quorum_.remove_voter(id);
  };
  const Status removed =
      co_await boost::asio::co_spawn(quorum_calls_, remove, boost::asio::use_awaitable);
  co_return voter_change_result<Response>(removed);
}

}  // namespace fjord::broker
