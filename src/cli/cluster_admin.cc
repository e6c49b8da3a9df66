#include "cli/cluster_admin.h"

#include <fmt/core.h>

#include <chrono>
#include <map>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/txn_report.h"
#include "client/broker_connection.h"
#include "protocol/generated/add_raft_voter_request.h"
#include "protocol/generated/add_raft_voter_response.h"
#include "protocol/generated/describe_quorum_request.h"
#include "protocol/generated/describe_quorum_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/remove_raft_voter_request.h"
#include "protocol/generated/remove_raft_voter_response.h"

namespace fjord::cli {
namespace {

namespace p = fjord::protocol;
using Clock = std::chrono::steady_clock;
using client::BrokerConnection;

constexpr int16_t kMetadataMinVersion = 1;  // ControllerId is there from v1
constexpr auto kRetryPause = std::chrono::milliseconds(200);

bool is_leader_moving(ErrorCode code) {
  return code == ErrorCode::kNotLeaderOrFollower || code == ErrorCode::kNotController ||
         code == ErrorCode::kLeaderNotAvailable;
}

// The bootstrap server and the active controller, one connection each, with
// one deadline for every retry.
class ControllerClient {
 public:
  explicit ControllerClient(const ClientOptions& options)
      : options_(options),
        deadline_(Clock::now() + std::chrono::milliseconds(options.timeout_ms)) {}

  // The brokers and the controller id, from the first bootstrap server (of
  // the comma-separated list) that answers.
  Result<p::MetadataResponse> metadata() {
    p::MetadataRequest request;
    request.topics.emplace();  // no topics: brokers and controller only
    request.allow_auto_topic_creation = false;
    Error last{ErrorCode::kInvalidConfig, "no bootstrap server given"};
    for (const std::string& address : bootstrap_servers()) {
      auto bootstrap = connection(address);
      if (!bootstrap.ok()) {
        last = bootstrap.error();
        continue;
      }
      auto response =
          (*bootstrap)->call<p::MetadataResponse>(request, "Metadata", kMetadataMinVersion);
      if (response.ok()) {
        answered_ = address;
        return response;
      }
      forget(address);
      last = response.error();
    }
    return last;
  }

  // A connection to the controller Metadata names (the bootstrap server when it
  // names none it lists).
  Result<BrokerConnection*> controller(const ClusterDescription& cluster) {
    for (const BrokerDescription& broker : cluster.brokers) {
      if (broker.node_id == cluster.controller_id) return connection(broker.address);
    }
    return connection(answered_.empty() ? bootstrap_servers().front() : answered_);
  }

  void forget(const std::string& address) { connections_.erase(address); }

  // Waits a little before a retry; false once the deadline has passed.
  bool pause_before_retry() const {
    if (Clock::now() + kRetryPause >= deadline_) return false;
    std::this_thread::sleep_for(kRetryPause);
    return true;
  }

  // What is left of --timeout-ms, for a server-side timeout.
  int32_t remaining_ms() const {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    return static_cast<int32_t>(std::max<int64_t>(1, left));
  }

 private:
  Result<BrokerConnection*> connection(const std::string& address) {
    auto found = connections_.find(address);
    if (found != connections_.end()) return found->second.get();
    auto opened = BrokerConnection::open(address, options_.timeout_ms);
    if (!opened.ok()) return opened.error();
    BrokerConnection* connection = opened->get();
    connections_.emplace(address, std::move(*opened));
    return connection;
  }

  std::vector<std::string> bootstrap_servers() const {
    std::vector<std::string> servers;
    std::string_view rest = options_.bootstrap;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view server = rest.substr(0, comma);
      while (!server.empty() && server.front() == ' ') server.remove_prefix(1);
      while (!server.empty() && server.back() == ' ') server.remove_suffix(1);
      if (!server.empty()) servers.emplace_back(server);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (servers.empty()) servers.emplace_back(options_.bootstrap);  // its error names it
    return servers;
  }

