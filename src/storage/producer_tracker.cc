#include "storage/producer_tracker.h"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>

#include "records/control.h"
#include "records/record.h"

namespace fjord::storage {
namespace {

// Kafka's bound on one control batch's records is tiny; this only guards replay.
constexpr size_t kMaxControlBatchBytes = 1 << 20;

int32_t last_sequence_of(const records::BatchHeader& h) {
  int64_t last = int64_t{h.base_sequence} + h.last_offset_delta;
  if (last > INT32_MAX) last -= int64_t{INT32_MAX} + 1;  // sequences wrap to 0
  return static_cast<int32_t>(last);
}

ProducerBatchInfo info_of(const records::BatchHeader& h) {
  return ProducerBatchInfo{h.producer_id, h.producer_epoch, h.base_sequence,
                           h.base_sequence < 0 ? -1 : last_sequence_of(h), h.is_transactional()};
}

Error producer_error(ErrorCode code, const records::BatchHeader& h, const ProducerEntry* e) {
  switch (code) {
    case ErrorCode::kOutOfOrderSequenceNumber:
      return Error{
          code, fmt::format("producer {} epoch {}: sequence {} does not follow {}", h.producer_id,
                            h.producer_epoch, h.base_sequence, e ? e->last_sequence() : -1)};
    case ErrorCode::kInvalidProducerEpoch:
      return Error{code, fmt::format("producer {}: epoch {} is older than the current {}",
                                     h.producer_id, h.producer_epoch, e ? e->epoch : -1)};
    case ErrorCode::kInvalidTxnState:
      return Error{code, fmt::format("producer {} has an open transaction: a non-transactional "
                                     "batch cannot be written",
                                     h.producer_id)};
    case ErrorCode::kPolicyViolation:
      return Error{code, "too many producers on this partition"};
    default:
      return Error{code, fmt::format("producer {} rejected", h.producer_id)};
  }
}

}  // namespace

ProducerTracker::ProducerTracker(std::filesystem::path dir, ProducerStateConfig config)
    : dir_(std::move(dir)), producers_(config) {}

Result<int64_t> ProducerTracker::load_indexes(std::span<const int64_t> segment_bases) {
  int64_t rebuild_from = INT64_MAX;
  for (int64_t base : segment_bases) {
    const auto path = TxnIndex::path_for(dir_, base);
    auto index = TxnIndex::open(path, base);
    if (!index.ok() && index.error().code == ErrorCode::kCorruptMessage) {
      fmt::print(stderr, "fjord: {}; rebuilding it from the log\n", index.error().message);
      std::error_code ec;
      std::filesystem::remove(path, ec);
      rebuild_from = std::min(rebuild_from, base);
      index = TxnIndex::open(path, base);
    }
    if (!index.ok()) return index.error();
    // Most segments have no aborted transaction: keep nothing for them
    // (index_for() opens the index when a first ABORT arrives).
    if ((*index)->entries().empty()) continue;
    indexes_[base] = std::move(index).value();
  }
  return rebuild_from;
}

Result<int64_t> ProducerTracker::restore(int64_t first_segment_base, int64_t log_end,
                                         int64_t rebuild_from) {
  if (auto st = truncate_snapshots_after(dir_, log_end); !st.ok()) return st.error();
  auto loaded = load_latest_snapshot(dir_, std::min(log_end, rebuild_from), producers_.config());
  if (!loaded.ok()) return loaded.error();
  int64_t replay_from = first_segment_base;
  if (loaded->has_value()) {
    producers_ = std::move((*loaded)->table);
    replay_from = std::max(first_segment_base, (*loaded)->offset);
  } else {
    producers_ = ProducerStateTable(producers_.config());
  }
  ongoing_ = OngoingTransactions();
  for (const ProducerEntry* e : producers_.entries()) {
    if (e->current_txn_first_offset >= 0) {
      ongoing_.begin_if_new(e->producer_id, e->current_txn_first_offset);
    }
  }
  // Markers from replay_from on are indexed again by the replay.
  if (auto st = truncate_indexes(replay_from); !st.ok()) return st.error();
  return replay_from;
}

Status ProducerTracker::replay(std::span<const uint8_t> batch, int64_t segment_base,
                               int64_t now_ms) {
  const records::BatchHeader h = records::read_header(batch);
  if (h.producer_id < 0) return {};
  if (!h.is_control()) {
    on_appended(h, now_ms);
    return {};
  }
  std::optional<records::EndTxnMarker> marker;
  auto parsed = records::for_each_record(batch, scratch_, kMaxControlBatchBytes,
                                         [&](const records::Record& record) {
                                           if (!marker)
                                             marker = records::parse_end_txn_marker(record);
                                         });
  if (!parsed.ok() || !marker) return {};  // other control types carry no producer state
  MarkerOutcome outcome;
  return note_marker(h.producer_id, h.producer_epoch, marker->commit, h.base_offset, segment_base,
                     now_ms, outcome);
}

Result<ProducerAppendCheck> ProducerTracker::check(std::span<const records::BatchHeader> headers,
                                                   AppendOrigin origin) const {
  ProducerAppendCheck verdict;
  if (origin == AppendOrigin::kReplication) return verdict;
  for (size_t i = 0; i < headers.size(); ++i) {
    const records::BatchHeader& h = headers[i];
    if (h.producer_id < 0) continue;
    // Clients send one batch per partition; several batches of one producer
    // would need checking against each other (the batches are few: quadratic is fine).
    for (size_t j = 0; j < i; ++j) {
      if (headers[j].producer_id == h.producer_id) {
        return Error{ErrorCode::kInvalidRecord,
                     fmt::format("producer {} sent several batches for one partition at once",
                                 h.producer_id)};
      }
    }
    const ProducerEntry* entry = producers_.find(h.producer_id);
    if (origin == AppendOrigin::kCoordinator || h.base_sequence < 0) {
      if (entry != nullptr && h.producer_epoch < entry->epoch) {
        return producer_error(ErrorCode::kInvalidProducerEpoch, h, entry);
      }
      continue;
    }
    ProducerCheck c = producers_.check(info_of(h));
    if (c.code != ErrorCode::kNone) return producer_error(c.code, h, entry);
    if (c.duplicate) {
      if (headers.size() != 1) {
        return Error{ErrorCode::kDuplicateSequenceNumber,
                     fmt::format("producer {}: a retried batch among several", h.producer_id)};
      }
      verdict.duplicate = c.duplicate;
    }
  }
  return verdict;
}

void ProducerTracker::on_appended(const records::BatchHeader& h, int64_t now_ms) {
  if (h.producer_id < 0 || h.is_control()) return;
  producers_.apply(info_of(h), h.last_offset(), h.max_timestamp, now_ms);
  if (h.is_transactional()) ongoing_.begin_if_new(h.producer_id, h.base_offset);
}

Status ProducerTracker::check_marker(int64_t producer_id, int16_t epoch) const {
  const ProducerEntry* e = producers_.find(producer_id);
  if (e != nullptr && epoch < e->epoch) {
    return Error{ErrorCode::kInvalidProducerEpoch,
                 fmt::format("transaction marker of producer {} with epoch {} older than {}",
                             producer_id, epoch, e->epoch)};
  }
  return {};
}

Result<ProducerTracker::MarkerOutcome> ProducerTracker::on_marker(int64_t producer_id,
                                                                  int16_t epoch, bool commit,
                                                                  int64_t marker_offset,
                                                                  int64_t segment_base,
                                                                  int64_t now_ms) {
  MarkerOutcome outcome;
  if (auto st =
          note_marker(producer_id, epoch, commit, marker_offset, segment_base, now_ms, outcome);
      !st.ok()) {
    return st.error();
  }
  return outcome;
}

Status ProducerTracker::note_marker(int64_t producer_id, int16_t epoch, bool commit,
                                    int64_t marker_offset, int64_t segment_base, int64_t now_ms,
                                    MarkerOutcome& outcome) {
  // The index is opened before any state changes, so that failing to open it
  // leaves the transaction open rather than closed without its index entry.
  TxnIndex* index = nullptr;
  if (!commit) {
    auto opened = index_for(segment_base);
    if (!opened.ok()) return opened.error();
    index = *opened;
  }
  auto ended = producers_.end_transaction(producer_id, epoch, now_ms);
  if (!ended.ok()) return ended.error();
  auto aborted = ongoing_.complete(producer_id, marker_offset, !commit);
  if (!aborted) return {};
  auto appended = index->append(*aborted);
  if (!appended.ok()) return appended.error();
  outcome.index_file = index->file();
  outcome.created_file = appended->created_file;
  return {};
}

Result<TxnIndex*> ProducerTracker::index_for(int64_t segment_base) {
  auto it = indexes_.find(segment_base);
  if (it != indexes_.end()) return it->second.get();
  // Usually a segment without an index file yet (open() then reads nothing).
  auto opened = TxnIndex::open(TxnIndex::path_for(dir_, segment_base), segment_base);
  if (!opened.ok()) return opened.error();
  auto& slot = indexes_[segment_base];
  slot = std::move(opened).value();
  return slot.get();
}

void ProducerTracker::segment_removed(int64_t base) {
  auto it = indexes_.find(base);
  if (it == indexes_.end()) {
    std::error_code ec;
    std::filesystem::remove(TxnIndex::path_for(dir_, base), ec);
    return;
  }
  (void)it->second->remove();
  indexes_.erase(it);
}

Status ProducerTracker::truncate_indexes(int64_t offset) {
  for (auto& [base, index] : indexes_) {
    if (index->entries().empty() || index->entries().back().last_offset < offset) continue;
    if (auto st = index->truncate_to(offset); !st.ok()) return st;
  }
  return {};
}

Status ProducerTracker::take_snapshot(int64_t offset) {
  auto bytes = producers_.snapshot_bytes();
  if (!bytes.ok()) return bytes.error();
  return write_file_atomically(snapshot_path(dir_, offset), *bytes, /*durable=*/false);
}

void ProducerTracker::delete_snapshots_before(int64_t offset) {
  (void)storage::delete_snapshots_before(dir_, offset);
}

std::vector<AbortedRange> ProducerTracker::aborted(int64_t from_segment, int64_t from_offset,
                                                   int64_t upper_offset) const {
  std::vector<const TxnIndex*> indexes;
  for (auto it = indexes_.lower_bound(from_segment); it != indexes_.end(); ++it) {
    if (!it->second->entries().empty()) indexes.push_back(it->second.get());
  }
  if (indexes.empty()) return {};
  return collect_aborted_transactions(indexes, from_offset, upper_offset);
}

std::vector<AbortedTxn> ProducerTracker::aborted_before(int64_t upper_offset) const {
  std::vector<AbortedTxn> out;
  for (const auto& [base, index] : indexes_) {
    for (const auto& entry : index->entries()) {
      if (entry.first_offset < upper_offset) out.push_back(entry);
    }
  }
  return out;
}

}  // namespace fjord::storage
