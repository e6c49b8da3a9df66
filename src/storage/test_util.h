// Test helpers for storage tests: record batch construction (uncompressed or
// compressed), temporary directories, and reading back FileRanges.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "records/batch.h"
#include "storage/partition_log.h"

namespace fjord::storage::testing {

struct TestRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp_delta_ms = 0;
};

// One v2 batch with baseOffset 0 and a valid CRC.
std::vector<uint8_t> make_batch(const std::vector<TestRecord>& records, int64_t base_timestamp_ms,
                                records::Compression compression = records::Compression::kNone,
                                int16_t extra_attributes = 0);
// `count` keyless records of `value_bytes` bytes each, filled from `seed`.
std::vector<uint8_t> make_value_batch(int count, size_t value_bytes, int64_t timestamp_ms,
                                      uint32_t seed = 0);

// Records (key, value-or-null) of stored batches, in offset order.
struct StoredRecord {
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
};
std::vector<StoredRecord> decode_records(const std::vector<uint8_t>& batches);
std::vector<records::BatchHeader> batch_headers(const std::vector<uint8_t>& batches);

std::vector<uint8_t> read_ranges(const ReadResult& result);
// Everything from `offset` to the log end.
std::vector<uint8_t> read_all(const PartitionLog& log, int64_t offset = -1);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace fjord::storage::testing
