// Roles, the dispatch of messages and ticks, and the Ready/advance handshake.
// The rest of the algorithm: election.cc, replication.cc, snapshot.cc,
// membership.cc, leadership.cc.
#include "raft/raft.h"

#include <algorithm>

#include "common/check.h"
#include "raft/raft_state.h"

namespace fjord::raft {

Raft::State::State(const RaftOptions& opts, Storage& store)
    : options(opts),
      storage(store),
      random(opts.random_seed ^ (static_cast<uint64_t>(opts.self) * 0x2545f4914f6cdd1dULL)) {
  FJORD_CHECK(options.election_ticks > 0 && options.heartbeat_ticks > 0, "ticks must be positive");
  FJORD_CHECK(options.max_inflight_appends > 0, "max_inflight_appends must be positive");
  HardState hard_state = storage.hard_state();
  term = hard_state.term;
  voted_for = hard_state.voted_for;
  SnapshotMeta snapshot = storage.snapshot_meta();
  // Everything in the snapshot is committed and applied; what the log holds
  // beyond it is learnt again from the leader.
  high_watermark = handed_out_offset = applied_offset = snapshot.end_offset;
  load_config(snapshot);
  durable_end_offset = ready_sync_end_offset = storage.end_offset();
  become_follower(term, kNoNode);
}

void Raft::State::set_term(Term new_term) {
  term = new_term;
  voted_for = kNoNode;
  storage.save_hard_state({.term = term, .voted_for = voted_for});
  dirty = true;
}

void Raft::State::reset_election_timer() {
  election_elapsed = 0;
  heartbeat_elapsed = 0;
  auto spread = static_cast<uint64_t>(options.election_ticks);
  randomized_election_ticks = options.election_ticks + static_cast<int>(random.next() % spread);
}

void Raft::State::become_follower(Term new_term, NodeId new_leader) {
  if (new_term > term) set_term(new_term);
  bool learner =
      std::binary_search(config().learners.begin(), config().learners.end(), options.self);
  role = learner ? Role::kLearner : Role::kFollower;
  leader = new_leader;
  votes.clear();
  progress.clear();
  uncommitted.clear();
  uncommitted_bytes = 0;
  transfer_target = kNoNode;
  pending_reads.clear();
  reset_election_timer();
}

bool Raft::State::in_lease() const {
  return options.check_quorum && leader != kNoNode && election_elapsed < options.election_ticks;
}

std::optional<Term> Raft::State::term_before(Offset end_offset) const {
  if (end_offset == 0) return 0;
  return storage.term_at(end_offset - 1);
}

Term Raft::State::last_term() const { return term_before(log_end()).value_or(0); }

void Raft::State::append_to_log(std::vector<Entry> entries) {
  if (entries.empty()) return;
  Offset from = entries.front().offset;
  if (from < log_end()) truncated_at(from);
  storage.append(entries);
  dirty = true;
  for (const Entry& entry : entries) {
    if (entry.type == EntryType::kConfig) config_appended(entry);
  }
}

void Raft::State::truncated_at(Offset offset) {
  FJORD_CHECK(offset >= high_watermark || options.planted_bug != PlantedBug::kNone,
              "a committed entry must never be truncated");
  durable_end_offset = std::min(durable_end_offset, offset);
  ready_sync_end_offset = std::min(ready_sync_end_offset, offset);
  forget_configs_from(offset);
}

void Raft::State::send(Message message) { outbox.push_back(std::move(message)); }

Message Raft::State::reply_to(const Message& request, MessageType type) const {
  Message reply;
  reply.type = type;
  reply.group = options.group;
  reply.from = options.self;
  reply.to = request.from;
  reply.term = term;
  return reply;
}

void Raft::State::tick_follower() {
  if (election_elapsed < (1 << 30)) ++election_elapsed;
  if (promotable() && election_elapsed >= randomized_election_ticks) campaign(false);
}

void Raft::State::tick_leader() {
  ++heartbeat_elapsed;
  ++election_elapsed;
  if (transfer_target != kNoNode && ++transfer_elapsed >= options.election_ticks) {
    transfer_target = kNoNode;  // the target did not take over in time
  }
  for (auto& [node, p] : progress) check_stalled_progress(p);
  if (election_elapsed >= options.election_ticks) {
    election_elapsed = 0;
    if (options.check_quorum && !quorum_recently_active()) {
      become_follower(term, kNoNode);
      return;
    }
  }
  if (heartbeat_elapsed >= options.heartbeat_ticks) {
    heartbeat_elapsed = 0;
    broadcast_heartbeats(0);
  }
}

bool Raft::State::quorum_recently_active() {
  size_t active = is_voter(options.self) ? 1 : 0;
  for (auto& [node, p] : progress) {
    if (p.recent_active && is_voter(node)) ++active;
    p.recent_active = false;
  }
  return active >= quorum();
}

void Raft::State::step(const Message& m) {
  if (m.group != options.group || m.from == options.self) return;
  if (m.term > term) {
    bool keeps_term =
        m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResponse && m.success);
    if (m.type == MessageType::kVote && in_lease() && !m.leadership_transfer) return;
    if (!keeps_term) {
      bool from_leader = m.type == MessageType::kAppend || m.type == MessageType::kSnapshot ||
                         m.type == MessageType::kTimeoutNow;
      become_follower(m.term, from_leader ? m.from : kNoNode);
    }
  } else if (m.term < term) {
    reply_to_stale(m);
    return;
  }
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kSnapshot:
      if (role == Role::kLeader) return;  // a second leader in this term: impossible
      if ((role == Role::kFollower || role == Role::kLearner) && leader == m.from) {
        election_elapsed = 0;
      } else {
        become_follower(term, m.from);
      }
      if (m.type == MessageType::kAppend) {
        handle_append(m);
      } else {
        handle_snapshot(m);
      }
      return;
    case MessageType::kAppendResponse:
      if (role == Role::kLeader) handle_append_response(m);
      return;
    case MessageType::kSnapshotResponse:
      if (role == Role::kLeader) handle_snapshot_response(m);
      return;
    case MessageType::kPreVote:
    case MessageType::kVote:
      handle_vote_request(m);
      return;
    case MessageType::kPreVoteResponse:
    case MessageType::kVoteResponse:
      handle_vote_response(m);
      return;
    case MessageType::kTimeoutNow:
      handle_timeout_now(m);
      return;
  }
}

