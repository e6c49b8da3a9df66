// The private state of one Raft group (raft.h) and the functions that change
// it, split by concern across raft.cc (roles, ready/advance), election.cc,
// replication.cc, snapshot.cc, membership.cc and leadership.cc (transfer and
// ReadIndex). Design: docs/design/raft.md.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "raft/raft.h"

namespace fjord::raft {

// splitmix64: a tiny seeded PRNG, so election timeouts are deterministic in a
// simulation and nothing global is touched.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// How the leader replicates to one follower (etcd's progress states).
enum class ReplicationMode : uint8_t {
  kProbe,      // one Append at a time until the follower's log matches
  kReplicate,  // pipelined Appends, up to max_inflight_appends in flight
  kSnapshot,   // a snapshot is on its way; nothing else is sent
};

struct InflightAppend {
  Offset end_offset = 0;
  int64_t sent_tick = 0;
};

struct Progress {
  NodeId node = kNoNode;
  ReplicationMode mode = ReplicationMode::kProbe;
  Offset match_end_offset = 0;          // the follower's log matches ours below this
  Offset next_offset = 0;               // prev_end_offset of the next Append (an entry boundary)
  bool probe_sent = false;              // kProbe: waiting for the answer or the next heartbeat
  std::deque<InflightAppend> inflight;  // kReplicate, at most max_inflight_appends
  int64_t snapshot_sent_tick = 0;       // kSnapshot
  bool recent_active = false;           // heard from since the last check-quorum round
  int64_t last_ack_tick = -1;
};

// One configuration and the offset of the entry that introduced it (for the
// snapshot's configuration: its end offset - 1).
struct ConfigAt {
  Offset offset = -1;
  Config config;
};

// A ReadIndex request waiting for a majority to confirm a heartbeat round.
struct PendingRead {
  uint64_t context = 0;
  Offset read_offset = 0;
  uint64_t round = 0;  // 0 until the leader committed an entry of its term
  std::vector<NodeId> acks;
};

// A proposal of this leader not yet committed, for max_uncommitted_bytes.
struct UncommittedEntry {
  Offset end_offset = 0;
  size_t bytes = 0;
};

inline constexpr size_t kMaxPendingReads = 4096;
// Counted per entry on top of its payload so that empty proposals are bounded too.
inline constexpr size_t kEntryOverheadBytes = 64;

struct Raft::State {
  State(const RaftOptions& options, Storage& storage);

  RaftOptions options;
  Storage& storage;
  SplitMix64 random;

  // Persistent (mirrored in storage's HardState).
  Term term = 0;
  NodeId voted_for = kNoNode;

  Role role = Role::kFollower;
  NodeId leader = kNoNode;
  Offset high_watermark = 0;
  Offset handed_out_offset = 0;  // committed entries given to the driver up to here
  Offset applied_offset = 0;     // ... and advanced

  // Configuration: the newest entry's (takes effect when appended), and the
  // history back to the snapshot's, to restore after a truncation and to
  // record a snapshot's configuration.
  std::vector<ConfigAt> config_history;  // never empty; offsets ascending

  // Timers, in ticks.
  int64_t ticks = 0;
  int election_elapsed =
      0;  // follower: since the leader was heard; leader: since the last quorum check
  int heartbeat_elapsed = 0;
  int randomized_election_ticks = 0;

  // Elections.
  std::map<NodeId, bool> votes;  // voter -> granted, for the current campaign

  // Leader.
  std::map<NodeId, Progress> progress;  // every member but self
  Offset term_start_end_offset = 0;     // end of this leader's LeaderChange entry
  std::deque<UncommittedEntry> uncommitted;
  size_t uncommitted_bytes = 0;
  NodeId transfer_target = kNoNode;
  int transfer_elapsed = 0;
  bool timeout_now_sent = false;
  std::deque<PendingRead> pending_reads;
  uint64_t read_round = 0;

