// The deterministic batches of the crash writer (see crash_writer.cc).
#pragma once

#include "records/batch.h"
#include "storage/log_config.h"
#include "storage/test_util.h"

namespace fjord::storage {

inline constexpr int64_t kCrashWriterNowMs = 1'700'000'000'000;

inline LogConfig crash_writer_config() {
  LogConfig config;
  config.segment_bytes = 16 * 1024;  // roll often
  config.index_interval_bytes = 1024;
  return config;
}

// The batch at `base_offset`, with baseOffset already set.
inline std::vector<uint8_t> crash_writer_batch(int64_t base_offset) {
  auto batch = testing::make_value_batch(1 + static_cast<int>(base_offset % 4),
                                         50 + static_cast<size_t>(base_offset % 200),
                                         kCrashWriterNowMs + base_offset,
                                         static_cast<uint32_t>(base_offset));
  records::set_base_offset(batch, base_offset);
  return batch;
}

}  // namespace fjord::storage
