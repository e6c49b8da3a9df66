#include "raft/memory_storage.h"

#include <algorithm>

#include "common/check.h"

namespace fjord::raft {

MemoryStorage::MemoryStorage() : snapshot_data_(std::make_shared<const Bytes>()) {}

Offset MemoryStorage::end_offset() const {
  return entries_.empty() ? start_offset() : entries_.back().end_offset();
}

size_t MemoryStorage::index_of(Offset offset) const {
  // The first entry whose end is past `offset` is the one containing it.
  auto it = std::upper_bound(entries_.begin(), entries_.end(), offset,
                             [](Offset o, const Entry& e) { return o < e.end_offset(); });
  if (it == entries_.end() || it->offset > offset) return entries_.size();
  return static_cast<size_t>(it - entries_.begin());
}

std::optional<Term> MemoryStorage::term_at(Offset offset) const {
  if (offset < 0) return std::nullopt;
  if (offset == start_offset() - 1) return snapshot_meta_.last_term;
  size_t index = index_of(offset);
  if (index == entries_.size()) return std::nullopt;
  return entries_[index].term;
}

std::vector<Entry> MemoryStorage::entries(Offset from, Offset to, size_t max_bytes) const {
  std::vector<Entry> out;
  size_t index = index_of(from);
  if (index == entries_.size()) return out;
  FJORD_CHECK(entries_[index].offset == from, "entries() must start at an entry boundary");
  size_t bytes = 0;
  for (; index < entries_.size() && entries_[index].offset < to; ++index) {
    const Entry& entry = entries_[index];
    size_t size = entry.data ? entry.data->size() : 0;
    if (!out.empty() && bytes + size > max_bytes) break;
    bytes += size;
    out.push_back(entry);
  }
  return out;
}

void MemoryStorage::append(std::span<const Entry> entries) {
  if (entries.empty()) return;
  Offset from = entries.front().offset;
  FJORD_CHECK(from >= start_offset() && from <= end_offset(), "append outside the log");
  size_t index = index_of(from);
  if (index < entries_.size()) {
    FJORD_CHECK(entries_[index].offset == from, "append must truncate at an entry boundary");
    entries_.resize(index);
  }
  for (const Entry& entry : entries) {
    FJORD_CHECK(entry.offset == end_offset() && entry.count > 0,
                "appended entries must be contiguous");
    entries_.push_back(entry);
  }
}

void MemoryStorage::save_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data) {
  std::optional<Term> term = meta.end_offset > 0 ? term_at(meta.end_offset - 1) : std::nullopt;
  bool log_matches = term == meta.last_term && meta.end_offset <= end_offset() &&
                     meta.end_offset >= start_offset();
  if (log_matches) {
    size_t keep_from = index_of(meta.end_offset);
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(keep_from));
    FJORD_CHECK(entries_.empty() || entries_.front().offset == meta.end_offset,
                "a snapshot must end at an entry boundary");
  } else {
    entries_.clear();
  }
  snapshot_meta_ = meta;
  snapshot_data_ = data ? std::move(data) : std::make_shared<const Bytes>();
}

}  // namespace fjord::raft
