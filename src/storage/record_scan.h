// The records of one batch as storage needs them (built on records::RecordReader):
// compaction needs each record's bytes, offset delta, key and whether the value
// is null. Record bytes are never re-encoded, only copied.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace fjord::storage {

struct RecordView {
  std::span<const uint8_t> bytes;  // the whole record, length prefix included
  int32_t offset_delta = 0;
  int64_t timestamp_delta_ms = 0;
  bool has_key = false;
  std::span<const uint8_t> key;
  bool has_value = false;
};

// Splits `section` (uncompressed records) into exactly `count` records; false if
// the bytes do not hold that many well-formed records.
bool scan_records(std::span<const uint8_t> section, int32_t count, std::vector<RecordView>& out);

}  // namespace fjord::storage
