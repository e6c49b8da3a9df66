#include "raft/simulation/disk.h"

#include "common/check.h"

namespace fjord::raft::sim {

std::shared_ptr<const Bytes> encode_state(Offset end_offset, uint64_t digest) {
  auto data = std::make_shared<Bytes>(16);
  for (int i = 0; i < 8; ++i) {
    (*data)[i] = static_cast<uint8_t>(static_cast<uint64_t>(end_offset) >> (8 * i));
    (*data)[8 + i] = static_cast<uint8_t>(digest >> (8 * i));
  }
  return data;
}

std::pair<Offset, uint64_t> decode_state(const std::shared_ptr<const Bytes>& data) {
  if (!data || data->empty()) return {0, 0};
  FJORD_CHECK(data->size() == 16, "snapshot data not written by encode_state");
  uint64_t end = 0;
  uint64_t digest = 0;
  for (int i = 0; i < 8; ++i) {
    end |= static_cast<uint64_t>((*data)[i]) << (8 * i);
    digest |= static_cast<uint64_t>((*data)[8 + i]) << (8 * i);
  }
  return {static_cast<Offset>(end), digest};
}

void SimDisk::apply(MemoryStorage& storage, const Write& write) {
  switch (write.kind) {
    case Write::Kind::kHardState:
      storage.save_hard_state(write.hard_state);
      break;
    case Write::Kind::kAppend:
      storage.append(write.entries);
      break;
    case Write::Kind::kSnapshot:
      storage.save_snapshot(write.meta, write.data);
      break;
  }
}

void SimDisk::save_hard_state(const HardState& state) {
  Write write{.kind = Write::Kind::kHardState, .hard_state = state};
  apply(live_, write);
  unsynced_.push_back(std::move(write));
}

void SimDisk::append(std::span<const Entry> entries) {
  if (entries.empty()) return;
  Write write{.kind = Write::Kind::kAppend, .entries = {entries.begin(), entries.end()}};
  apply(live_, write);
  unsynced_.push_back(std::move(write));
  log_appended(entries);
}

void SimDisk::save_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data) {
  const bool local = data != nullptr && data == local_snapshot_data_;
  Write write{.kind = Write::Kind::kSnapshot,
              .meta = meta,
              .data = std::move(data),
              .local_snapshot = local};
  apply(live_, write);
  unsynced_.push_back(std::move(write));
  log_snapshot_saved();
}

void SimDisk::sync() {
  for (const Write& write : unsynced_) apply(durable_, write);
  unsynced_.clear();
}

void SimDisk::crash(Rng& rng, bool torn) {
  // Without a torn write only the synced state survives. With one, writes
  // reached the disk in order and the crash cut the sequence somewhere,
  // possibly inside the last append.
  size_t kept = (!torn || unsynced_.empty()) ? 0 : rng.below(unsynced_.size() + 1);
  for (size_t i = 0; i < kept; ++i) {
    Write& write = unsynced_[i];
    if (i + 1 == kept && write.kind == Write::Kind::kAppend && write.entries.size() > 1) {
      write.entries.resize(1 + rng.below(write.entries.size() - 1));
    }
    apply(durable_, write);
  }
  unsynced_.clear();
  live_ = durable_;
  rebuild_log();
}

bool SimDisk::has_unsynced_raft_state() const {
  for (const Write& write : unsynced_) {
    if (!write.local_snapshot) return true;
  }
  return false;
}

std::vector<LoggedEntry> SimDisk::take_new_entries() {
  std::vector<LoggedEntry> taken;
  taken.swap(new_entries_);
  return taken;
}

void SimDisk::log_appended(std::span<const Entry> entries) {
  const Offset from = entries.front().offset;
  while (!log_.entries.empty() && log_.entries.back().offset >= from) log_.entries.pop_back();
  uint64_t chain = log_.entries.empty() ? log_.start_chain : log_.entries.back().chain;
  for (const Entry& entry : entries) {
    LoggedEntry logged{.offset = entry.offset,
                       .count = entry.count,
                       .term = entry.term,
                       .identity = entry_identity(entry)};
    chain = chain_next(chain, logged.identity);
    logged.chain = chain;
    log_.entries.push_back(logged);
    new_entries_.push_back(logged);
  }
  FJORD_CHECK(log_.end_offset() == live_.end_offset(), "the log view is out of step");
}

void SimDisk::log_snapshot_saved() {
  const Offset start = live_.start_offset();
  std::erase_if(log_.entries, [start](const LoggedEntry& e) { return e.offset < start; });
  if (live_.end_offset() == start) log_.entries.clear();
  log_.start_offset = start;
  log_.start_chain = decode_state(live_.snapshot_data()).second;
  FJORD_CHECK(log_.end_offset() == live_.end_offset(), "the log view is out of step");
}

void SimDisk::rebuild_log() {
  log_ = NodeLog{};
  log_.start_offset = live_.start_offset();
  log_.start_chain = decode_state(live_.snapshot_data()).second;
  new_entries_.clear();
  if (live_.end_offset() > live_.start_offset()) {
    log_appended(live_.entries(live_.start_offset(), live_.end_offset(), SIZE_MAX));
  }
  new_entries_.clear();
}

}  // namespace fjord::raft::sim
