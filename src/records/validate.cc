#include "records/validate.h"

#include <string>

#include "common/endian.h"
#include "records/codec.h"
#include "records/record.h"

namespace fjord::records {
namespace {

// Bits 7-15 of the attributes are unused in every format version.
constexpr int16_t kUnusedAttributeBits = static_cast<int16_t>(0xff80);
constexpr size_t kMaxTimestampOffset = 35;

Error invalid(std::string why) { return Error{ErrorCode::kInvalidRecord, std::move(why)}; }
Error corrupt(std::string why) { return Error{ErrorCode::kCorruptMessage, std::move(why)}; }

// Framing of the batch at the front of `rest`: whole, magic 2, within the size
// limit, CRC. Kafka checks magic in ProduceRequest.validateRecords (INVALID_RECORD
// for Produce v3+), the size in analyzeAndValidateRecords (RecordTooLargeException
// -> MESSAGE_TOO_LARGE) and then the CRC (batch.ensureValid -> CORRUPT_MESSAGE).
Result<BatchHeader> check_framing(std::span<const uint8_t> rest, const ValidationLimits& limits) {
  if (rest.size() <= kMagicOffset) return corrupt("truncated record batch");
  if (rest[kMagicOffset] != 2) {
    return invalid("Produce v3+ only allows record batches with magic 2, got magic " +
                   std::to_string(static_cast<int8_t>(rest[kMagicOffset])));
  }
  const auto batch_length = load_be<int32_t>(rest.data() + 8);
  if (batch_length < static_cast<int32_t>(kBatchHeaderSize - kBatchLengthPrefix)) {
    return corrupt("record batch length " + std::to_string(batch_length) + " is too small");
  }
  const size_t size_bytes = static_cast<size_t>(batch_length) + kBatchLengthPrefix;
  if (size_bytes > rest.size()) return corrupt("truncated record batch");
  if (size_bytes > limits.max_message_bytes) {
    return Error{ErrorCode::kMessageTooLarge, "record batch of " + std::to_string(size_bytes) +
                                                  " bytes exceeds max.message.bytes " +
                                                  std::to_string(limits.max_message_bytes)};
  }
  return check_batch_framing(rest.first(size_bytes));
}

bool whole_batch_at(std::span<const uint8_t> rest) {
  if (rest.size() < kBatchHeaderSize) return false;
  const auto batch_length = load_be<int32_t>(rest.data() + 8);
  return batch_length >= static_cast<int32_t>(kBatchHeaderSize - kBatchLengthPrefix) &&
         static_cast<size_t>(batch_length) + kBatchLengthPrefix <= rest.size();
}

// The header checks of Kafka's LogValidator.validateBatch for client appends, plus
// the attribute checks Kafka leaves out (bits 7-15; an unknown codec makes Kafka's
// CompressionType.forId throw, which surfaces as an unknown server error: we answer
// INVALID_RECORD instead).
Status check_header(const BatchHeader& h, const ValidationLimits& limits) {
  if (limits.require_zero_base_offset && h.base_offset != 0) {
    return invalid("the baseOffset of a produced record batch must be 0, not " +
                   std::to_string(h.base_offset));
  }
  if (h.attributes & kUnusedAttributeBits) return invalid("record batch attribute bits 7-15 set");
  if (!is_known_codec(h.attributes & attr::kCompressionMask)) {
    return invalid("unknown compression codec " +
                   std::to_string(h.attributes & attr::kCompressionMask));
  }
  if (h.records_count <= 0) {
    return invalid("invalid record count " + std::to_string(h.records_count));
  }
  if (static_cast<int64_t>(h.last_offset_delta) + 1 != h.records_count) {
    return invalid("lastOffsetDelta " + std::to_string(h.last_offset_delta) +
                   " does not match the record count " + std::to_string(h.records_count));
  }
  if (h.is_control() && !limits.allow_control_batches) {
    return invalid("clients are not allowed to write control records");
  }
  // Control batches (transaction markers) carry a producer id but no sequence.
  if (h.producer_id >= 0 && h.base_sequence < 0 && !h.is_control()) {
    return invalid("invalid sequence number " + std::to_string(h.base_sequence) +
                   " for producerId " + std::to_string(h.producer_id));
  }
  if ((h.attributes & attr::kLogAppendTime) && !limits.allow_log_append_time) {
    return Error{ErrorCode::kInvalidTimestamp,
                 "producers must not set the timestamp type to LogAppendTime"};
  }
  return {};
}

// Walks the records: each must parse, with offset deltas 0..n-1. Kafka rewrites
// compressed batches with wrong inner offsets instead of rejecting them (for old
// clients of formats v0/v1); no v2 client sends those, so we reject them.
Status check_records(std::span<const uint8_t> batch, const ValidationLimits& limits,
                     std::vector<uint8_t>& scratch, ValidatedBatch& out) {
  const int64_t base_timestamp = out.header.base_timestamp;
  int32_t expected_delta = 0;
  int64_t max_timestamp = -1;
  int64_t min_timestamp = -1;
  int32_t delta_of_max = 0;
  auto on_record = [&](const Record& record) -> Status {
    if (record.offset_delta != expected_delta) {
      return invalid("record offset delta " + std::to_string(record.offset_delta) + " where " +
                     std::to_string(expected_delta) + " was expected");
    }
    // Wrapping add, as in Java: a hostile delta must not be undefined behaviour.
    const auto timestamp = static_cast<int64_t>(static_cast<uint64_t>(base_timestamp) +
                                                static_cast<uint64_t>(record.timestamp_delta));
    if (limits.require_keys && !record.key) {
      return invalid("compacted topics cannot accept records without a key");
    }
    if (expected_delta == 0 || timestamp > max_timestamp) {
      max_timestamp = timestamp;
      delta_of_max = record.offset_delta;
    }
    if (expected_delta == 0 || timestamp < min_timestamp) min_timestamp = timestamp;
    ++expected_delta;
    return {};
  };
  Result<int32_t> count = for_each_record(batch, scratch, limits.max_uncompressed_bytes, on_record);
  if (!count) return count.error();
  out.uncompressed_records_bytes = out.header.compression() == Compression::kNone
                                       ? batch.size() - kBatchHeaderSize
                                       : scratch.size();
  out.max_timestamp = max_timestamp;
  out.min_timestamp = min_timestamp;
  out.offset_delta_of_max_timestamp = delta_of_max;
  out.header_max_timestamp_differs = out.header.max_timestamp != max_timestamp;
  return {};
}

}  // namespace

int32_t ValidatedBatch::last_sequence() const {
  if (header.base_sequence < 0) return -1;
  const int64_t last = static_cast<int64_t>(header.base_sequence) + header.last_offset_delta;
  return static_cast<int32_t>(last > INT32_MAX ? last - INT32_MAX - 1 : last);
}

Result<ValidatedBatches> validate_produce_records(std::span<const uint8_t> records,
                                                  const ValidationLimits& limits,
                                                  std::vector<uint8_t>& scratch) {
  ValidatedBatches result;
  if (records.empty()) return invalid("Produce v3+ needs at least one record batch");
  size_t position = 0;
  while (position < records.size()) {
    if (!result.batches.empty() && !limits.allow_multiple_batches) {
      // Kafka's ProduceRequest.validateRecords answers INVALID_RECORD for a second
      // whole batch, but silently trims a partial one, which would drop data the
      // client believes written: we refuse that as CORRUPT_MESSAGE.
      return whole_batch_at(records.subspan(position))
                 ? invalid("Produce v3+ allows exactly one record batch per partition")
                 : corrupt("trailing bytes after the record batch");
    }
    Result<BatchHeader> header = check_framing(records.subspan(position), limits);
    if (!header) return header.error();
    ValidatedBatch batch;
    batch.header = *header;
    batch.position_bytes = position;
    batch.size_bytes = header->size_bytes();
    if (Status s = check_header(batch.header, limits); !s) return s.error();
    if (Status s =
            check_records(records.subspan(position, batch.size_bytes), limits, scratch, batch);
        !s) {
      return s.error();
    }
    result.total_records += batch.header.records_count;
    if (batch.max_timestamp > result.max_timestamp) result.max_timestamp = batch.max_timestamp;
    result.has_control |= batch.is_control();
    result.has_transactional |= batch.is_transactional();
    result.has_producer_id |= batch.has_producer_id();
    position += batch.size_bytes;
    result.batches.push_back(batch);
  }
  return result;
}

Result<ValidatedBatches> validate_produce_records(std::span<const uint8_t> records,
                                                  const ValidationLimits& limits) {
  std::vector<uint8_t> scratch;
  return validate_produce_records(records, limits, scratch);
}

void stamp_log_append_time(std::span<uint8_t> batch, int64_t now_ms) {
  const auto attributes = load_be<int16_t>(batch.data() + kAttributesOffset);
  store_be<int16_t>(batch.data() + kAttributesOffset,
                    static_cast<int16_t>(attributes | attr::kLogAppendTime));
  store_be<int64_t>(batch.data() + kMaxTimestampOffset, now_ms);
  store_be<uint32_t>(batch.data() + kCrcOffset, compute_batch_crc(batch));
}

void set_max_timestamp(std::span<uint8_t> batch, int64_t max_timestamp_ms) {
  if (load_be<int64_t>(batch.data() + kMaxTimestampOffset) == max_timestamp_ms) return;
  store_be<int64_t>(batch.data() + kMaxTimestampOffset, max_timestamp_ms);
  store_be<uint32_t>(batch.data() + kCrcOffset, compute_batch_crc(batch));
}

}  // namespace fjord::records
