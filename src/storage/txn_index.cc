#include "storage/txn_index.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <system_error>

#include "common/endian.h"
#include "storage/segment.h"

namespace fjord::storage {
namespace {

AbortedTxn decode_aborted_txn(const uint8_t* p) {
  return AbortedTxn{load_be<int64_t>(p + 2), load_be<int64_t>(p + 10), load_be<int64_t>(p + 18),
                    load_be<int64_t>(p + 26)};
}

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// Why `entry` (the one after `previous`, if any) breaks the format; empty if valid.
std::string entry_problem(int16_t version, const AbortedTxn& entry, const AbortedTxn* previous,
                          int64_t segment_base_offset) {
  if (version != kAbortedTxnVersion) return fmt::format("version {}", version);
  if (entry.producer_id < 0) return fmt::format("producer id {}", entry.producer_id);
  if (entry.first_offset < 0 || entry.first_offset > entry.last_offset) {
    return fmt::format("first offset {} vs last offset {}", entry.first_offset, entry.last_offset);
  }
  if (entry.last_offset < segment_base_offset) {
    return fmt::format("last offset {} below the segment base", entry.last_offset);
  }
  if (previous != nullptr && entry.last_offset <= previous->last_offset) {
    return fmt::format("last offset {} not after {}", entry.last_offset, previous->last_offset);
  }
  // last_offset + 1 without overflow: last_offset is at least the segment base (>= 0).
  if (entry.last_stable_offset < 0 || entry.last_stable_offset - 1 > entry.last_offset) {
    return fmt::format("last stable offset {} vs last offset {}", entry.last_stable_offset,
                       entry.last_offset);
  }
  return {};
}

}  // namespace

void encode_aborted_txn(const AbortedTxn& entry, std::span<uint8_t, kAbortedTxnEntryBytes> out) {
  store_be<int16_t>(out.data(), kAbortedTxnVersion);
  store_be<int64_t>(out.data() + 2, entry.producer_id);
  store_be<int64_t>(out.data() + 10, entry.first_offset);
  store_be<int64_t>(out.data() + 18, entry.last_offset);
  store_be<int64_t>(out.data() + 26, entry.last_stable_offset);
}

Result<ParsedTxnIndex> parse_txn_index(std::span<const uint8_t> bytes,
                                       int64_t segment_base_offset) {
  size_t whole_entries = bytes.size() / kAbortedTxnEntryBytes;
  // A file extended by the file system whose data never reached the disk reads
  // as zeros: a torn tail, not garbage.
  while (whole_entries > 0 && all_zero(bytes.subspan((whole_entries - 1) * kAbortedTxnEntryBytes,
                                                     kAbortedTxnEntryBytes))) {
    --whole_entries;
  }
  ParsedTxnIndex parsed;
  parsed.entries.reserve(whole_entries);
  for (size_t i = 0; i < whole_entries; ++i) {
    const uint8_t* p = bytes.data() + i * kAbortedTxnEntryBytes;
    const AbortedTxn entry = decode_aborted_txn(p);
    const AbortedTxn* previous = parsed.entries.empty() ? nullptr : &parsed.entries.back();
    std::string problem = entry_problem(load_be<int16_t>(p), entry, previous, segment_base_offset);
    if (!problem.empty()) {
      return Error{ErrorCode::kCorruptMessage,
                   fmt::format("transaction index entry {}: {}", i, problem)};
    }
    parsed.entries.push_back(entry);
  }
  parsed.valid_bytes = whole_entries * kAbortedTxnEntryBytes;
  return parsed;
}

std::filesystem::path TxnIndex::path_for(const std::filesystem::path& dir, int64_t base_offset) {
  return dir / (segment_file_stem(base_offset) + ".txnindex");
}

Result<std::unique_ptr<TxnIndex>> TxnIndex::open(const std::filesystem::path& path,
                                                 int64_t segment_base_offset) {
  std::unique_ptr<TxnIndex> index(new TxnIndex(path, segment_base_offset));
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) return io_error("stat", path, ec.value());
    return index;
  }
  auto bytes = read_whole_file(path);
  if (!bytes) return bytes.error();
  auto parsed = parse_txn_index(*bytes, segment_base_offset);
  if (!parsed) {
    return Error{parsed.error().code, fmt::format("{}: {}", path.string(), parsed.error().message)};
  }
  index->entries_ = std::move(parsed->entries);
  if (parsed->valid_bytes != bytes->size()) {
    auto created = index->ensure_file();
    if (!created) return created.error();
    if (auto status = index->file_->truncate(parsed->valid_bytes); !status) return status.error();
  }
  return index;
}

Result<bool> TxnIndex::ensure_file() {
  if (file_) return false;
  std::error_code ec;
  const bool existed = std::filesystem::exists(path_, ec);
  if (ec) return io_error("stat", path_, ec.value());
  auto file = File::open(path_, O_RDWR | O_CREAT);
  if (!file) return file.error();
  file_ = std::move(*file);
  return !existed;
}

