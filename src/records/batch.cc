#include "records/batch.h"

#include "common/endian.h"
#include "records/crc32c.h"

namespace fjord::records {

BatchHeader read_header(std::span<const uint8_t> d) {
  BatchHeader h;
  h.base_offset = load_be<int64_t>(d.data() + 0);
  h.batch_length = load_be<int32_t>(d.data() + 8);
  h.partition_leader_epoch = load_be<int32_t>(d.data() + 12);
  h.magic = static_cast<int8_t>(d[16]);
  h.crc = load_be<uint32_t>(d.data() + 17);
  h.attributes = load_be<int16_t>(d.data() + 21);
  h.last_offset_delta = load_be<int32_t>(d.data() + 23);
  h.base_timestamp = load_be<int64_t>(d.data() + 27);
  h.max_timestamp = load_be<int64_t>(d.data() + 35);
  h.producer_id = load_be<int64_t>(d.data() + 43);
  h.producer_epoch = load_be<int16_t>(d.data() + 51);
  h.base_sequence = load_be<int32_t>(d.data() + 53);
  h.records_count = load_be<int32_t>(d.data() + 57);
  return h;
}

void write_header(const BatchHeader& h, std::span<uint8_t> d) {
  store_be<int64_t>(d.data() + 0, h.base_offset);
  store_be<int32_t>(d.data() + 8, h.batch_length);
  store_be<int32_t>(d.data() + 12, h.partition_leader_epoch);
  d[16] = static_cast<uint8_t>(h.magic);
  store_be<uint32_t>(d.data() + 17, h.crc);
  store_be<int16_t>(d.data() + 21, h.attributes);
  store_be<int32_t>(d.data() + 23, h.last_offset_delta);
  store_be<int64_t>(d.data() + 27, h.base_timestamp);
  store_be<int64_t>(d.data() + 35, h.max_timestamp);
  store_be<int64_t>(d.data() + 43, h.producer_id);
  store_be<int16_t>(d.data() + 51, h.producer_epoch);
  store_be<int32_t>(d.data() + 53, h.base_sequence);
  store_be<int32_t>(d.data() + 57, h.records_count);
}

uint32_t compute_batch_crc(std::span<const uint8_t> batch) {
  return crc32c(batch.subspan(kAttributesOffset));
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
  store_be<int64_t>(batch.data(), base_offset);
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
  store_be<int32_t>(batch.data() + 12, epoch);
}

Result<BatchHeader> check_batch_framing(std::span<const uint8_t> data) {
  if (data.size() <= kMagicOffset) {
    return Error{ErrorCode::kCorruptMessage, "record batch shorter than its header"};
  }
  const auto magic = static_cast<int8_t>(data[kMagicOffset]);
  if (magic != 2) {
    return Error{ErrorCode::kUnsupportedForMessageFormat,
                 "only record batch format v2 (magic 2) is supported"};
  }
  if (data.size() < kBatchHeaderSize) {
    return Error{ErrorCode::kCorruptMessage, "record batch shorter than its header"};
  }
  BatchHeader h = read_header(data);
  if (h.batch_length < static_cast<int32_t>(kBatchHeaderSize - kBatchLengthPrefix) ||
      h.size_bytes() > data.size()) {
    return Error{ErrorCode::kCorruptMessage, "record batch length out of bounds"};
  }
  if (compute_batch_crc(data.first(h.size_bytes())) != h.crc) {
    return Error{ErrorCode::kCorruptMessage, "record batch CRC mismatch"};
  }
  return h;
}

}  // namespace fjord::records
