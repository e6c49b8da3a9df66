// Quorum: what the Kafka API needs of the metadata quorum (the Raft group that
// replicates the cluster metadata), and nothing else. The broker asks it who the
// active controller is (Metadata's ControllerId, NOT_CONTROLLER for admin
// changes), describes it (DescribeQuorum, `fjord cluster status`) and changes its
// voters (AddRaftVoter / RemoveRaftVoter, KIP-853).
//
// SingleNodeQuorum (below) is a node alone: it is the only voter and the leader.
// The multi-node implementation (src/cluster) reports what raft::Raft::status()
// knows (term, leader, high watermark, each replica's progress on the leader) and
// changes the configuration through the leader, one voter at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/host_port.h"
#include "common/result.h"

namespace fjord::metadata {
class Controller;
}

namespace fjord::broker {

struct NodeConfig;

// KRaft's name for the metadata log; DescribeQuorum asks for its partition 0.
inline constexpr std::string_view kClusterMetadataTopic = "__cluster_metadata";
inline constexpr int32_t kClusterMetadataPartition = 0;

// One replica of the metadata log as the leader knows it (DescribeQuorum's
// ReplicaState). Times are wall-clock milliseconds since the epoch.
struct QuorumReplicaStatus {
  int32_t id = -1;
  int64_t log_end_offset = -1;  // -1: unknown
  // When the leader last heard from it; -1 for the leader itself and when unknown.
  int64_t last_fetch_timestamp_ms = -1;
  // When its log last reached the leader's end offset; the leader reports now.
  int64_t last_caught_up_timestamp_ms = -1;
};

// Where a voter's Raft transport listens (DescribeQuorum v2 Nodes).
struct QuorumEndpoint {
  int32_t id = -1;
  HostPort address;
};

struct QuorumStatus {
  int32_t leader_id = -1;      // -1: no leader now (an election is running)
  int32_t leader_epoch = 0;    // the Raft term
  int64_t high_watermark = 0;  // exclusive: every offset below it is committed
  // Progress fields are filled on the leader only (-1 elsewhere).
  std::vector<QuorumReplicaStatus> voters;
  std::vector<QuorumReplicaStatus> observers;  // learners: receive the log, do not vote
  std::vector<QuorumEndpoint> endpoints;       // of the voters, where known (optional)
};

class Quorum {
 public:
  virtual ~Quorum() = default;

  // The active controller (the quorum leader), -1 while there is none. Called on
  // every Metadata request: lock-free, any thread.
  virtual int32_t controller_id() const = 0;
  // Whether this node is the active controller (admin changes are refused with
  // NOT_CONTROLLER elsewhere). Lock-free, any thread.
  virtual bool is_active_controller() const = 0;

  // The quorum as this node sees it. May block briefly (the broker calls it off
  // its shards).
  virtual Result<QuorumStatus> describe() const = 0;

  // Adds `id`, whose Raft transport listens on `endpoint`, as a voter; blocks
  // until the new configuration is committed (the broker calls it off its shards).
  // Errors: kNotLeaderOrFollower (this node does not lead), kDuplicateVoter
  // (already a voter), kRequestTimedOut (not committed in time), kUnsupportedVersion
  // (this quorum cannot change its voters), kInvalidRequest (another change is
  // still uncommitted).
  virtual Status add_voter(int32_t id, const HostPort& endpoint) = 0;

  // Removes voter `id`, blocking until committed. Errors: kNotLeaderOrFollower,
  // kVoterNotFound, kInvalidRequest (the last voter, or another change uncommitted),
  // kRequestTimedOut, kUnsupportedVersion.
  virtual Status remove_voter(int32_t id) = 0;
};

// A node that is a quorum of its own: the only voter and always the leader. The
// metadata log it reports on is the local one, written at epoch 0.
class SingleNodeQuorum final : public Quorum {
 public:
  // `log_end_offset` reads the metadata log's end offset (the image's last
  // applied offset + 1); `endpoint` is this node's Raft address, if configured.
  SingleNodeQuorum(int32_t node_id, std::optional<HostPort> endpoint,
                   std::function<int64_t()> log_end_offset);

  int32_t controller_id() const override { return node_id_; }
  bool is_active_controller() const override { return true; }
  Result<QuorumStatus> describe() const override;
  Status add_voter(int32_t id, const HostPort& endpoint) override;
  Status remove_voter(int32_t id) override;

 private:
  int32_t node_id_;
  std::optional<HostPort> endpoint_;
  std::function<int64_t()> log_end_offset_;
};

// The quorum of a node started without controller.quorum.voters (or until the
// Raft quorum is wired in): node.id, its voter address if configured, and the
// end of `controller`'s metadata log.
std::unique_ptr<SingleNodeQuorum> make_single_node_quorum(const NodeConfig& config,
                                                          const metadata::Controller& controller);

}  // namespace fjord::broker
