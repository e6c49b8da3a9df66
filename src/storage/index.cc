#include "storage/index.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>

#include "common/endian.h"

namespace fjord::storage {

void OffsetIndex::append(OffsetIndexEntry entry) {
  if (!entries_.empty() && (entry.relative_offset <= entries_.back().relative_offset ||
                            entry.position <= entries_.back().position)) {
    std::abort();  // a broken invariant of the log: offsets and positions only grow
  }
  entries_.push_back(entry);
}

std::optional<OffsetIndexEntry> OffsetIndex::floor(uint32_t relative_offset) const {
  auto it = std::upper_bound(
      entries_.begin(), entries_.end(), relative_offset,
      [](uint32_t target, const OffsetIndexEntry& e) { return target < e.relative_offset; });
  if (it == entries_.begin()) return std::nullopt;
  return *(it - 1);
}

std::vector<uint8_t> OffsetIndex::serialize() const {
  std::vector<uint8_t> bytes(size_bytes());
  uint8_t* p = bytes.data();
  for (const auto& e : entries_) {
    store_be<uint32_t>(p, e.relative_offset);
    store_be<uint32_t>(p + 4, e.position);
    p += kOffsetIndexEntryBytes;
  }
  return bytes;
}

std::optional<OffsetIndex> OffsetIndex::parse(std::span<const uint8_t> bytes,
                                              IndexBounds bounds) {
  if (bytes.size() % kOffsetIndexEntryBytes != 0) return std::nullopt;
  OffsetIndex index;
  index.entries_.reserve(bytes.size() / kOffsetIndexEntryBytes);
  for (size_t at = 0; at < bytes.size(); at += kOffsetIndexEntryBytes) {
    OffsetIndexEntry e{load_be<uint32_t>(bytes.data() + at),
                       load_be<uint32_t>(bytes.data() + at + 4)};
    const bool first = index.entries_.empty();
    if (first && e.position != 0) return std::nullopt;
    if (!first && (e.relative_offset <= index.entries_.back().relative_offset ||
                   e.position <= index.entries_.back().position)) {
      return std::nullopt;
    }
    if (e.position >= bounds.segment_size_bytes || e.relative_offset >= bounds.offset_span) {
      return std::nullopt;
    }
    index.entries_.push_back(e);
  }
  return index;
}

std::optional<TimeIndexEntry> TimeIndex::last() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back();
}

void TimeIndex::append(TimeIndexEntry entry) {
  if (!entries_.empty() && (entry.timestamp_ms < entries_.back().timestamp_ms ||
                            entry.relative_offset < entries_.back().relative_offset)) {
    std::abort();  // a broken invariant: the time index never goes back
  }
  entries_.push_back(entry);
}

std::optional<TimeIndexEntry> TimeIndex::last_before(int64_t timestamp_ms) const {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), timestamp_ms,
      [](const TimeIndexEntry& e, int64_t target) { return e.timestamp_ms < target; });
  if (it == entries_.begin()) return std::nullopt;
  return *(it - 1);
}

std::vector<uint8_t> TimeIndex::serialize() const {
  std::vector<uint8_t> bytes(size_bytes());
  uint8_t* p = bytes.data();
  for (const auto& e : entries_) {
    store_be<int64_t>(p, e.timestamp_ms);
    store_be<uint32_t>(p + 8, e.relative_offset);
    p += kTimeIndexEntryBytes;
  }
  return bytes;
}

std::optional<TimeIndex> TimeIndex::parse(std::span<const uint8_t> bytes, IndexBounds bounds) {
  if (bytes.size() % kTimeIndexEntryBytes != 0) return std::nullopt;
  TimeIndex index;
  index.entries_.reserve(bytes.size() / kTimeIndexEntryBytes);
  for (size_t at = 0; at < bytes.size(); at += kTimeIndexEntryBytes) {
    TimeIndexEntry e{load_be<int64_t>(bytes.data() + at), load_be<uint32_t>(bytes.data() + at + 8)};
    if (!index.entries_.empty() && (e.timestamp_ms < index.entries_.back().timestamp_ms ||
                                    e.relative_offset < index.entries_.back().relative_offset)) {
      return std::nullopt;
    }
    if (e.relative_offset >= bounds.offset_span) return std::nullopt;
    index.entries_.push_back(e);
  }
  return index;
}

}  // namespace fjord::storage
