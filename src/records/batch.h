// Kafka record batch v2 ("magic 2"): the same bytes on the wire and on disk.
// Layout (big-endian), see docs/storage-format.md:
//   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8
//  17 crc u32 (CRC-32C of bytes 21..end) | 21 attributes i16 | 23 lastOffsetDelta i32
//  27 baseTimestamp i64 | 35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16
//  53 baseSequence i32 | 57 recordsCount i32 | 61 records...
#pragma once

#include <cstdint>
#include <span>

#include "common/result.h"

namespace fjord::records {

inline constexpr size_t kBatchHeaderSize = 61;
// Bytes before and including batchLength: the whole batch is batchLength + this.
inline constexpr size_t kBatchLengthPrefix = 12;
inline constexpr size_t kMagicOffset = 16;
inline constexpr size_t kCrcOffset = 17;
inline constexpr size_t kAttributesOffset = 21;

enum class Compression : uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };

namespace attr {
inline constexpr int16_t kCompressionMask = 0x07;
inline constexpr int16_t kLogAppendTime = 0x08;
inline constexpr int16_t kTransactional = 0x10;
inline constexpr int16_t kControl = 0x20;
inline constexpr int16_t kDeleteHorizon = 0x40;
}  // namespace attr

struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = 0;
  int8_t magic = 2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  size_t size_bytes() const { return static_cast<size_t>(batch_length) + kBatchLengthPrefix; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  Compression compression() const {
    return static_cast<Compression>(attributes & attr::kCompressionMask);
  }
  bool is_control() const { return attributes & attr::kControl; }
  bool is_transactional() const { return attributes & attr::kTransactional; }
};

// Reads the fixed header. Requires data.size() >= kBatchHeaderSize; checks nothing else.
BatchHeader read_header(std::span<const uint8_t> data);

// Writes header fields into the first kBatchHeaderSize bytes (does not recompute the CRC).
void write_header(const BatchHeader& header, std::span<uint8_t> data);

// CRC-32C over bytes 21..end of one whole batch.
uint32_t compute_batch_crc(std::span<const uint8_t> batch);

// Sets baseOffset (not covered by the CRC) in place.
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);

// Checks the framing of one batch at the front of `data`: enough bytes for the
// header, magic 2, a batchLength that fits in `data`, and a matching CRC.
// Does not look inside the records. Returns the header on success.
// Errors: kCorruptMessage (bad length/CRC), kUnsupportedForMessageFormat (magic 0/1).
Result<BatchHeader> check_batch_framing(std::span<const uint8_t> data);

}  // namespace fjord::records
