// libFuzzer target: a producer snapshot read from disk is untrusted. from_snapshot
// must never crash, and whatever it accepts must serialize back to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "storage/producer_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fjord::storage;
  std::span<const uint8_t> bytes(data, size);
  auto table = ProducerStateTable::from_snapshot(bytes);
  if (table.ok()) {
    auto again = table->snapshot_bytes();
    if (!again.ok() || *again != std::vector<uint8_t>(bytes.begin(), bytes.end())) std::abort();
    table->expire(0, 86400000);
  }
  return 0;
}
