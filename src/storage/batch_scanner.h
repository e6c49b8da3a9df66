// Walks the record batches of a segment file through a bounded read buffer, so
// that scanning headers costs one pread per chunk rather than one per batch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"
#include "records/batch.h"
#include "storage/file.h"

namespace fjord::storage {

// What the log needs to know of one batch on disk.
struct BatchInfo {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp_ms = 0;
  uint64_t position = 0;
  uint32_t size_bytes = 0;
  int32_t records_count = 0;
};

BatchInfo batch_info(const records::BatchHeader& header, uint64_t position);

class BatchScanner {
 public:
  // Scans [start, end) of `file`. With verify_crc every batch is read whole and
  // checked (recovery); without, only headers are read (trusted data).
  BatchScanner(const File& file, uint64_t start, uint64_t end, bool verify_crc,
               size_t chunk_bytes = 64 * 1024);
  // The same, reading through a caller's buffer (reused across scans so that hot
  // paths neither allocate nor touch fresh memory).
  BatchScanner(const File& file, uint64_t start, uint64_t end, bool verify_crc,
               size_t chunk_bytes, std::vector<uint8_t>& buffer);

  // The next batch; nullopt at `end`. kCorruptMessage when the bytes at
  // position() are not a valid batch (torn or corrupt), kKafkaStorageError on I/O.
  Result<std::optional<BatchInfo>> next();
  uint64_t position() const { return position_; }
  // The bytes of the batch last returned by next() (only with verify_crc).
  std::span<const uint8_t> last_batch_bytes() const { return last_batch_; }

 private:
  Status ensure_buffered(uint64_t at, size_t length);

  const File& file_;
  uint64_t position_;
  uint64_t end_;
  bool verify_crc_;
  size_t chunk_bytes_;
  std::vector<uint8_t> own_buffer_;
  std::vector<uint8_t>& buffer_;
  uint64_t buffer_start_ = 0;
  size_t buffer_length_ = 0;
  std::span<const uint8_t> last_batch_;
};

}  // namespace fjord::storage
