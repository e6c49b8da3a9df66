// Log replication: the leader's per-follower progress (probe, pipelined
// replicate, snapshot), the follower's log matching and truncation of a
// divergent suffix, and the commit rule (a majority of voters, durably, and an
// entry of the current term: figure 8).
#include <algorithm>

#include "common/check.h"
#include "raft/raft_state.h"

namespace fjord::raft {

Progress* Raft::State::progress_of(NodeId node) {
  auto it = progress.find(node);
  return it == progress.end() ? nullptr : &it->second;
}

void Raft::State::add_progress(NodeId node) {
  if (node == options.self || progress.count(node)) return;
  Progress p;
  p.node = node;
  p.next_offset = log_end();
  progress[node] = std::move(p);
}

void Raft::State::reset_progress() {
  progress.clear();
  for (NodeId node : config().voters) add_progress(node);
  for (NodeId node : config().learners) add_progress(node);
}

Offset Raft::State::self_match_end_offset() const {
  return std::min(durable_end_offset, log_end());
}

void Raft::State::maybe_send_append(Progress& p, bool allow_empty) {
  if (p.mode == ReplicationMode::kSnapshot) return;
  if (p.mode == ReplicationMode::kProbe && p.probe_sent) return;
  bool replicate = p.mode == ReplicationMode::kReplicate;
  if (replicate && p.inflight.size() >= static_cast<size_t>(options.max_inflight_appends)) return;
  Offset prev = p.next_offset;
  std::optional<Term> prev_term = prev < storage.start_offset() ? std::nullopt : term_before(prev);
  if (!prev_term) {
    send_snapshot(p);  // what the follower needs next was compacted away
    return;
  }
  std::vector<Entry> entries;
  if (prev < log_end()) entries = storage.entries(prev, log_end(), options.max_append_bytes);
  if (entries.empty() && !allow_empty) return;
  Message m;
  m.type = MessageType::kAppend;
  m.group = options.group;
  m.from = options.self;
  m.to = p.node;
  m.term = term;
  m.prev_end_offset = prev;
  m.prev_term = *prev_term;
  m.high_watermark = high_watermark;
  if (replicate && !entries.empty()) {
    p.next_offset = entries.back().end_offset();
    p.inflight.push_back({.end_offset = p.next_offset, .sent_tick = ticks});
  }
  if (!replicate) p.probe_sent = true;
  m.entries = std::move(entries);
  send(std::move(m));
}

void Raft::State::send_appends(Progress& p) {
  if (p.mode != ReplicationMode::kReplicate) {
    maybe_send_append(p, false);
    return;
  }
  while (p.next_offset < log_end()) {
    Offset before = p.next_offset;
    maybe_send_append(p, false);
    if (p.next_offset == before || p.mode != ReplicationMode::kReplicate) break;
  }
}

void Raft::State::broadcast_appends() {
  for (auto& [node, p] : progress) {
    if (p.mode == ReplicationMode::kProbe) {
      maybe_send_append(p, true);
    } else {
      send_appends(p);
    }
  }
}

// An empty Append at the offset the follower is known to match: it always
// succeeds, carries the high watermark and, for ReadIndex, a round number.
void Raft::State::send_heartbeat(Progress& p, uint64_t read_context) {
  Offset prev = p.match_end_offset;
  std::optional<Term> prev_term = prev < storage.start_offset() ? std::nullopt : term_before(prev);
  if (!prev_term) {
    prev = 0;  // every log matches at its start
    prev_term = 0;
  }
  Message m;
  m.type = MessageType::kAppend;
  m.group = options.group;
  m.from = options.self;
  m.to = p.node;
  m.term = term;
  m.prev_end_offset = prev;
  m.prev_term = *prev_term;
  m.high_watermark = high_watermark;
  m.read_context = read_context;
  send(std::move(m));
}

void Raft::State::broadcast_heartbeats(uint64_t read_context) {
  for (auto& [node, p] : progress) {
    if (read_context == 0 && p.mode == ReplicationMode::kProbe) {
      p.probe_sent = false;  // the probe doubles as the heartbeat
      maybe_send_append(p, true);
    } else {
      send_heartbeat(p, read_context);
    }
  }
}

void Raft::State::handle_append(const Message& m) {
  Message reply = reply_to(m, MessageType::kAppendResponse);
  reply.prev_end_offset = m.prev_end_offset;
  reply.read_context = m.read_context;
  // Entries below our high watermark are committed, so identical to the
  // leader's: skip them, and never truncate there.
  Offset prev = m.prev_end_offset;
  Term prev_term = m.prev_term;
  size_t first = 0;
  while (first < m.entries.size() && m.entries[first].offset < high_watermark) {
    prev = m.entries[first].end_offset();
    prev_term = m.entries[first].term;
    ++first;
  }
  bool matches =
      prev <= high_watermark || (prev <= log_end() && storage.term_at(prev - 1) == prev_term);
  if (!matches) {
    fill_rejection_hint(prev, reply);
    send(std::move(reply));
    return;
  }
  size_t new_from = first;
  while (new_from < m.entries.size()) {
    const Entry& entry = m.entries[new_from];
    if (entry.offset >= log_end() || storage.term_at(entry.offset) != entry.term) break;
    ++new_from;  // already in our log
  }
  if (new_from < m.entries.size()) {
    append_to_log(
        std::vector<Entry>(m.entries.begin() + static_cast<ptrdiff_t>(new_from), m.entries.end()));
  }
  Offset match = m.entries.empty() ? m.prev_end_offset : m.entries.back().end_offset();
  // Only what this message proved to match the leader may be committed here:
  // beyond it our log may still hold a divergent suffix.
  Offset committed = std::min(m.high_watermark, match);
  if (committed > high_watermark) high_watermark = committed;
  reply.success = true;
  reply.match_end_offset = match;
  send(std::move(reply));
}

// The rejection tells the leader our log end and the term (and where that
// term starts in our log) at the offset it probed, so that it can skip a whole
// term per round trip (thesis 5.3).
void Raft::State::fill_rejection_hint(Offset probed, Message& reply) const {
  Offset end = log_end();
  Offset at = std::min(probed, end);
  Term conflict_term = term_before(at).value_or(0);
  Offset start = first_offset_with_term_above(conflict_term, true, at);
  reply.success = false;
  reply.match_end_offset = end;
  reply.conflict_term = conflict_term;
  reply.conflict_start_offset = std::max(start, high_watermark);
}

void Raft::State::handle_append_response(const Message& m) {
  Progress* p = progress_of(m.from);
  if (p == nullptr) return;
  p->recent_active = true;
  p->last_ack_tick = ticks;
  // Any answer in our term acknowledges us as its leader.
  if (m.read_context != 0) ack_read_round(m.from, m.read_context);
  if (!m.success) {
    handle_rejection(*p, m);
    return;
  }
  bool advanced = m.match_end_offset > p->match_end_offset;
  if (advanced) {
    p->match_end_offset = m.match_end_offset;
    while (!p->inflight.empty() && p->inflight.front().end_offset <= p->match_end_offset) {
      p->inflight.pop_front();
    }
    p->next_offset = std::max(p->next_offset, p->match_end_offset);
  }
  if (p->mode == ReplicationMode::kProbe ||
      (p->mode == ReplicationMode::kSnapshot && p->match_end_offset >= storage.start_offset())) {
    p->mode = ReplicationMode::kReplicate;
    p->next_offset = p->match_end_offset;
    p->inflight.clear();
  }
  if (advanced) maybe_commit();
  // The commit may have removed us, or this follower (and its progress).
  p = progress_of(m.from);
  if (role != Role::kLeader || p == nullptr) return;
  maybe_send_timeout_now(*p);
  send_appends(*p);
}

void Raft::State::handle_rejection(Progress& p, const Message& m) {
  Offset probed = m.prev_end_offset;
  // A rejection of an offset we know matches is an old answer overtaken by a
  // later success. (0 means the transport did not echo the probe: not stale.)
  if (probed > 0 && probed <= p.match_end_offset) return;
  if (probed == 0) probed = p.next_offset;
  Offset follower_end = m.match_end_offset;
  Offset at = std::min(probed, follower_end);
  Offset next;
  if (term_before(at) == m.conflict_term) {
    next = at;  // the follower's last entry is ours: it ends at an entry boundary
  } else {
    Offset after_term = first_offset_with_term_above(m.conflict_term, false, log_end());
    bool have_term = term_before(after_term) == m.conflict_term;
    next = floor_to_boundary(have_term ? std::min(after_term, at) : m.conflict_start_offset);
  }
  if (next >= probed) next = floor_to_boundary(probed - 1);  // always move back
  p.next_offset = std::max(next, p.match_end_offset);
  p.mode = ReplicationMode::kProbe;
  p.inflight.clear();
  p.probe_sent = false;
  maybe_send_append(p, true);
}

// The smallest offset in [start, limit) whose term is above `term` (at or
// above it with or_equal), or limit. Terms never decrease along a log.
Offset Raft::State::first_offset_with_term_above(Term t, bool or_equal, Offset limit) const {
  Offset low = storage.start_offset();
  Offset high = std::max(low, limit);
  while (low < high) {
    Offset middle = low + (high - low) / 2;
    Term at = storage.term_at(middle).value_or(0);
    if (or_equal ? at >= t : at > t) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return low;
}

// An entry boundary of our log at or below `offset`. Entries carry no index
// of their starts, but a change of term is always a boundary, so this falls
// back to the start of the term's run.
Offset Raft::State::floor_to_boundary(Offset offset) const {
  Offset start = storage.start_offset();
  if (offset >= log_end()) return log_end();
  if (offset <= start) return offset;
  if (storage.term_at(offset - 1) != storage.term_at(offset)) return offset;
  return first_offset_with_term_above(storage.term_at(offset - 1).value_or(0), true, offset);
}

void Raft::State::check_stalled_progress(Progress& p) {
  bool stalled_append = p.mode == ReplicationMode::kReplicate && !p.inflight.empty() &&
                        ticks - p.inflight.front().sent_tick > options.election_ticks;
  bool stalled_snapshot = p.mode == ReplicationMode::kSnapshot &&
                          ticks - p.snapshot_sent_tick > 2 * options.election_ticks;
  if (!stalled_append && !stalled_snapshot) return;
  // Lost on the way: start again from what the follower acknowledged.
  p.mode = ReplicationMode::kProbe;
  p.next_offset = p.match_end_offset;
  p.inflight.clear();
  p.probe_sent = false;
}

void Raft::State::maybe_commit() {
  if (role != Role::kLeader) return;
  if (options.planted_bug == PlantedBug::kCommitWithoutMajority) {
    if (log_end() > high_watermark) set_high_watermark(log_end());
    return;
  }
  std::vector<Offset> matches;
  for (NodeId voter : config().voters) {
    if (voter == options.self) {
      matches.push_back(self_match_end_offset());
    } else {
      const Progress* p = progress_of(voter);
      matches.push_back(p ? p->match_end_offset : 0);
    }
  }
  if (matches.empty()) return;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  Offset candidate = matches[quorum() - 1];
  // Figure 8: only an entry of our own term is committed by counting.
  if (candidate > high_watermark && term_before(candidate) == term) set_high_watermark(candidate);
}

void Raft::State::set_high_watermark(Offset offset) {
  high_watermark = offset;
  release_uncommitted();
  config_committed();
  if (role != Role::kLeader) return;
  start_read_rounds();
  // Followers learn the new high watermark now rather than at the next heartbeat.
  for (auto& [node, p] : progress) {
    if (p.mode == ReplicationMode::kReplicate && p.inflight.empty()) send_heartbeat(p, 0);
  }
}

}  // namespace fjord::raft