  const ClientOptions& options_;
  std::string answered_;  // the bootstrap server that answered Metadata last
  Clock::time_point deadline_;
  std::map<std::string, std::unique_ptr<BrokerConnection>> connections_;
};

p::DescribeQuorumRequest describe_quorum_request() {
  p::DescribeQuorumRequest request;
  p::DescribeQuorumRequest::TopicData topic;
  topic.topic_name = "__cluster_metadata";
  topic.partitions.emplace_back().partition_index = 0;
  request.topics.push_back(std::move(topic));
  return request;
}

// What a call to the controller gave: its answer's error, or a transport
// failure (the controller went away).
struct Outcome {
  Status status;
  bool transport_failed = false;
};

// Runs `call(cluster, controller)` on the controller Metadata names until the
// quorum leader answers, asking the bootstrap server again whenever leadership
// is moving (NOT_LEADER_OR_FOLLOWER, or the controller cannot be reached).
template <typename Call>
Status on_controller(ControllerClient& client, const std::string& what, Call call) {
  while (true) {
    auto metadata = client.metadata();
    if (!metadata.ok()) return metadata.error();
    const ClusterDescription cluster = cluster_of(*metadata);
    auto controller = client.controller(cluster);
    Outcome outcome =
        controller.ok() ? call(cluster, **controller) : Outcome{Status(controller.error()), true};
    if (outcome.status.ok()) return outcome.status;
    if (outcome.transport_failed && controller.ok()) client.forget((*controller)->address());
    const Error& error = outcome.status.error();
    if ((outcome.transport_failed || is_leader_moving(error.code)) && client.pause_before_retry()) {
      continue;
    }
    return Error{error.code, fmt::format("cannot {}: {}", what, error.message)};
  }
}

Error answer_error(int16_t code, const std::optional<std::string>& message) {
  return Error{static_cast<ErrorCode>(code),
               fmt::format("{}{}", wire_error_text(code),
                           message && !message->empty() ? ": " + *message : "")};
}

}  // namespace

Result<ClusterDescription> describe_cluster(const ClientOptions& options) {
  ControllerClient client(options);
  ClusterDescription described;
  Status status = on_controller(
      client, "describe the metadata quorum",
      [&](const ClusterDescription& cluster, BrokerConnection& controller) -> Outcome {
        auto response =
            controller.call<p::DescribeQuorumResponse>(describe_quorum_request(), "DescribeQuorum");
        if (!response.ok()) return {response.error(), true};
        auto quorum = quorum_of(*response);
        if (!quorum.ok()) return {quorum.error()};
        described = cluster;
        described.quorum = std::move(*quorum);
        return {};
      });
  if (!status.ok()) return status.error();
  return described;
}

Status add_voter(const ClientOptions& options, int32_t node_id, const HostPort& raft_endpoint) {
  ControllerClient client(options);
  return on_controller(
      client, fmt::format("add node {} as a voter", node_id),
      [&](const ClusterDescription& cluster, BrokerConnection& controller) -> Outcome {
        p::AddRaftVoterRequest request;
        request.cluster_id =
            cluster.cluster_id.empty() ? std::nullopt : std::optional(cluster.cluster_id);
        // The server gives up a little before this client does, so its answer arrives.
        request.timeout_ms = std::max(1, client.remaining_ms() - 500);
        request.voter_id = node_id;
        p::AddRaftVoterRequest::Listener listener;
        listener.name = "CONTROLLER";
        listener.host = raft_endpoint.host;
        listener.port = raft_endpoint.port;
        request.listeners.push_back(listener);
        auto response = controller.call<p::AddRaftVoterResponse>(request, "AddRaftVoter");
        if (!response.ok()) return {response.error(), true};
        if (response->error_code != 0) {
          return {answer_error(response->error_code, response->error_message)};
        }
        return {};
      });
}

Status remove_voter(const ClientOptions& options, int32_t node_id) {
  ControllerClient client(options);
  return on_controller(
      client, fmt::format("remove voter {}", node_id),
      [&](const ClusterDescription& cluster, BrokerConnection& controller) -> Outcome {
        p::RemoveRaftVoterRequest request;
        request.cluster_id =
            cluster.cluster_id.empty() ? std::nullopt : std::optional(cluster.cluster_id);
        request.voter_id = node_id;
        auto response = controller.call<p::RemoveRaftVoterResponse>(request, "RemoveRaftVoter");
        if (!response.ok()) return {response.error(), true};
        if (response->error_code != 0) {
          return {answer_error(response->error_code, response->error_message)};
        }
        return {};
      });
}

}  // namespace fjord::cli
