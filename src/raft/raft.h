// Raft: one consensus group on one node, as a pure state machine. It knows no
// sockets, disks, clocks or threads: messages come in through step(), time
// through tick(), proposals through propose(); what must be written, sent and
// applied comes out through ready(). The driver (a simulation, or the node's
// multi-group runtime) persists, syncs, sends and applies, then calls
// advance(). Design and the reasons for it: docs/design/raft.md.
//
// Offsets are Kafka log offsets: the first entry is at offset 0, an entry may
// span several offsets (a record batch of `count` records), and the high
// watermark (the commit index) is exclusive: every offset below it is
// committed. The Raft term is Kafka's leader epoch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "raft/message.h"
#include "raft/storage.h"

namespace fjord::raft {

// Testing only: a known bug the simulation's checker must catch ("the checker
// catches bugs" tests). Never set outside tests.
enum class PlantedBug : uint8_t {
  kNone,
  // The leader moves the high watermark to its own log end without a majority.
  kCommitWithoutMajority,
  // A node grants every vote, ignoring the candidate's log and an earlier vote
  // in the same term.
  kGrantEveryVote,
};

struct RaftOptions {
  NodeId self = kNoNode;
  GroupId group = 0;
  // Ticks without hearing from a leader before a follower starts a (pre-)vote;
  // each node draws its timeout from [election_ticks, 2 * election_ticks).
  int election_ticks = 10;
  int heartbeat_ticks = 1;  // a leader sends appends or heartbeats this often
  bool pre_vote = true;
  // A leader that has not heard from a majority within an election timeout steps
  // down; followers that heard from a leader within it ignore (pre-)votes.
  bool check_quorum = true;
  size_t max_append_bytes = 1 << 20;        // entries per Append message
  int max_inflight_appends = 64;            // Append messages in flight per follower
  size_t max_uncommitted_bytes = 64 << 20;  // propose() refuses beyond this
  uint64_t random_seed = 0;  // drives the election timeout draws (deterministic in simulation)
  PlantedBug planted_bug = PlantedBug::kNone;  // testing only, see PlantedBug
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader, kLearner };

// A linearizable read: once applied_offset >= read_offset the state machine may
// answer the read identified by `context` (Raft thesis 6.4, ReadIndex).
struct ReadState {
  uint64_t context = 0;
  Offset read_offset = 0;
};

struct Ready {
  // Set when anything below was written to Storage since the last advance():
  // the driver must Storage::sync() before sending `messages`.
  bool must_sync = false;
  std::vector<Message> messages;
  // Committed entries not yet handed out, in offset order, to apply.
  std::vector<Entry> committed;
  // A snapshot installed from the leader (already in Storage): the state machine
  // replaces its state with it before applying `committed`.
  std::optional<SnapshotMeta> snapshot;
  std::vector<ReadState> reads;
  bool empty() const {
    return !must_sync && messages.empty() && committed.empty() && !snapshot && reads.empty();
  }
};

// What a node knows of one voter or learner while it leads (DescribeQuorum).
struct ReplicaProgress {
  NodeId node = kNoNode;
  bool voter = true;
  Offset match_end_offset = 0;  // follower's log matches the leader's below this
  int64_t last_ack_tick = -1;   // tick of the last response from it; -1 never
};

struct RaftStatus {
  NodeId self = kNoNode;
  GroupId group = 0;
  Role role = Role::kFollower;
  Term term = 0;
  NodeId leader = kNoNode;
  NodeId voted_for = kNoNode;
  Offset log_start_offset = 0;
  Offset log_end_offset = 0;
  Offset high_watermark = 0;
  Offset applied_offset = 0;  // handed out in Ready::committed and advanced
  Config config;
  std::vector<ReplicaProgress> replicas;  // filled on the leader only
};

class Raft {
 public:
  // Loads term, vote, snapshot and log from `storage` (a restart) and becomes a
  // follower. The initial configuration comes from the snapshot and config
  // entries in storage; a brand-new group's storage holds a config entry or a
  // snapshot with the bootstrap voters (see bootstrap()).
  Raft(const RaftOptions& options, Storage& storage);
  ~Raft();
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // Writes the initial configuration to empty storage (a snapshot at offset 0
  // with `config`), before the first Raft is built on it. Every voter of a new
  // group bootstraps with the same config. Storage that already holds the
  // group's state (a restart: a configuration, a term or a log) is left as it
  // is, so a node may call this on every start.
  static void bootstrap(Storage& storage, const Config& config);

  void tick();
  // Any message for this group; stale and unexpected ones are dropped.
  void step(const Message& message);

  // Leader only: appends one entry of `count` offsets. Returns its offset, or
  // an error value: kNotLeaderOrFollower (not leader, or a leadership transfer
  // is in progress) or kThrottlingQuotaExceeded-like backpressure
  // (kRequestTimedOut) when too many bytes are uncommitted.
  Result<Offset> propose(std::vector<uint8_t> data, int32_t count = 1);
  // Leader only: one membership change at a time (thesis 4.1): add or remove a
  // voter, add or remove a learner, promote a learner. Refused while an earlier
  // change is uncommitted or before the leader committed an entry of its term.
  Result<Offset> change_config(const ConfigChange& change);
  // Leader only: hand leadership to `target` once it is caught up (TimeoutNow).
  Status transfer_leadership(NodeId target);
  // Leader only: a ReadState for `context` appears in a later Ready once a
  // majority confirmed this node still leads.
  Status read_index(uint64_t context);

  // The state machine wrote a snapshot of everything below `end_offset`
  // (<= applied offset): records it in storage and drops the log prefix.
  void snapshot_taken(Offset end_offset, std::shared_ptr<const Bytes> data);

  bool has_ready() const;
  // Hands out everything pending. Each Ready must be advance()d before the next
  // ready(); step()/tick()/propose() may be called in between (their output
  // goes into the next Ready).
  Ready ready();
  // The driver persisted (and synced, if asked), sent and applied `ready`.
  void advance(const Ready& ready);

  RaftStatus status() const;
  Role role() const;
  Term term() const;
  NodeId leader() const;
  Offset high_watermark() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fjord::raft
