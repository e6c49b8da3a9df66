// Exactly-once building blocks of storage (format and semantics:
// docs/transactions-storage.md): the aborted-transaction index of one segment
// (`<base>.txnindex`) and the open transactions of one partition, from which the
// last stable offset follows. Not thread-safe: the partition's owner uses them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <tuple>
#include <vector>

#include "common/result.h"
#include "storage/file.h"

namespace fjord::storage {

inline constexpr size_t kAbortedTxnEntryBytes = 34;
inline constexpr int16_t kAbortedTxnVersion = 0;

// One `.txnindex` entry: a transaction closed by an ABORT marker at last_offset.
struct AbortedTxn {
  int64_t producer_id = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;         // the ABORT marker
  int64_t last_stable_offset = 0;  // the partition's LSO just after the marker
  bool operator==(const AbortedTxn&) const = default;
};

// What a FetchResponse lists per aborted transaction.
struct AbortedRange {
  int64_t producer_id = 0;
  int64_t first_offset = 0;
  bool operator==(const AbortedRange&) const = default;
};

struct AbortedSearchResult {
  std::vector<AbortedRange> aborted;
  // True when no later segment can hold an entry overlapping the range.
  bool complete = false;
};

void encode_aborted_txn(const AbortedTxn& entry, std::span<uint8_t, kAbortedTxnEntryBytes> out);

struct ParsedTxnIndex {
  std::vector<AbortedTxn> entries;
  uint64_t valid_bytes = 0;  // entries.size() * kAbortedTxnEntryBytes; the rest is a torn tail
};

// Parses `.txnindex` bytes of the segment based at `segment_base_offset`. A
// partial last entry and trailing all-zero entries are a torn tail (left out of
// valid_bytes); any other invalid entry is kCorruptMessage.
Result<ParsedTxnIndex> parse_txn_index(std::span<const uint8_t> bytes, int64_t segment_base_offset);

class TxnIndex {
 public:
  // `<dir>/<20-digit base>.txnindex`.
  static std::filesystem::path path_for(const std::filesystem::path& dir, int64_t base_offset);

  // Loads the index at `path` (missing file: empty index) and truncates a torn
  // tail. kCorruptMessage for garbage, kKafkaStorageError for I/O errors.
  static Result<std::unique_ptr<TxnIndex>> open(const std::filesystem::path& path,
                                                int64_t segment_base_offset);

  struct AppendOutcome {
    bool created_file = false;  // the directory needs an fsync for durability
  };
  // Writes `entry` at the end of the file (created on the first entry). Asserts
  // that the marker is in this segment and after the previous entry's marker.
  Result<AppendOutcome> append(const AbortedTxn& entry);

  // Entries overlapping [from_offset, upper_offset): last >= from and first < upper.
  AbortedSearchResult collect_aborted(int64_t from_offset, int64_t upper_offset) const;

  // Removes the entries whose marker is at or above `offset`.
  Status truncate_to(int64_t offset);
  Status sync();
  // Unlinks the file (with its segment); the index is empty afterwards.
  Status remove();
  // Closes the file descriptor; the next write reopens it.
  void release_file() { file_.reset(); }

  // The open file, for a sync handle; null when nothing was written since open.
  std::shared_ptr<File> file() const { return file_; }
  const std::filesystem::path& path() const { return path_; }
  int64_t segment_base_offset() const { return segment_base_offset_; }
  const std::vector<AbortedTxn>& entries() const { return entries_; }

 private:
  TxnIndex(std::filesystem::path path, int64_t segment_base_offset)
      : path_(std::move(path)), segment_base_offset_(segment_base_offset) {}
  Result<bool> ensure_file();  // true if it was created

  std::filesystem::path path_;
  int64_t segment_base_offset_;
  std::vector<AbortedTxn> entries_;  // one per ABORT marker in the segment
  std::shared_ptr<File> file_;
};

// The aborted transactions overlapping [from_offset, upper_offset), from the
// indexes of the segment containing from_offset and the later ones, oldest first.
std::vector<AbortedRange> collect_aborted_transactions(std::span<const TxnIndex* const> indexes,
                                                       int64_t from_offset, int64_t upper_offset);

// The open transactions of one partition and the last stable offset.
class OngoingTransactions {
 public:
  // A transactional data batch of `producer_id` at `offset`: begins its
  // transaction unless one is open. True if it began one.
  bool begin_if_new(int64_t producer_id, int64_t offset);

  // An end marker of `producer_id` at `marker_offset`. The transaction stays
  // unstable until the high watermark passes the marker. Returns the entry for
  // the `.txnindex` of the marker's segment when `aborted`.
  std::optional<AbortedTxn> complete(int64_t producer_id, int64_t marker_offset, bool aborted);

  // Forgets completed transactions whose marker is below `high_watermark`.
  void advance_high_watermark(int64_t high_watermark);

  // min(first unstable offset, high watermark).
  int64_t last_stable_offset(int64_t high_watermark) const;
  // The smallest first offset of an open or not yet replicated transaction.
  std::optional<int64_t> first_unstable_offset() const;

  std::optional<int64_t> open_first_offset(int64_t producer_id) const;
  size_t open_count() const { return first_offset_by_producer_.size(); }
  size_t unreplicated_count() const { return unreplicated_.size(); }

 private:
  std::map<int64_t, int64_t> first_offset_by_producer_;
  std::set<std::pair<int64_t, int64_t>> open_by_first_offset_;  // (first offset, producer id)
  // Completed, marker not yet below the high watermark: (first offset, marker offset).
  std::set<std::pair<int64_t, int64_t>> unreplicated_;
};

}  // namespace fjord::storage
