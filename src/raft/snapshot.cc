// Snapshots: the state machine's snapshot_taken() compacts the log; a
// follower whose next offset was compacted away gets the whole snapshot.
#include <algorithm>

#include "common/check.h"
#include "raft/raft_state.h"

namespace fjord::raft {

void Raft::State::snapshot_taken(Offset end_offset, std::shared_ptr<const Bytes> data) {
  if (end_offset <= storage.start_offset()) return;  // not newer than the one we have
  FJORD_CHECK(end_offset <= handed_out_offset,
              "a snapshot may only cover entries handed out as committed");
  std::optional<Term> last_term = storage.term_at(end_offset - 1);
  FJORD_CHECK(last_term.has_value(), "a snapshot must end inside the log");
  SnapshotMeta meta{
      .end_offset = end_offset, .last_term = *last_term, .config = config_as_of(end_offset)};
  storage.save_snapshot(meta, std::move(data));
  dirty = true;
  forget_configs_below(end_offset);
}

void Raft::State::send_snapshot(Progress& p) {
  Message m;
  m.type = MessageType::kSnapshot;
  m.group = options.group;
  m.from = options.self;
  m.to = p.node;
  m.term = term;
  m.high_watermark = high_watermark;
  m.snapshot = storage.snapshot_meta();
  m.snapshot_data = storage.snapshot_data();
  p.mode = ReplicationMode::kSnapshot;
  p.snapshot_sent_tick = ticks;
  p.inflight.clear();
  send(std::move(m));
}

void Raft::State::handle_snapshot(const Message& m) {
  Message reply = reply_to(m, MessageType::kSnapshotResponse);
  const SnapshotMeta& meta = m.snapshot;
  reply.success = true;
  reply.match_end_offset = meta.end_offset;
  if (meta.end_offset <= high_watermark) {
    // Nothing new: we already have (and committed) everything it covers.
  } else if (meta.end_offset <= log_end() &&
             storage.term_at(meta.end_offset - 1) == meta.last_term) {
    // Our log already holds what it covers: commit up to it, keep the log.
    high_watermark = meta.end_offset;
  } else if (snapshot_handed_out) {
    // The driver is still applying a snapshot we handed out (its Ready is not
    // advanced): replacing it in Storage now would pull it from under the
    // driver. The leader sends it again.
    return;
  } else {
    install_snapshot(meta, m.snapshot_data);
  }
  send(std::move(reply));
}

void Raft::State::install_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data) {
  storage.save_snapshot(meta, std::move(data));  // drops our (non-matching) log
  dirty = true;
  durable_end_offset = std::min(durable_end_offset, meta.end_offset);
  ready_sync_end_offset = std::min(ready_sync_end_offset, meta.end_offset);
  config_history.assign(1, ConfigAt{.offset = meta.end_offset - 1, .config = meta.config});
  config_changed();
  high_watermark = meta.end_offset;
  handed_out_offset = std::max(handed_out_offset, meta.end_offset);
  installed_snapshot = meta;
}

void Raft::State::handle_snapshot_response(const Message& m) {
  Progress* p = progress_of(m.from);
  if (p == nullptr) return;
  p->recent_active = true;
  p->last_ack_tick = ticks;
  if (m.success && m.match_end_offset > p->match_end_offset) {
    p->match_end_offset = m.match_end_offset;
    maybe_commit();
    p = progress_of(m.from);  // the commit may have removed us, or this follower
    if (role != Role::kLeader || p == nullptr) return;
  }
  if (p->mode != ReplicationMode::kSnapshot) return;
  p->mode = ReplicationMode::kProbe;
  p->next_offset = p->match_end_offset;
  p->inflight.clear();
  p->probe_sent = false;
  maybe_send_append(*p, true);
}

}  // namespace fjord::raft