  // Durability of our own log: the leader counts itself for commit only up to
  // what a Ready with must_sync made durable.
  Offset durable_end_offset = 0;
  Offset ready_sync_end_offset = 0;  // log end when the last must_sync Ready was handed out

  // What the next Ready carries.
  bool dirty = false;  // storage written since the last ready()
  std::vector<Message> outbox;
  std::optional<SnapshotMeta> installed_snapshot;
  bool snapshot_handed_out = false;  // a Ready with a snapshot is not advanced yet
  std::vector<ReadState> ready_reads;

  // raft.cc: roles and plumbing.
  void become_follower(Term new_term, NodeId new_leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void set_term(Term new_term);
  void reset_election_timer();
  void tick_follower();
  void tick_leader();
  bool quorum_recently_active();
  void step(const Message& message);
  void send(Message message);
  Message reply_to(const Message& request, MessageType type) const;
  void reply_to_stale(const Message& message);
  bool has_ready() const;
  bool in_lease() const;
  Term last_term() const;
  Offset log_end() const { return storage.end_offset(); }
  // Term of the entry that ends at end_offset (0 at offset 0); nullopt below the log.
  std::optional<Term> term_before(Offset end_offset) const;
  void append_to_log(std::vector<Entry> entries);
  void truncated_at(Offset offset);
  Ready make_ready();
  void advance(const Ready& ready);
  RaftStatus status() const;

  // election.cc
  bool promotable() const;
  void campaign(bool leadership_transfer);
  void request_votes(bool leadership_transfer);
  size_t votes_granted() const;
  void won_vote_round();
  void handle_vote_request(const Message& message);
  void handle_vote_response(const Message& message);
  size_t quorum() const { return config().voters.size() / 2 + 1; }
  bool is_voter(NodeId node) const;

  // replication.cc
  Progress* progress_of(NodeId node);
  void add_progress(NodeId node);
  void reset_progress();
  void maybe_send_append(Progress& p, bool allow_empty);
  void send_appends(Progress& p);
  void send_heartbeat(Progress& p, uint64_t read_context);
  void broadcast_appends();
  void broadcast_heartbeats(uint64_t read_context);
  void handle_append(const Message& message);
  void handle_append_response(const Message& message);
  void handle_rejection(Progress& p, const Message& message);
  void fill_rejection_hint(Offset probed, Message& reply) const;
  Offset self_match_end_offset() const;
  void maybe_commit();
  void set_high_watermark(Offset offset);
  void check_stalled_progress(Progress& p);
  Offset floor_to_boundary(Offset offset) const;
  Offset first_offset_with_term_above(Term term, bool or_equal, Offset limit) const;

  // snapshot.cc
  void snapshot_taken(Offset end_offset, std::shared_ptr<const Bytes> data);
  void send_snapshot(Progress& p);
  void handle_snapshot(const Message& message);
  void install_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data);
  void handle_snapshot_response(const Message& message);

  // membership.cc
  const Config& config() const { return config_history.back().config; }
  Config config_as_of(Offset end_offset) const;
  Offset config_offset() const { return config_history.back().offset; }
  void load_config(const SnapshotMeta& snapshot);
  void config_appended(const Entry& entry);
  void config_changed();
  void forget_configs_from(Offset offset);
  void forget_configs_below(Offset end_offset);
  Result<Offset> change_config(const ConfigChange& change);
  void config_committed();

  // leadership.cc: proposals, transfer and ReadIndex.
  Result<Offset> propose(std::vector<uint8_t> data, int32_t count);
  void release_uncommitted();
  Status transfer_leadership(NodeId target);
  void maybe_send_timeout_now(const Progress& p);
  void handle_timeout_now(const Message& message);
  Status read_index(uint64_t context);
  void start_read_rounds();
  void ack_read_round(NodeId from, uint64_t round);
  void release_confirmed_reads();
};

}  // namespace fjord::raft
