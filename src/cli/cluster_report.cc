#include "cli/cluster_report.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "cli/group_report.h"
#include "cli/txn_report.h"

namespace fjord::cli {
namespace {

namespace p = protocol;

constexpr std::string_view kMetadataTopic = "__cluster_metadata";

std::string address_of(const std::string& host, int64_t port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::vector<QuorumMember> members_of(
    const std::vector<p::DescribeQuorumResponse::ReplicaState>& states, bool voter) {
  std::vector<QuorumMember> members;
  for (const auto& state : states) {
    QuorumMember member;
    member.node_id = state.replica_id;
    member.voter = voter;
    member.log_end_offset = state.log_end_offset;
    member.last_fetch_ms = state.last_fetch_timestamp;
    member.last_caught_up_ms = state.last_caught_up_timestamp;
    members.push_back(member);
  }
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  return members;
}

std::string role_of(const QuorumDescription& quorum, const QuorumMember& member) {
  if (!member.voter) return "observer";
  return member.node_id == quorum.leader_id ? "leader" : "follower";
}

std::string ago(int64_t time_ms, int64_t now_ms) {
  if (time_ms < 0) return "-";
  return fmt::format("{} ago", format_age(now_ms - time_ms));
}

std::string or_dash(int64_t value) { return value < 0 ? "-" : std::to_string(value); }

// A JSON string literal: quotes, backslashes and control characters escaped.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

ClusterDescription cluster_of(const p::MetadataResponse& response) {
  ClusterDescription cluster;
  cluster.cluster_id = response.cluster_id.value_or("");
  cluster.controller_id = response.controller_id;
  for (const auto& broker : response.brokers) {
    cluster.brokers.push_back(BrokerDescription{
        broker.node_id, address_of(broker.host, broker.port), broker.rack.value_or("")});
  }
  std::sort(cluster.brokers.begin(), cluster.brokers.end(),
            [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  return cluster;
}

Result<QuorumDescription> quorum_of(const p::DescribeQuorumResponse& response) {
  if (response.error_code != 0) {
    return Error{static_cast<ErrorCode>(response.error_code),
                 fmt::format("DescribeQuorum failed: {}{}", wire_error_text(response.error_code),
                             response.error_message && !response.error_message->empty()
                                 ? ": " + *response.error_message
                                 : "")};
  }
  for (const auto& topic : response.topics) {
    if (topic.topic_name != kMetadataTopic) continue;
    for (const auto& partition : topic.partitions) {
      if (partition.partition_index != 0) continue;
      if (partition.error_code != 0) {
        const std::string detail = partition.error_message && !partition.error_message->empty()
                                       ? ": " + *partition.error_message
                                       : "";
        return Error{static_cast<ErrorCode>(partition.error_code),
                     fmt::format("{}{}", wire_error_text(partition.error_code), detail)};
      }
      QuorumDescription quorum;
      quorum.leader_id = partition.leader_id;
      quorum.leader_epoch = partition.leader_epoch;
      quorum.high_watermark = partition.high_watermark;
      quorum.members = members_of(partition.current_voters, true);
      auto observers = members_of(partition.observers, false);
      quorum.members.insert(quorum.members.end(), observers.begin(), observers.end());
      std::map<int32_t, std::string> addresses;
      for (const auto& node : response.nodes) {
        if (node.listeners.empty()) continue;
        addresses[node.node_id] = address_of(node.listeners[0].host, node.listeners[0].port);
      }
      for (QuorumMember& member : quorum.members) {
        auto found = addresses.find(member.node_id);
        if (found != addresses.end()) member.raft_address = found->second;
      }
      return quorum;
    }
  }
  return Error{ErrorCode::kUnknownServerError,
               "the DescribeQuorum answer has no __cluster_metadata-0 partition"};
}

int64_t lag_of(const QuorumDescription& quorum, const QuorumMember& member) {
  if (member.log_end_offset < 0) return -1;
  int64_t leader_end = quorum.high_watermark;
  for (const QuorumMember& other : quorum.members) {
    if (other.voter && other.node_id == quorum.leader_id && other.log_end_offset >= 0) {
      leader_end = other.log_end_offset;
    }
  }
  // A broker's answer is not trusted: a negative end would overflow below.
  if (leader_end < 0) return -1;
  return std::max<int64_t>(0, leader_end - member.log_end_offset);
}

std::string format_cluster_status(const ClusterDescription& cluster, int64_t now_ms) {
  const QuorumDescription& quorum = cluster.quorum;
  std::string out =
      fmt::format("Cluster id:     {}\n", cluster.cluster_id.empty() ? "-" : cluster.cluster_id);
  out += fmt::format("Controller:     {}\n", cluster.controller_id < 0
                                                 ? "none (no quorum leader now)"
                                                 : fmt::format("node {}", cluster.controller_id));
  out += fmt::format("Quorum leader:  {}, epoch {}, high watermark {}\n",
                     quorum.leader_id < 0 ? "none" : fmt::format("node {}", quorum.leader_id),
                     quorum.leader_epoch, quorum.high_watermark);
  std::vector<std::vector<std::string>> rows;
  for (const QuorumMember& member : quorum.members) {
    rows.push_back({std::to_string(member.node_id), role_of(quorum, member),
                    or_dash(member.log_end_offset), or_dash(lag_of(quorum, member)),
                    member.node_id == quorum.leader_id ? "-" : ago(member.last_fetch_ms, now_ms),
                    ago(member.last_caught_up_ms, now_ms),
                    member.raft_address.empty() ? "-" : member.raft_address});
  }
  out += "\n";
  out += format_table(
      {"NODE", "ROLE", "LOG-END-OFFSET", "LAG", "LAST-CONTACT", "LAST-CAUGHT-UP", "RAFT-ADDRESS"},
      rows);
  rows.clear();
  for (const BrokerDescription& broker : cluster.brokers) {
    rows.push_back({std::to_string(broker.node_id), broker.address,
                    broker.rack.empty() ? "-" : broker.rack,
                    broker.node_id == cluster.controller_id ? "yes" : "no"});
  }
  out += "\n";
  out += format_table({"BROKER", "ADDRESS", "RACK", "CONTROLLER"}, rows);
  return out;
}

std::string format_cluster_status_json(const ClusterDescription& cluster) {
  const QuorumDescription& quorum = cluster.quorum;
  std::string members;
  for (const QuorumMember& member : quorum.members) {
    if (!members.empty()) members += ",";
    members += fmt::format(
        "{{\"node_id\":{},\"role\":{},\"log_end_offset\":{},\"lag\":{},"
        "\"last_fetch_timestamp_ms\":{},\"last_caught_up_timestamp_ms\":{},\"raft_address\":{}}}",
        member.node_id, json_string(role_of(quorum, member)), member.log_end_offset,
        lag_of(quorum, member), member.last_fetch_ms, member.last_caught_up_ms,
        member.raft_address.empty() ? "null" : json_string(member.raft_address));
  }
  std::string brokers;
  for (const BrokerDescription& broker : cluster.brokers) {
    if (!brokers.empty()) brokers += ",";
    brokers += fmt::format("{{\"node_id\":{},\"address\":{},\"rack\":{}}}", broker.node_id,
                           json_string(broker.address),
                           broker.rack.empty() ? "null" : json_string(broker.rack));
  }
  return fmt::format(
      "{{\"cluster_id\":{},\"controller_id\":{},\"quorum\":{{\"leader_id\":{},\"leader_epoch\":{},"
      "\"high_watermark\":{},\"members\":[{}]}},\"brokers\":[{}]}}\n",
      json_string(cluster.cluster_id), cluster.controller_id, quorum.leader_id, quorum.leader_epoch,
      quorum.high_watermark, members, brokers);
}

}  // namespace fjord::cli
