#include "broker/cluster_quorum.h"

#include <algorithm>

#include "broker/broker.h"

namespace fjord::broker {
namespace {

// How long a voter change may take: a new voter first catches up as a learner.
constexpr int kMembershipTimeoutMs = 30000;

QuorumReplicaStatus replica_status(const cluster::QuorumReport& report, raft::NodeId node,
                                   int64_t now_ms) {
  QuorumReplicaStatus status;
  status.id = node;
  const raft::RaftStatus& raft = report.raft;
  if (raft.role != raft::Role::kLeader) return status;  // progress is known on the leader only
  if (node == raft.self) {
    status.log_end_offset = raft.log_end_offset;
    status.last_caught_up_timestamp_ms = now_ms;
    return status;
  }
  for (const raft::ReplicaProgress& progress : raft.replicas) {
    if (progress.node != node) continue;
    status.log_end_offset = progress.match_end_offset;
    if (progress.last_ack_tick >= 0) {
      status.last_fetch_timestamp_ms =
          now_ms - (report.ticks - progress.last_ack_tick) * report.tick_interval_ms;
    }
    if (progress.match_end_offset >= raft.log_end_offset) {
      status.last_caught_up_timestamp_ms = status.last_fetch_timestamp_ms;
    }
  }
  return status;
}

}  // namespace

ClusterQuorum::ClusterQuorum(int32_t node_id, cluster::MetadataQuorum& quorum)
    : node_id_(node_id), quorum_(quorum) {}

Result<QuorumStatus> ClusterQuorum::describe() const {
  auto report = quorum_.report();
  if (!report) return report.error();
  const int64_t now_ms = wall_clock_ms();
  QuorumStatus status;
  const raft::RaftStatus& raft = report->raft;
  status.leader_id = raft.role == raft::Role::kLeader ? node_id_ : raft.leader;
  status.leader_epoch = static_cast<int32_t>(raft.term);
  status.high_watermark = raft.high_watermark;
  for (raft::NodeId voter : raft.config.voters) {
    status.voters.push_back(replica_status(*report, voter, now_ms));
  }
  for (raft::NodeId learner : raft.config.learners) {
    status.observers.push_back(replica_status(*report, learner, now_ms));
  }
  for (const cluster::QuorumPeer& peer : quorum_.addresses()) {
    status.endpoints.push_back({peer.id, peer.address});
  }
  return status;
}

Status ClusterQuorum::add_voter(int32_t id, const HostPort& endpoint) {
  if (!quorum_.is_active_controller()) {
    return Error{ErrorCode::kNotLeaderOrFollower, "this node does not lead the quorum"};
  }
  return quorum_.add_voter(id, endpoint, kMembershipTimeoutMs);
}

Status ClusterQuorum::remove_voter(int32_t id) {
  if (!quorum_.is_active_controller()) {
    return Error{ErrorCode::kNotLeaderOrFollower, "this node does not lead the quorum"};
  }
  return quorum_.remove_voter(id, kMembershipTimeoutMs);
}

}  // namespace fjord::broker
