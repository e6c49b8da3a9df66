// Produce-time validation of the records of one partition, as Kafka's broker
// does it (ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords,
// LogValidator), before the broker assigns offsets and appends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "records/batch.h"

namespace fjord::records {

struct ValidationLimits {
  // The topic's max.message.bytes; Kafka's default is 1 MiB plus the 12-byte log overhead.
  size_t max_message_bytes = 1048588;
  // Upper bound of one batch's decompressed records section (decompression bombs).
  size_t max_uncompressed_bytes = 64 * 1024 * 1024;
  // Kafka allows exactly one batch per partition in Produce v3+; internal appends
  // (e.g. replication or tools) may pass several.
  bool allow_multiple_batches = false;
  // Clients may not write control batches; the broker's own transaction markers may.
  bool allow_control_batches = false;
  // Clients send baseOffset 0; Kafka rejects anything else from clients.
  bool require_zero_base_offset = true;
  // Clients may not claim LogAppendTime (attribute bit 3); Kafka answers INVALID_TIMESTAMP.
  bool allow_log_append_time = false;
  // cleanup.policy=compact: Kafka refuses records without a key (INVALID_RECORD).
  bool require_keys = false;
};

struct ValidatedBatch {
  BatchHeader header;
  size_t position_bytes = 0;  // where the batch starts in the validated buffer
  size_t size_bytes = 0;      // header.size_bytes()
  size_t uncompressed_records_bytes = 0;
  // Largest record timestamp (baseTimestamp + timestampDelta), and the offset delta
  // of the first record carrying it (for the time index). Kafka rewrites the
  // header's maxTimestamp to this value on append (CreateTime topics).
  int64_t max_timestamp = -1;
  int32_t offset_delta_of_max_timestamp = 0;
  // Smallest record timestamp, for message.timestamp.difference.max.ms style checks.
  int64_t min_timestamp = -1;
  bool header_max_timestamp_differs = false;

  bool is_control() const { return header.is_control(); }
  bool is_transactional() const { return header.is_transactional(); }
  bool has_producer_id() const { return header.producer_id >= 0; }
  // Last sequence number of the batch, wrapping from INT32_MAX to 0 as Kafka does.
  int32_t last_sequence() const;
};

struct ValidatedBatches {
  std::vector<ValidatedBatch> batches;  // in buffer order
  int64_t total_records = 0;
  int64_t max_timestamp = -1;  // over all batches
  bool has_control = false;
  bool has_transactional = false;
  bool has_producer_id = false;
};

// Validates the record bytes of one partition of a Produce request: every batch
// whole and well-framed (no trailing bytes), magic 2, CRC, attribute bits 7-15
// zero, a known codec, size <= max_message_bytes, recordsCount >= 1 and equal to
// lastOffsetDelta + 1, and every record parses (decompressed, bounded) with
// offset deltas 0..n-1 in order.
// Errors (Kafka's choice in parentheses):
//   kCorruptMessage  truncated batch, bad batchLength, CRC mismatch, trailing bytes,
//                    undecodable compressed stream (CorruptRecordException).
//   kInvalidRecord   no batch, several batches, magic 0/1, baseOffset != 0, bad count
//                    or lastOffsetDelta, control batch from a client, producerId
//                    without baseSequence, malformed records, unknown codec, attribute
//                    bits 7-15 set, a null key with require_keys (InvalidRecordException).
//   kMessageTooLarge batch larger than max_message_bytes or its records larger than
//                    max_uncompressed_bytes once decompressed (RecordTooLargeException).
//   kInvalidTimestamp LogAppendTime set by the client.
Result<ValidatedBatches> validate_produce_records(std::span<const uint8_t> records,
                                                  const ValidationLimits& limits);

// The same, decompressing into `scratch` (reused across calls to avoid allocations).
Result<ValidatedBatches> validate_produce_records(std::span<const uint8_t> records,
                                                  const ValidationLimits& limits,
                                                  std::vector<uint8_t>& scratch);

// For message.timestamp.type=LogAppendTime: sets attribute bit 3 and maxTimestamp
// to now_ms and recomputes the CRC. `batch` is one whole, valid batch.
void stamp_log_append_time(std::span<uint8_t> batch, int64_t now_ms);

// Sets maxTimestamp (CreateTime), recomputing the CRC only if the value changes.
// Kafka does this on append so the header agrees with the records.
void set_max_timestamp(std::span<uint8_t> batch, int64_t max_timestamp_ms);

}  // namespace fjord::records
