#include "records/builder.h"

#include <cstring>
#include <string>

#include "common/endian.h"
#include "records/codec.h"
#include "records/varint.h"

namespace fjord::records {
namespace {

size_t nullable_size(const NullableBytes& bytes) {
  if (!bytes) return varint::zigzag_size(-1);
  return varint::zigzag_size(static_cast<int64_t>(bytes->size())) + bytes->size();
}

uint8_t* write_nullable(uint8_t* p, const NullableBytes& bytes) {
  if (!bytes) return varint::write_zigzag(p, -1);
  p = varint::write_zigzag(p, static_cast<int64_t>(bytes->size()));
  if (!bytes->empty()) std::memcpy(p, bytes->data(), bytes->size());
  return p + bytes->size();
}

// Java's wrapping long arithmetic, without C++'s undefined signed overflow.
int64_t wrapping_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

}  // namespace

BatchBuilder::BatchBuilder(const BatchOptions& options) { reset(options); }

void BatchBuilder::reset(const BatchOptions& options) {
  options_ = options;
  records_.resize(kBatchHeaderSize);
  compressed_.clear();
  records_count_ = 0;
  last_delta_ = -1;
  forced_last_offset_delta_ = -1;
  has_forced_last_offset_delta_ = false;
  base_timestamp_ = -1;
  max_timestamp_ = -1;
}

Status BatchBuilder::append(int64_t timestamp_ms, NullableBytes key, NullableBytes value,
                            std::span<const RecordHeader> headers) {
  if (last_delta_ == INT32_MAX) return Error{ErrorCode::kMessageTooLarge, "offset delta overflow"};
  return append_encoded(last_delta_ + 1, timestamp_ms, key, value, headers);
}

Status BatchBuilder::append_with_offset_delta(int32_t offset_delta, int64_t timestamp_ms,
                                              NullableBytes key, NullableBytes value,
                                              std::span<const RecordHeader> headers) {
  if (offset_delta <= last_delta_) {
    return Error{ErrorCode::kInvalidRecord, "offset delta " + std::to_string(offset_delta) +
                                                " not above the previous " +
                                                std::to_string(last_delta_)};
  }
  return append_encoded(offset_delta, timestamp_ms, key, value, headers);
}

Status BatchBuilder::append_record(const Record& record, int64_t source_base_timestamp) {
  const auto timestamp = static_cast<int64_t>(static_cast<uint64_t>(source_base_timestamp) +
                                              static_cast<uint64_t>(record.timestamp_delta));
  // Headers are re-encoded from the parsed list; few records have many headers,
  // so a small fixed stack buffer covers the common case without allocating.
  constexpr size_t kStackHeaders = 16;
  RecordHeader stack[kStackHeaders];
  std::vector<RecordHeader> heap;
  std::span<const RecordHeader> headers;
  if (static_cast<size_t>(record.headers.size()) <= kStackHeaders) {
    size_t i = 0;
    for (const RecordHeader& h : record.headers) stack[i++] = h;
    headers = std::span<const RecordHeader>(stack, i);
  } else {
    heap.assign(record.headers.begin(), record.headers.end());
    headers = heap;
  }
  return append_with_offset_delta(record.offset_delta, timestamp, record.key, record.value,
                                  headers);
}

void BatchBuilder::set_last_offset_delta(int32_t last_offset_delta) {
  forced_last_offset_delta_ = last_offset_delta;
  has_forced_last_offset_delta_ = true;
}

Status BatchBuilder::append_encoded(int32_t offset_delta, int64_t timestamp_ms, NullableBytes key,
                                    NullableBytes value, std::span<const RecordHeader> headers) {
  const int64_t base = records_count_ == 0 ? timestamp_ms : base_timestamp_;
  const int64_t timestamp_delta = wrapping_sub(timestamp_ms, base);
  size_t body = 1 + varint::zigzag_size(timestamp_delta) + varint::zigzag_size(offset_delta) +
                nullable_size(key) + nullable_size(value) +
                varint::zigzag_size(static_cast<int64_t>(headers.size()));
  for (const RecordHeader& h : headers) {
    body += nullable_size(h.key) + nullable_size(h.value);
  }
  const size_t total = varint::zigzag_size(static_cast<int64_t>(body)) + body;
  const size_t used = records_.size() - kBatchHeaderSize;
  if (body > INT32_MAX || total > options_.max_records_bytes - used ||
      used + total > options_.max_records_bytes) {
    return Error{
        ErrorCode::kMessageTooLarge,
        "record batch would exceed " + std::to_string(options_.max_records_bytes) + " bytes"};
  }
  const size_t at = records_.size();
  records_.resize(at + total);
  uint8_t* p = records_.data() + at;
  p = varint::write_zigzag(p, static_cast<int64_t>(body));
  *p++ = 0;  // record attributes: unused
  p = varint::write_zigzag(p, timestamp_delta);
  p = varint::write_zigzag(p, offset_delta);
  p = write_nullable(p, key);
  p = write_nullable(p, value);
  p = varint::write_zigzag(p, static_cast<int64_t>(headers.size()));
  for (const RecordHeader& h : headers) {
    p = write_nullable(p, h.key);
    p = write_nullable(p, h.value);
  }
  if (records_count_ == 0 || timestamp_ms > max_timestamp_) max_timestamp_ = timestamp_ms;
  if (records_count_ == 0) base_timestamp_ = timestamp_ms;
  ++records_count_;
  last_delta_ = offset_delta;
  return {};
}

BatchHeader BatchBuilder::make_header(size_t size_bytes) const {
  BatchHeader h;
  h.base_offset = options_.base_offset;
  h.batch_length = static_cast<int32_t>(size_bytes - kBatchLengthPrefix);
  h.partition_leader_epoch = options_.partition_leader_epoch;
  h.magic = 2;
  h.attributes = static_cast<int16_t>(options_.compression);
  if (options_.log_append_time) h.attributes |= attr::kLogAppendTime;
  if (options_.transactional) h.attributes |= attr::kTransactional;
  if (options_.control) h.attributes |= attr::kControl;
  h.last_offset_delta = has_forced_last_offset_delta_ ? forced_last_offset_delta_ : last_delta_;
  h.base_timestamp = base_timestamp_;
  h.max_timestamp = options_.log_append_time ? options_.log_append_time_ms : max_timestamp_;
  h.producer_id = options_.producer_id;
  h.producer_epoch = options_.producer_epoch;
  h.base_sequence = options_.base_sequence;
  h.records_count = records_count_;
  return h;
}

Result<std::span<const uint8_t>> BatchBuilder::build() {
  if (records_count_ == 0 && !has_forced_last_offset_delta_) {
    return Error{ErrorCode::kInvalidRecord, "an empty batch needs set_last_offset_delta()"};
  }
  if (has_forced_last_offset_delta_ && forced_last_offset_delta_ < last_delta_) {
    return Error{ErrorCode::kInvalidRecord, "lastOffsetDelta below the last record's delta"};
  }
  std::vector<uint8_t>* out = &records_;
  if (options_.compression != Compression::kNone) {
    compressed_.resize(kBatchHeaderSize);
    const std::span<const uint8_t> plain(records_.data() + kBatchHeaderSize,
                                         records_.size() - kBatchHeaderSize);
    if (Status s = compress_append(options_.compression, plain, compressed_); !s) {
      return s.error();
    }
    out = &compressed_;
  }
  if (out->size() - kBatchLengthPrefix > INT32_MAX) {
    return Error{ErrorCode::kMessageTooLarge, "record batch exceeds 2 GiB"};
  }
  write_header(make_header(out->size()), *out);
  store_be<uint32_t>(out->data() + kCrcOffset, compute_batch_crc(*out));
  return std::span<const uint8_t>(*out);
}

}  // namespace fjord::records
