// libFuzzer target: the __consumer_offsets codec on arbitrary bytes.
// 1. The input as concatenated batches, as read from the log (records alone, and
//    records with transaction markers); then again with every batch's CRC fixed
//    up, so that mutations get past the framing check.
// 2. The input split into a key (length from the first byte) and a value, and
//    the key alone as a tombstone. Whatever decodes must re-encode and decode
//    to the same record.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/endian.h"
#include "groups/offsets_records.h"
#include "records/batch.h"

using namespace fjord;
using namespace fjord::groups;

namespace {

void fix_crcs(std::vector<uint8_t>& log) {
  size_t position = 0;
  while (log.size() - position >= records::kBatchHeaderSize) {
    const std::span<uint8_t> rest = std::span<uint8_t>(log).subspan(position);
    const records::BatchHeader header = records::read_header(rest);
    const auto min_length =
        static_cast<int32_t>(records::kBatchHeaderSize - records::kBatchLengthPrefix);
    if (header.batch_length < min_length || header.size_bytes() > rest.size()) return;
    const std::span<uint8_t> batch = rest.first(header.size_bytes());
    store_be<uint32_t>(batch.data() + records::kCrcOffset, records::compute_batch_crc(batch));
    position += header.size_bytes();
  }
}

void check_round_trip(std::span<const uint8_t> key, std::optional<std::span<const uint8_t>> value) {
  auto decoded = decode(key, value);
  if (!decoded.ok() || !decoded->has_value()) return;
  const EncodedRecord encoded = encode(**decoded);
  std::optional<std::span<const uint8_t>> encoded_value;
  if (encoded.value) encoded_value = std::span<const uint8_t>(*encoded.value);
  auto again = decode(encoded.key, encoded_value);
  if (!again.ok() || !again->has_value() || **again != **decoded) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  volatile size_t sink = 0;
  const auto consume = [&sink](OffsetsTopicRecord&& record) { sink = sink + record.index(); };

  OffsetsLogVisitor visitor;
  visitor.on_record = [&](int64_t producer_id, OffsetsTopicRecord&& record) {
    sink = sink + record.index() + static_cast<size_t>(producer_id);
  };
  visitor.on_txn_marker = [&](int64_t producer_id, bool commit) {
    sink = sink + static_cast<size_t>(producer_id) + commit;
  };

  (void)for_each_record(input, consume);
  (void)for_each_entry(input, visitor);
  std::vector<uint8_t> fixed(input.begin(), input.end());
  fix_crcs(fixed);
  (void)for_each_record(fixed, consume);
  (void)for_each_entry(fixed, visitor);

  if (size == 0) return 0;
  const size_t key_bytes = std::min<size_t>(data[0], size - 1);
  const auto key = input.subspan(1, key_bytes);
  check_round_trip(key, input.subspan(1 + key_bytes));
  check_round_trip(key, std::nullopt);
  return 0;
}
