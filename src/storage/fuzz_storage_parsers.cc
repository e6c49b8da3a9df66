// libFuzzer target: the parsers that read bytes from disk without trusting them
// (index files, the records section seen by compaction) must never crash, and
// whatever they accept must satisfy their invariants.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "storage/index.h"
#include "storage/record_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fjord::storage;
  std::span<const uint8_t> bytes(data, size);
  const IndexBounds bounds{1u << 20, 1u << 16};
  if (auto index = OffsetIndex::parse(bytes, bounds)) {
    const auto& e = index->entries();
    for (size_t i = 1; i < e.size(); ++i) {
      if (e[i].relative_offset <= e[i - 1].relative_offset || e[i].position <= e[i - 1].position) {
        std::abort();
      }
    }
    if (index->serialize() != std::vector<uint8_t>(bytes.begin(), bytes.end())) std::abort();
  }
  if (auto index = TimeIndex::parse(bytes, bounds)) {
    if (index->serialize() != std::vector<uint8_t>(bytes.begin(), bytes.end())) std::abort();
  }
  std::vector<RecordView> records;
  const int32_t count = size > 0 ? data[0] % 16 : 0;
  if (scan_records(bytes.subspan(size > 0 ? 1 : 0), count, records)) {
    size_t total = 0;
    for (const auto& r : records) total += r.bytes.size();
    if (total + (size > 0 ? 1 : 0) != size || records.size() != static_cast<size_t>(count)) {
      std::abort();
    }
  }
  return 0;
}