Result<TxnIndex::AppendOutcome> TxnIndex::append(const AbortedTxn& entry) {
  assert(entry.last_offset >= segment_base_offset_);
  assert(entries_.empty() || entry.last_offset > entries_.back().last_offset);
  assert(entry.first_offset <= entry.last_offset);
  auto created = ensure_file();
  if (!created) return created.error();
  std::array<uint8_t, kAbortedTxnEntryBytes> bytes{};
  encode_aborted_txn(entry, bytes);
  // Always at the end of the valid entries, so a failed (partial) write is
  // overwritten by the next one.
  if (auto status = file_->write_at(entries_.size() * kAbortedTxnEntryBytes, bytes); !status) {
    return status.error();
  }
  entries_.push_back(entry);
  return AppendOutcome{*created};
}

AbortedSearchResult TxnIndex::collect_aborted(int64_t from_offset, int64_t upper_offset) const {
  AbortedSearchResult result;
  for (const AbortedTxn& entry : entries_) {
    if (entry.last_offset >= from_offset && entry.first_offset < upper_offset) {
      result.aborted.push_back({entry.producer_id, entry.first_offset});
    }
    // Every transaction still open at this marker began at or after its LSO,
    // and every later one after the marker: none can overlap the range.
    if (entry.last_stable_offset >= upper_offset) {
      result.complete = true;
      break;
    }
  }
  return result;
}

Status TxnIndex::truncate_to(int64_t offset) {
  auto keep = std::find_if(entries_.begin(), entries_.end(),
                           [offset](const AbortedTxn& e) { return e.last_offset >= offset; });
  if (keep == entries_.end()) return {};
  const size_t kept = static_cast<size_t>(keep - entries_.begin());
  auto created = ensure_file();
  if (!created) return created.error();
  if (auto status = file_->truncate(kept * kAbortedTxnEntryBytes); !status) return status;
  entries_.erase(keep, entries_.end());
  return {};
}

Status TxnIndex::sync() {
  if (!file_) return {};
  return file_->sync();
}

Status TxnIndex::remove() {
  file_.reset();
  entries_.clear();
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return io_error("unlink", path_, errno);
  return {};
}

std::vector<AbortedRange> collect_aborted_transactions(std::span<const TxnIndex* const> indexes,
                                                       int64_t from_offset, int64_t upper_offset) {
  std::vector<AbortedRange> aborted;
  for (const TxnIndex* index : indexes) {
    AbortedSearchResult found = index->collect_aborted(from_offset, upper_offset);
    aborted.insert(aborted.end(), found.aborted.begin(), found.aborted.end());
    if (found.complete) break;
  }
  return aborted;
}

bool OngoingTransactions::begin_if_new(int64_t producer_id, int64_t offset) {
  auto [it, inserted] = first_offset_by_producer_.try_emplace(producer_id, offset);
  if (!inserted) return false;
  open_by_first_offset_.emplace(offset, producer_id);
  return true;
}

std::optional<AbortedTxn> OngoingTransactions::complete(int64_t producer_id, int64_t marker_offset,
                                                        bool aborted) {
  int64_t first_offset = marker_offset;  // a marker without data: Kafka does the same
  if (auto it = first_offset_by_producer_.find(producer_id);
      it != first_offset_by_producer_.end()) {
    first_offset = it->second;
    open_by_first_offset_.erase({first_offset, producer_id});
    first_offset_by_producer_.erase(it);
  }
  assert(first_offset <= marker_offset);
  unreplicated_.emplace(first_offset, marker_offset);
  if (!aborted) return std::nullopt;
  // Kafka's entry LSO counts the transactions still open, not the unreplicated ones.
  const int64_t last_stable_offset =
      open_by_first_offset_.empty() ? marker_offset + 1 : open_by_first_offset_.begin()->first;
  return AbortedTxn{producer_id, first_offset, marker_offset, last_stable_offset};
}

void OngoingTransactions::advance_high_watermark(int64_t high_watermark) {
  std::erase_if(unreplicated_, [high_watermark](const std::pair<int64_t, int64_t>& txn) {
    return txn.second < high_watermark;
  });
}

std::optional<int64_t> OngoingTransactions::first_unstable_offset() const {
  std::optional<int64_t> first;
  if (!open_by_first_offset_.empty()) first = open_by_first_offset_.begin()->first;
  if (!unreplicated_.empty()) {
    const int64_t candidate = unreplicated_.begin()->first;
    if (!first || candidate < *first) first = candidate;
  }
  return first;
}

int64_t OngoingTransactions::last_stable_offset(int64_t high_watermark) const {
  int64_t lso = high_watermark;
  if (!open_by_first_offset_.empty()) lso = std::min(lso, open_by_first_offset_.begin()->first);
  // Completed transactions whose marker is below the high watermark are stable
  // even when advance_high_watermark has not forgotten them yet.
  for (const auto& [first_offset, marker_offset] : unreplicated_) {
    if (first_offset >= lso) break;
    if (marker_offset >= high_watermark) {
      lso = first_offset;
      break;
    }
  }
  return lso;
}

std::optional<int64_t> OngoingTransactions::open_first_offset(int64_t producer_id) const {
  auto it = first_offset_by_producer_.find(producer_id);
  if (it == first_offset_by_producer_.end()) return std::nullopt;
  return it->second;
}

}  // namespace fjord::storage