// A message from an older term. A stale leader learns our term from the
// rejection and steps down; a pre-candidate behind us learns it too.
void Raft::State::reply_to_stale(const Message& m) {
  if (m.type == MessageType::kAppend) {
    Message reply = reply_to(m, MessageType::kAppendResponse);
    reply.prev_end_offset = m.prev_end_offset;
    send(std::move(reply));
  } else if (m.type == MessageType::kSnapshot) {
    send(reply_to(m, MessageType::kSnapshotResponse));
  } else if (m.type == MessageType::kPreVote) {
    send(reply_to(m, MessageType::kPreVoteResponse));
  }
}

bool Raft::State::has_ready() const {
  return dirty || !outbox.empty() || installed_snapshot || handed_out_offset < high_watermark ||
         !ready_reads.empty();
}

Ready Raft::State::make_ready() {
  Ready ready;
  if (dirty) {
    ready.must_sync = true;
    ready_sync_end_offset = log_end();
    dirty = false;
  }
  ready.messages = std::move(outbox);
  outbox.clear();
  if (installed_snapshot) {
    handed_out_offset = std::max(handed_out_offset, installed_snapshot->end_offset);
    ready.snapshot = std::move(installed_snapshot);
    installed_snapshot.reset();
    snapshot_handed_out = true;
  }
  if (handed_out_offset < high_watermark) {
    ready.committed = storage.entries(handed_out_offset, high_watermark, options.max_append_bytes);
    if (!ready.committed.empty()) handed_out_offset = ready.committed.back().end_offset();
  }
  ready.reads = std::move(ready_reads);
  ready_reads.clear();
  return ready;
}

void Raft::State::advance(const Ready& ready) {
  if (ready.must_sync) durable_end_offset = std::max(durable_end_offset, ready_sync_end_offset);
  if (ready.snapshot) {
    applied_offset = std::max(applied_offset, ready.snapshot->end_offset);
    snapshot_handed_out = false;
  }
  if (!ready.committed.empty()) {
    applied_offset = std::max(applied_offset, ready.committed.back().end_offset());
  }
  // Our own log became durable: it may complete a majority (or be the only vote).
  if (role == Role::kLeader) maybe_commit();
}

RaftStatus Raft::State::status() const {
  RaftStatus s{.self = options.self,
               .group = options.group,
               .role = role,
               .term = term,
               .leader = leader,
               .voted_for = voted_for,
               .log_start_offset = storage.start_offset(),
               .log_end_offset = log_end(),
               .high_watermark = high_watermark,
               .applied_offset = applied_offset,
               .config = config(),
               .replicas = {}};
  if (role != Role::kLeader) return s;
  s.replicas.push_back({.node = options.self,
                        .voter = is_voter(options.self),
                        .match_end_offset = self_match_end_offset(),
                        .last_ack_tick = ticks});
  for (const auto& [node, p] : progress) {
    s.replicas.push_back({.node = node,
                          .voter = is_voter(node),
                          .match_end_offset = p.match_end_offset,
                          .last_ack_tick = p.last_ack_tick});
  }
  return s;
}

// The public interface forwards to State.

Raft::Raft(const RaftOptions& options, Storage& storage)
    : state_(std::make_unique<State>(options, storage)) {}
Raft::~Raft() = default;

void Raft::bootstrap(Storage& storage, const Config& config) {
  SnapshotMeta existing = storage.snapshot_meta();
  bool has_state = storage.end_offset() > 0 || storage.hard_state().term > 0 ||
                   existing.end_offset > 0 || !existing.config.voters.empty();
  if (has_state) return;  // a restart: the configuration comes from the log
  storage.save_snapshot(SnapshotMeta{.end_offset = 0, .last_term = 0, .config = config},
                        std::make_shared<const Bytes>());
  storage.sync();
}

void Raft::tick() {
  ++state_->ticks;
  if (state_->role == Role::kLeader) {
    state_->tick_leader();
  } else {
    state_->tick_follower();
  }
}

void Raft::step(const Message& message) { state_->step(message); }
Result<Offset> Raft::propose(std::vector<uint8_t> data, int32_t count) {
  return state_->propose(std::move(data), count);
}
Result<Offset> Raft::change_config(const ConfigChange& change) {
  return state_->change_config(change);
}
Status Raft::transfer_leadership(NodeId target) { return state_->transfer_leadership(target); }
Status Raft::read_index(uint64_t context) { return state_->read_index(context); }
void Raft::snapshot_taken(Offset end_offset, std::shared_ptr<const Bytes> data) {
  state_->snapshot_taken(end_offset, std::move(data));
}
bool Raft::has_ready() const { return state_->has_ready(); }
Ready Raft::ready() { return state_->make_ready(); }
void Raft::advance(const Ready& ready) { state_->advance(ready); }
RaftStatus Raft::status() const { return state_->status(); }
Role Raft::role() const { return state_->role; }
Term Raft::term() const { return state_->term; }
NodeId Raft::leader() const { return state_->leader; }
Offset Raft::high_watermark() const { return state_->high_watermark; }

}  // namespace fjord::raft
