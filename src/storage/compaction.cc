#include "storage/compaction.h"

#include <fcntl.h>

#include <cstring>
#include <string>
#include <unordered_map>

#include "records/batch.h"
#include "records/codec.h"
#include "records/record.h"
#include "storage/batch_scanner.h"
#include "storage/record_scan.h"
#include "storage/segment.h"

namespace fjord::storage {
namespace {

using records::kBatchHeaderSize;
// Bound on one decompressed records section (a decompression bomb guard).
constexpr size_t kMaxDecompressedBytes = 256u << 20;
// Output is written in chunks of this size.
constexpr size_t kWriteChunkBytes = 1u << 20;

using KeyMap = std::unordered_map<std::string, int64_t>;

// Whether a data batch belongs to an aborted transaction: same producer, at or
// after the transaction's first offset and before its ABORT marker.
bool in_aborted_transaction(const records::BatchHeader& header,
                            const std::vector<AbortedTxn>& aborted) {
  if (!header.is_transactional() || header.producer_id < 0) return false;
  for (const auto& txn : aborted) {
    if (txn.producer_id == header.producer_id && header.base_offset >= txn.first_offset &&
        header.base_offset < txn.last_offset) {
      return true;
    }
  }
  return false;
}

std::string key_string(std::span<const uint8_t> key) {
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

Status parse_batch(std::span<const uint8_t> batch, const records::BatchHeader& header,
                   std::vector<uint8_t>& scratch, std::vector<RecordView>& out) {
  auto section = records::records_section(batch, scratch, kMaxDecompressedBytes);
  if (!section.ok()) return section.error();
  if (!scan_records(*section, header.records_count, out)) {
    return Error{ErrorCode::kCorruptMessage, "malformed records in a stored batch"};
  }
  return {};
}

// Rewrites one batch with only `kept` records; the header keeps offsets,
// timestamps and producer fields.
Result<std::vector<uint8_t>> rebuild_batch(std::span<const uint8_t> batch,
                                           records::BatchHeader header,
                                           const std::vector<RecordView>& kept) {
  std::vector<uint8_t> section;
  for (const auto& r : kept) section.insert(section.end(), r.bytes.begin(), r.bytes.end());
  std::vector<uint8_t> out;
  if (header.compression() == records::Compression::kNone) {
    out.resize(kBatchHeaderSize + section.size());
    std::memcpy(out.data(), batch.data(), kBatchHeaderSize);
    if (!section.empty()) {
      std::memcpy(out.data() + kBatchHeaderSize, section.data(), section.size());
    }
  } else {
    out.resize(kBatchHeaderSize);
    std::memcpy(out.data(), batch.data(), kBatchHeaderSize);
    if (auto st = records::compress_append(header.compression(), section, out); !st.ok()) {
      return st.error();
    }
  }
  header.batch_length = static_cast<int32_t>(out.size() - records::kBatchLengthPrefix);
  header.records_count = static_cast<int32_t>(kept.size());
  records::write_header(header, out);
  header.crc = records::compute_batch_crc(out);
  records::write_header(header, out);
  return out;
}

class CleanedSegmentWriter {
 public:
  CleanedSegmentWriter(const std::filesystem::path& dir, const CompactionInput& input,
                       int32_t index_interval_bytes)
      : segment_(dir, input.base_offset, 0), index_interval_bytes_(index_interval_bytes) {
    output_.base_offset = input.base_offset;
    output_.segment_id = input.segment_id;
    output_.log_path = segment_.log_path();
    output_.log_path += ".cleaned";
    output_.index_path = segment_.index_path();
    output_.index_path += ".cleaned";
    output_.time_index_path = segment_.time_index_path();
    output_.time_index_path += ".cleaned";
  }

  Status open() {
    auto f = File::open(output_.log_path, O_RDWR | O_CREAT | O_TRUNC);
    if (!f.ok()) return f.error();
    file_ = std::move(f).value();
    return {};
  }

  Status add(std::span<const uint8_t> batch) {
    const records::BatchHeader header = records::read_header(batch);
    segment_.note_append(batch_info(header, written_ + buffer_.size()), index_interval_bytes_);
    buffer_.insert(buffer_.end(), batch.begin(), batch.end());
    if (buffer_.size() >= kWriteChunkBytes) return flush();
    return {};
  }

  Result<CompactionOutput> finish() {
    if (auto st = flush(); !st.ok()) return st.error();
    if (auto st = file_->sync(); !st.ok()) return st.error();
    segment_.finish_time_index();
    const std::pair<std::filesystem::path, std::vector<uint8_t>> indexes[] = {
        {output_.index_path, segment_.offset_index().serialize()},
        {output_.time_index_path, segment_.time_index().serialize()}};
    for (const auto& [path, bytes] : indexes) {
      auto f = File::open(path, O_WRONLY | O_CREAT | O_TRUNC);
      if (!f.ok()) return f.error();
      if (auto st = (*f)->write_at(0, bytes); !st.ok()) return st.error();
      if (auto st = (*f)->sync(); !st.ok()) return st.error();
    }
    output_.size_bytes = written_;
    return output_;
  }

 private:
  Status flush() {
    if (auto st = file_->write_at(written_, buffer_); !st.ok()) return st;
    written_ += buffer_.size();
    buffer_.clear();
    return {};
  }

  Segment segment_;  // used only for its in-memory index building
  int32_t index_interval_bytes_;
  CompactionOutput output_;
  std::shared_ptr<File> file_;
  std::vector<uint8_t> buffer_;
  uint64_t written_ = 0;
};

}  // namespace

CompactionJob::CompactionJob(std::filesystem::path dir, std::vector<CompactionInput> inputs,
                             int64_t now_ms, int64_t delete_retention_ms,
                             int32_t index_interval_bytes, std::vector<AbortedTxn> aborted)
    : dir_(std::move(dir)),
      inputs_(std::move(inputs)),
      aborted_(std::move(aborted)),
      now_ms_(now_ms),
      delete_retention_ms_(delete_retention_ms),
      index_interval_bytes_(index_interval_bytes) {}

CompactionJob::~CompactionJob() {
  if (installed_) return;
  std::error_code ec;
  for (const auto& out : outputs_) {
    std::filesystem::remove(out.log_path, ec);
    std::filesystem::remove(out.index_path, ec);
    std::filesystem::remove(out.time_index_path, ec);
  }
}

Status CompactionJob::run() {
  std::vector<uint8_t> scratch;
  std::vector<RecordView> parsed;
  // Pass 1: the last offset of every key in the range.
  KeyMap latest;
  for (const auto& input : inputs_) {
    BatchScanner scanner(*input.file, 0, input.size_bytes, /*verify_crc=*/true, 1 << 20);
    while (true) {
      auto batch = scanner.next();
      if (!batch.ok()) return batch.error();
      if (!*batch) break;
      const auto bytes = scanner.last_batch_bytes();
      const auto header = records::read_header(bytes);
      if (header.is_control() || in_aborted_transaction(header, aborted_)) continue;
      if (auto st = parse_batch(bytes, header, scratch, parsed); !st.ok()) return st;
      for (const auto& r : parsed) {
        if (r.has_key) latest[key_string(r.key)] = header.base_offset + r.offset_delta;
      }
    }
  }
  // Pass 2: rewrite every segment with the survivors.
  const int64_t tombstone_horizon_ms = now_ms_ - delete_retention_ms_;
  std::vector<RecordView> kept;
  for (const auto& input : inputs_) {
    CleanedSegmentWriter writer(dir_, input, index_interval_bytes_);
    if (auto st = writer.open(); !st.ok()) return st;
    BatchScanner scanner(*input.file, 0, input.size_bytes, /*verify_crc=*/true, 1 << 20);
    while (true) {
      auto batch = scanner.next();
      if (!batch.ok()) return batch.error();
      if (!*batch) break;
      const auto bytes = scanner.last_batch_bytes();
      const auto header = records::read_header(bytes);
      if (header.is_control()) {
        if (auto st = writer.add(bytes); !st.ok()) return st;
        continue;
      }
      if (in_aborted_transaction(header, aborted_)) {
        ++stats_.aborted_batches_dropped;
        continue;
      }
      if (auto st = parse_batch(bytes, header, scratch, parsed); !st.ok()) return st;
      kept.clear();
      for (const auto& r : parsed) {
        const int64_t offset = header.base_offset + r.offset_delta;
        const bool latest_of_key = !r.has_key || latest[key_string(r.key)] == offset;
        const bool expired_tombstone = !r.has_value && header.max_timestamp < tombstone_horizon_ms;
        if (latest_of_key && !expired_tombstone) kept.push_back(r);
      }
      stats_.records_read += static_cast<int64_t>(parsed.size());
      stats_.records_kept += static_cast<int64_t>(kept.size());
      if (kept.empty()) {
        ++stats_.batches_dropped;
        continue;
      }
      if (kept.size() == parsed.size()) {
        if (auto st = writer.add(bytes); !st.ok()) return st;
        continue;
      }
      auto rebuilt = rebuild_batch(bytes, header, kept);
      if (!rebuilt.ok()) return rebuilt.error();
      if (auto st = writer.add(*rebuilt); !st.ok()) return st;
    }
    auto output = writer.finish();
    if (!output.ok()) return output.error();
    outputs_.push_back(std::move(output).value());
  }
  finished_ = true;
  return {};
}

}  // namespace fjord::storage
