// libFuzzer target: the __transaction_state codec on arbitrary bytes.
// 1. The input as concatenated batches, as read from the log; then again with
//    every batch's CRC fixed up, so that mutations get past the framing check.
// 2. The input split into a key (length from the first byte) and a value, and
//    the key alone as a tombstone. Whatever decodes must re-encode and decode
//    to the same record (less what v0 does not hold: the last producer id, and
//    the partitions of an Empty transaction).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/endian.h"
#include "records/batch.h"
#include "txn/txn_records.h"

using namespace fjord;
using namespace fjord::txn;

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

TxnLogRecord as_written(TxnLogRecord record) {
  if (record.value) {
    record.value->last_producer_id = kNoProducerId;
    if (record.value->state == TxnState::kEmpty) record.value->partitions.clear();
  }
  return record;
}

void check_round_trip(std::span<const uint8_t> key, std::optional<std::span<const uint8_t>> value) {
  auto decoded = decode(key, value);
  if (!decoded.ok()) return;
  const EncodedRecord encoded = encode(*decoded);
  std::optional<std::span<const uint8_t>> encoded_value;
  if (encoded.value) encoded_value = std::span<const uint8_t>(*encoded.value);
  if (decoded->value.has_value() != encoded_value.has_value()) __builtin_trap();
  auto again = decode(encoded.key, encoded_value);
  if (!again.ok() || as_written(*again) != as_written(*decoded)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  volatile size_t sink = 0;
  const auto consume = [&sink](TxnLogRecord&& record) {
    sink = sink + record.transactional_id.size();
  };

  (void)for_each_record(input, consume);
  std::vector<uint8_t> fixed(input.begin(), input.end());
  fix_crcs(fixed);
  (void)for_each_record(fixed, consume);

  if (size == 0) return 0;
  const size_t key_bytes = std::min<size_t>(data[0], size - 1);
  const auto key = input.subspan(1, key_bytes);
  check_round_trip(key, input.subspan(1 + key_bytes));
  check_round_trip(key, std::nullopt);
  return 0;
}
