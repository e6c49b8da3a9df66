// libFuzzer target: produce validation and record iteration on arbitrary bytes.
// Seeds: fuzz/seeds/fuzz_batch/ (valid batches with each codec).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "records/record.h"
#include "records/validate.h"

using namespace fjord::records;

namespace {

// Touches every byte a record exposes, so ASan sees any out-of-bounds span.
size_t touch(const Record& record) {
  size_t sum = 0;
  auto add = [&](const NullableBytes& b) {
    if (b) {
      for (uint8_t byte : *b) sum += byte;
    }
  };
  add(record.key);
  add(record.value);
  for (const RecordHeader& header : record.headers) {
    add(header.key);
    add(header.value);
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  std::vector<uint8_t> scratch;
  ValidationLimits limits;
  limits.allow_multiple_batches = true;
  limits.allow_control_batches = true;
  limits.max_uncompressed_bytes = 4 * 1024 * 1024;
  volatile size_t sink = 0;
  auto validated = validate_produce_records(input, limits, scratch);
  if (validated.ok()) {
    for (const ValidatedBatch& batch : validated->batches) {
      auto bytes = input.subspan(batch.position_bytes, batch.size_bytes);
      auto count = for_each_record(bytes, scratch, limits.max_uncompressed_bytes,
                                   [&](const Record& r) { sink = sink + touch(r); });
      // Validation iterated the same records: iterating again must agree.
      if (!count.ok() || *count != batch.header.records_count) __builtin_trap();
    }
  }
  // Iterate without validation too (no CRC check), as storage would on a read.
  if (size >= kBatchHeaderSize) {
    auto ignored = for_each_record(input, scratch, limits.max_uncompressed_bytes,
                                   [&](const Record& r) { sink = sink + touch(r); });
    (void)ignored;
  }
  return 0;
}
