// What only a leader does besides replicating: take proposals (bounded by
// max_uncommitted_bytes), hand leadership over (TimeoutNow), and confirm
// linearizable reads with a heartbeat round (ReadIndex, thesis 6.4).
#include <algorithm>

#include "raft/raft_state.h"

namespace fjord::raft {

Result<Offset> Raft::State::propose(std::vector<uint8_t> data, int32_t count) {
  if (role != Role::kLeader) return Error{ErrorCode::kNotLeaderOrFollower, "not the leader"};
  if (transfer_target != kNoNode) {
    return Error{ErrorCode::kNotLeaderOrFollower, "leadership transfer in progress"};
  }
  if (count < 1) return Error{ErrorCode::kInvalidRequest, "an entry spans at least one offset"};
  size_t bytes = data.size() + kEntryOverheadBytes;
  if (uncommitted_bytes > 0 && uncommitted_bytes + bytes > options.max_uncommitted_bytes) {
    return Error{ErrorCode::kRequestTimedOut, "too many uncommitted bytes"};
  }
  Entry entry{.offset = log_end(),
              .count = count,
              .term = term,
              .type = EntryType::kData,
              .config = {},
              .data = std::make_shared<const Bytes>(std::move(data))};
  append_to_log({entry});
  uncommitted.push_back({.end_offset = entry.end_offset(), .bytes = bytes});
  uncommitted_bytes += bytes;
  broadcast_appends();
  return entry.offset;
}

void Raft::State::release_uncommitted() {
  while (!uncommitted.empty() && uncommitted.front().end_offset <= high_watermark) {
    uncommitted_bytes -= uncommitted.front().bytes;
    uncommitted.pop_front();
  }
}

Status Raft::State::transfer_leadership(NodeId target) {
  if (role != Role::kLeader) return Error{ErrorCode::kNotLeaderOrFollower, "not the leader"};
  if (target == options.self) return {};
  if (!is_voter(target)) return Error{ErrorCode::kInvalidRequest, "the target is not a voter"};
  if (transfer_target == target) return {};
  transfer_target = target;
  transfer_elapsed = 0;
  timeout_now_sent = false;
  Progress* p = progress_of(target);
  if (p == nullptr) return Error{ErrorCode::kInvalidRequest, "no progress for the target"};
  maybe_send_timeout_now(*p);
  if (!timeout_now_sent) send_appends(*p);
  return {};
}

void Raft::State::maybe_send_timeout_now(const Progress& p) {
  if (transfer_target != p.node || timeout_now_sent || p.match_end_offset < log_end()) return;
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.group = options.group;
  m.from = options.self;
  m.to = p.node;
  m.term = term;
  send(std::move(m));
  timeout_now_sent = true;
}

void Raft::State::handle_timeout_now(const Message& m) {
  if (role == Role::kLeader || m.from != leader) return;
  campaign(true /*leadership_transfer*/);
}

Status Raft::State::read_index(uint64_t context) {
  if (role != Role::kLeader) return Error{ErrorCode::kNotLeaderOrFollower, "not the leader"};
  if (pending_reads.size() >= kMaxPendingReads) {
    return Error{ErrorCode::kRequestTimedOut, "too many reads waiting"};
  }
  pending_reads.push_back({.context = context, .read_offset = 0, .round = 0, .acks = {}});
  // Until an entry of our term commits, our high watermark may be behind the
  // group's: the read waits for it (set_high_watermark starts the round).
  if (high_watermark >= term_start_end_offset) start_read_rounds();
  return {};
}

void Raft::State::start_read_rounds() {
  if (high_watermark < term_start_end_offset) return;
  bool any_new = false;
  for (PendingRead& read : pending_reads) {
    if (read.round != 0) continue;
    if (!any_new) ++read_round;
    any_new = true;
    read.round = read_round;
    read.read_offset = high_watermark;
    if (is_voter(options.self)) read.acks.push_back(options.self);
  }
  if (!any_new) return;
  release_confirmed_reads();  // a single voter confirms its own round
  if (!pending_reads.empty()) broadcast_heartbeats(read_round);
}

void Raft::State::ack_read_round(NodeId from, uint64_t round) {
  if (!is_voter(from)) return;
  // An answer to round r was sent after every earlier round started, so it
  // confirms those too.
  for (PendingRead& read : pending_reads) {
    if (read.round == 0 || read.round > round) continue;
    if (std::find(read.acks.begin(), read.acks.end(), from) == read.acks.end()) {
      read.acks.push_back(from);
    }
  }
  release_confirmed_reads();
}

void Raft::State::release_confirmed_reads() {
  while (!pending_reads.empty() && pending_reads.front().round != 0 &&
         pending_reads.front().acks.size() >= quorum()) {
    ready_reads.push_back({.context = pending_reads.front().context,
                           .read_offset = pending_reads.front().read_offset});
    pending_reads.pop_front();
  }
}

}  // namespace fjord::raft
