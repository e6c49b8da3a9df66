// Builds one record batch v2: records with keys, values, headers and timestamps,
// optional compression, producer id/epoch/sequence and control/transactional flags.
// Computes lengths, deltas, the header and the CRC. Reuses its buffers across
// batches, so steady-state building allocates nothing per record or per batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "records/batch.h"
#include "records/record.h"

namespace fjord::records {

struct BatchOptions {
  Compression compression = Compression::kNone;
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = -1;  // what producers send; the broker sets it
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  bool transactional = false;
  bool control = false;
  // LogAppendTime batches carry the broker's time as maxTimestamp.
  bool log_append_time = false;
  int64_t log_append_time_ms = -1;
  // Limit of the uncompressed records section; append() fails beyond it.
  size_t max_records_bytes = 64 * 1024 * 1024;
};

class BatchBuilder {
 public:
  explicit BatchBuilder(const BatchOptions& options = {});

  // Starts a new batch with `options`, keeping the buffers' capacity.
  void reset(const BatchOptions& options);

  // Appends a record with the next offset delta (0, 1, 2, ...).
  // Errors: kMessageTooLarge beyond options.max_records_bytes.
  Status append(int64_t timestamp_ms, NullableBytes key, NullableBytes value,
                std::span<const RecordHeader> headers = {});

  // Appends a record with an explicit offset delta, greater than the previous one:
  // compaction keeps the surviving records' offsets. Errors: kInvalidRecord for a
  // delta out of order, kMessageTooLarge as append().
  Status append_with_offset_delta(int32_t offset_delta, int64_t timestamp_ms, NullableBytes key,
                                  NullableBytes value, std::span<const RecordHeader> headers = {});

  // Copies a parsed record, keeping its offset delta and absolute timestamp
  // (`source_base_timestamp` is the baseTimestamp of the batch it came from).
  Status append_record(const Record& record, int64_t source_base_timestamp);

  // Fixes lastOffsetDelta, e.g. to the original batch's after compaction removed
  // its last records (Kafka's cleaner keeps it). Must be >= the last record's delta.
  void set_last_offset_delta(int32_t last_offset_delta);

  int32_t records_count() const { return records_count_; }
  // Uncompressed size of the batch so far (header plus records).
  size_t uncompressed_size_bytes() const { return records_.size(); }

  // Finishes the batch: header, compression and CRC. The bytes stay valid until
  // the next reset() or append. A batch without records needs set_last_offset_delta()
  // (Kafka's cleaner keeps such empty batches to retain producer state).
  // Errors: kInvalidRecord (empty batch without lastOffsetDelta, lastOffsetDelta
  // below the last record's), kUnknownServerError if a compressor fails.
  Result<std::span<const uint8_t>> build();

 private:
  Status append_encoded(int32_t offset_delta, int64_t timestamp_ms, NullableBytes key,
                        NullableBytes value, std::span<const RecordHeader> headers);
  BatchHeader make_header(size_t size_bytes) const;

  BatchOptions options_;
  // Header space (kBatchHeaderSize bytes) followed by the uncompressed records;
  // uncompressed batches are finished in place.
  std::vector<uint8_t> records_;
  std::vector<uint8_t> compressed_;  // header + compressed records
  int32_t records_count_ = 0;
  int32_t last_delta_ = -1;
  int32_t forced_last_offset_delta_ = -1;
  bool has_forced_last_offset_delta_ = false;
  int64_t base_timestamp_ = -1;
  int64_t max_timestamp_ = -1;
};

}  // namespace fjord::records
