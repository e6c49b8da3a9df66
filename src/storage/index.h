// The sparse offset index and the time index of one segment, held in memory and
// written to `.index` / `.timeindex` as a whole (formats: docs/storage-format.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace fjord::storage {

inline constexpr size_t kOffsetIndexEntryBytes = 8;
inline constexpr size_t kTimeIndexEntryBytes = 12;

struct OffsetIndexEntry {
  uint32_t relative_offset = 0;
  uint32_t position = 0;
};

struct TimeIndexEntry {
  int64_t timestamp_ms = 0;
  uint32_t relative_offset = 0;
};

// What parse functions check entries against.
struct IndexBounds {
  uint64_t segment_size_bytes = 0;
  uint64_t offset_span = 0;  // next segment base (or log end) minus segment base
};

class OffsetIndex {
 public:
  const std::vector<OffsetIndexEntry>& entries() const { return entries_; }
  size_t size_bytes() const { return entries_.size() * kOffsetIndexEntryBytes; }
  void append(OffsetIndexEntry entry);  // asserts monotonic
  // The last entry with relative_offset <= target, if any.
  std::optional<OffsetIndexEntry> floor(uint32_t relative_offset) const;
  std::vector<uint8_t> serialize() const;
  // nullopt if the bytes are not a valid index for `bounds`.
  static std::optional<OffsetIndex> parse(std::span<const uint8_t> bytes, IndexBounds bounds);

 private:
  std::vector<OffsetIndexEntry> entries_;
};

class TimeIndex {
 public:
  const std::vector<TimeIndexEntry>& entries() const { return entries_; }
  size_t size_bytes() const { return entries_.size() * kTimeIndexEntryBytes; }
  std::optional<TimeIndexEntry> last() const;
  void append(TimeIndexEntry entry);  // asserts monotonic
  // The last entry with timestamp_ms < timestamp_ms, if any.
  std::optional<TimeIndexEntry> last_before(int64_t timestamp_ms) const;
  std::vector<uint8_t> serialize() const;
  static std::optional<TimeIndex> parse(std::span<const uint8_t> bytes, IndexBounds bounds);

 private:
  std::vector<TimeIndexEntry> entries_;
};

}  // namespace fjord::storage
