// MetadataQuorum: the cluster metadata as a Raft group (group 0) replicated by
// the nodes of controller.quorum.voters. Every node applies the committed log
// to its MetadataStateMachine, so every node publishes the same images; the
// Raft leader is the active controller, and the Controller's changes are
// proposed through it (this class is the Controller's MetadataCommitter).
//
// The leader becomes the *active* controller only once it has applied its own
// LeaderChange entry: by then it has applied everything earlier leaders
// committed, so it validates a change against the latest image and never
// applies an acknowledged change twice (e.g. a topic created again because a
// new leader had not yet seen it).
//
// Threads: the Raft runtime runs on a thread of its own. commit() blocks its
// caller until the change is applied here (admin changes are rare, and the
// broker already blocks on the fsync of the single-node log the same way).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/host_port.h"
#include "common/result.h"
#include "metadata/committer.h"
#include "metadata/state_machine.h"
#include "raft/raft.h"

namespace fjord::cluster {

inline constexpr raft::GroupId kMetadataGroup = 0;

struct QuorumPeer {
  int32_t id = -1;
  HostPort address;  // where its Raft transport listens
};

struct MetadataQuorumOptions {
  int32_t node_id = -1;
  // The voters the cluster started with (controller.quorum.voters). A node not
  // among them joins: it starts with no configuration and waits until
  // `fjord cluster add-voter` adds it (as a learner that catches up, then as a
  // voter); the leader pushes the log to members only.
  std::vector<QuorumPeer> voters;
  HostPort listener;  // where this node's Raft transport listens
  std::filesystem::path data_dir;
  std::string cluster_id;
  int tick_interval_ms = 50;
  int election_timeout_ms = 1000;  // controller.quorum.election.timeout.ms
  int request_timeout_ms = 10000;  // how long commit() waits for a change
  // A snapshot of the metadata image is taken after this many applied bytes of
  // records (metadata.log.max.record.bytes.between.snapshots).
  int64_t snapshot_after_bytes = 20 << 20;
};

// The Raft status of the metadata group, with the clock it counts in: a
// replica's last_ack_tick is (ticks - last_ack_tick) * tick_interval_ms ago.
struct QuorumReport {
  raft::RaftStatus raft;
  int64_t ticks = 0;
  int tick_interval_ms = 0;
};

struct QuorumState {
  int32_t leader_id = -1;  // the active controller (-1 while there is none)
  int64_t epoch = 0;
};

class MetadataQuorum final : public metadata::MetadataCommitter {
 public:
  // Opens (or bootstraps) the metadata group's storage under
  // data_dir/__cluster_metadata-0, starts the transport and the runtime.
  static Result<std::unique_ptr<MetadataQuorum>> start(const MetadataQuorumOptions& options,
                                                       metadata::MetadataStateMachine& machine);
  ~MetadataQuorum() override;
  MetadataQuorum(const MetadataQuorum&) = delete;
  MetadataQuorum& operator=(const MetadataQuorum&) = delete;

  // MetadataCommitter: kNotController unless this node is the active controller.
  Result<int64_t> commit(const std::vector<std::vector<uint8_t>>& records, int64_t now_ms) override;

  // Lock-free, any thread.
  QuorumState state() const;
  bool is_active_controller() const;
  // This node has applied the metadata log up to a high watermark it learned
  // from the current leader after that leader committed its first entry: the
  // image holds every change committed before this node (re)started, so
  // partitions missing from it were deleted, not merely not yet seen.
  bool caught_up() const;
  // From the runtime's thread (blocks the caller briefly).
  Result<QuorumReport> report() const;
  // Adds a voter without downtime: its address is committed first (so every
  // node, restarted or not, can reach it), then it joins as a learner, catches
  // up, and is promoted, one committed change at a time (Raft thesis 4.1). Blocks
  // until the promotion is committed or timeout_ms passed. Leader only.
  Status add_voter(int32_t id, const HostPort& address, int timeout_ms);
  // Removes a voter; blocks until the change is committed. Leader only.
  Status remove_voter(int32_t id, int timeout_ms);

  // Every node this one knows a Raft address of: the initial voters and the
  // controllers registered since (RegisterControllerRecord), by id.
  std::vector<QuorumPeer> addresses() const;

  // Called on the runtime's thread after every applied batch and whenever the
  // leader or the epoch changed. Set before start() returns work (start()
  // takes it as an argument below would be cleaner; set it once, early).
  void set_listener(std::function<void()> listener);

  // Stops the runtime and closes the storage (a clean shutdown).
  void stop();

 private:
  struct Impl;
  Status register_address(int32_t id, const HostPort& address);
  Result<raft::Offset> propose_change(const raft::ConfigChange& change,
                                      const std::optional<HostPort>& address);
  Status wait_for(const std::function<bool(const QuorumReport&)>& done,
                  std::chrono::steady_clock::time_point deadline, const char* what,
                  bool leader_only = true);
  explicit MetadataQuorum(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fjord::cluster
