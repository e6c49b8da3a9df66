// libFuzzer target: a producer snapshot read from disk is untrusted. from_snapshot
// must never crash, and whatever it accepts must serialize back to the same bytes.
// Each input is tried as is and with its CRC field corrected, so that the fuzzer
// reaches the entry parser instead of stopping at the checksum.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/endian.h"
#include "records/crc32c.h"
#include "storage/producer_state.h"

namespace {

void parse_and_check(const std::vector<uint8_t>& bytes) {
  using fjord::storage::ProducerStateTable;
  auto table = ProducerStateTable::from_snapshot(bytes);
  if (!table.ok()) return;
  auto again = table->snapshot_bytes();
  if (!again.ok() || *again != bytes) std::abort();
  table->expire(0, 86400000);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  parse_and_check(bytes);
  constexpr size_t kCrcEnd = 6;  // version u16, crc u32
  if (bytes.size() >= kCrcEnd) {
    const uint32_t crc = fjord::records::crc32c(std::span<const uint8_t>(bytes).subspan(kCrcEnd));
    fjord::store_be<uint32_t>(bytes.data() + 2, crc);
    parse_and_check(bytes);
  }
  return 0;
}
