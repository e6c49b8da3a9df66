#include "storage/partition_log.h"

#include <gtest/gtest.h>

#include <chrono>

#include "storage/test_util.h"

namespace fjord::storage {
namespace {

// The offset part of PartitionLog::offset_for_timestamp.
std::optional<int64_t> offset_at(const PartitionLog& log, int64_t timestamp_ms) {
  auto found = log.offset_for_timestamp(timestamp_ms);
  if (!found) return std::nullopt;
  return found->second;
}

using testing::batch_headers;
using testing::make_value_batch;
using testing::read_all;
using testing::read_ranges;
using testing::TempDir;

constexpr int64_t kNow = 1'700'000'000'000;

LogConfig small_segments() {
  LogConfig config;
  config.segment_bytes = 4096;
  config.index_interval_bytes = 512;
  return config;
}

std::unique_ptr<PartitionLog> open_log(const std::filesystem::path& dir, const LogConfig& config,
                                       int64_t now_ms = kNow) {
  auto log = PartitionLog::open(dir, config, now_ms);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return std::move(log).value();
}

AppendResult append(PartitionLog& log, std::vector<uint8_t> batch, int64_t now_ms = kNow) {
  auto result = log.append(batch, now_ms);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return *result;
}

TEST(PartitionLog, NewLogIsEmpty) {
  TempDir dir;
  auto log = open_log(dir.path(), LogConfig());
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_EQ(log->log_end_offset(), 0);
  auto read = log->read(0, 1000, INT64_MAX);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->ranges.empty());
  EXPECT_EQ(log->read(1, 1000, INT64_MAX).code(), ErrorCode::kOffsetOutOfRange);
  EXPECT_FALSE(log->max_timestamp_and_offset());
  EXPECT_FALSE(offset_at(*log, 0));
}

TEST(PartitionLog, AppendAssignsOffsetsAndRoundTripsAcrossRolls) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  std::vector<uint8_t> expected;
  for (int i = 0; i < 50; ++i) {
    auto batch = make_value_batch(3, 100, kNow + i, i);
    auto result = append(*log, batch);
    EXPECT_EQ(result.base_offset, i * 3);
    EXPECT_EQ(result.last_offset, i * 3 + 2);
    EXPECT_EQ(result.log_append_time_ms, -1);
    records::set_base_offset(batch, i * 3);
    expected.insert(expected.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(log->log_end_offset(), 150);
  EXPECT_GT(log->segment_count(), 3u);
  EXPECT_EQ(read_all(*log), expected);
  EXPECT_EQ(log->size_bytes(), expected.size());
  // Reopen after a clean close: same bytes, same offsets.
  ASSERT_TRUE(log->close().ok());
  log = open_log(dir.path(), small_segments());
  EXPECT_EQ(log->log_end_offset(), 150);
  EXPECT_EQ(read_all(*log), expected);
  EXPECT_EQ(append(*log, make_value_batch(1, 10, kNow)).base_offset, 150);
}

TEST(PartitionLog, AppendOfSeveralConcatenatedBatches) {
  TempDir dir;
  auto log = open_log(dir.path(), LogConfig());
  auto a = make_value_batch(2, 10, kNow);
  auto b = make_value_batch(5, 10, kNow);
  std::vector<uint8_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  auto result = append(*log, both);
  EXPECT_EQ(result.base_offset, 0);
  EXPECT_EQ(result.last_offset, 6);
  auto headers = batch_headers(read_all(*log));
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].base_offset, 0);
  EXPECT_EQ(headers[1].base_offset, 2);
}

TEST(PartitionLog, RejectsBadFramingAndTooLargeBatches) {
  TempDir dir;
  LogConfig config;
  config.max_message_bytes = 200;
  auto log = open_log(dir.path(), config);
  auto big = make_value_batch(1, 500, kNow);
  EXPECT_EQ(log->append(big, kNow).code(), ErrorCode::kMessageTooLarge);
  auto truncated = make_value_batch(1, 10, kNow);
  truncated.pop_back();
  EXPECT_EQ(log->append(truncated, kNow).code(), ErrorCode::kCorruptMessage);
  EXPECT_EQ(log->log_end_offset(), 0);
}

TEST(PartitionLog, ReadHonoursMaxBytesKip74AndMaxOffset) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  const size_t batch_size = make_value_batch(2, 200, kNow).size();
  for (int i = 0; i < 20; ++i) append(*log, make_value_batch(2, 200, kNow));
  // KIP-74: the first batch even when larger than max_bytes.
  auto one = log->read(0, 1, INT64_MAX);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->bytes, batch_size);
  // Whole batches only, within the limit.
  auto three = log->read(4, batch_size * 3 + batch_size / 2, INT64_MAX);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->bytes, batch_size * 3);
  auto headers = batch_headers(read_ranges(*three));
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0].base_offset, 4);
  // An offset inside a batch returns that batch.
  auto inside = log->read(5, 1, INT64_MAX);
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(batch_headers(read_ranges(*inside))[0].base_offset, 4);
  // None starting at or beyond max_offset_exclusive.
  auto bounded = log->read(0, 1 << 20, 10);
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(batch_headers(read_ranges(*bounded)).size(), 5u);
  auto nothing = log->read(10, 1 << 20, 10);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->ranges.empty());
  // At the log end: nothing; beyond: out of range.
  auto at_end = log->read(40, 1 << 20, INT64_MAX);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->ranges.empty());
  EXPECT_EQ(log->read(41, 1 << 20, INT64_MAX).code(), ErrorCode::kOffsetOutOfRange);
}

TEST(PartitionLog, ReadFromEveryOffsetAcrossSegments) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  for (int i = 0; i < 40; ++i) append(*log, make_value_batch(3, 150, kNow + i, i));
  ASSERT_GT(log->segment_count(), 5u);
  for (int64_t offset = 0; offset < log->log_end_offset(); ++offset) {
    auto result = log->read(offset, 1, INT64_MAX);
    ASSERT_TRUE(result.ok());
    auto headers = batch_headers(read_ranges(*result));
    ASSERT_EQ(headers.size(), 1u);
    EXPECT_EQ(headers[0].base_offset, offset / 3 * 3);
  }
}

TEST(PartitionLog, OffsetForTimestampAndMaxTimestamp) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  // Timestamps 1000, 1010, ... with one out-of-order batch at index 7 (ts 5000).
  for (int i = 0; i < 30; ++i) {
    const int64_t ts = i == 7 ? 5000 : 1000 + 10 * i;
    append(*log, make_value_batch(2, 150, ts, i));
  }
  EXPECT_EQ(offset_at(*log, 0), 0);
  EXPECT_EQ(offset_at(*log, 1000), 0);
  EXPECT_EQ(offset_at(*log, 1001), 2);
  EXPECT_EQ(offset_at(*log, 1050), 10);
  EXPECT_EQ(offset_at(*log, 1075), 14);  // batch 7 (ts 5000) is the first >= 1075
  EXPECT_EQ(offset_at(*log, 1290), 14);
  EXPECT_EQ(offset_at(*log, 5000), 14);
  EXPECT_FALSE(offset_at(*log, 5001));
  auto max = log->max_timestamp_and_offset();
  ASSERT_TRUE(max);
  EXPECT_EQ(max->first, 5000);
  EXPECT_EQ(max->second, 14);  // the first record carrying it
  // The same answers from the index files after a reopen.
  ASSERT_TRUE(log->close().ok());
  log = open_log(dir.path(), small_segments());
  EXPECT_EQ(offset_at(*log, 1075), 14);
  EXPECT_EQ(offset_at(*log, 1001), 2);
  EXPECT_EQ(log->max_timestamp_and_offset(), max);
}

TEST(PartitionLog, TimestampLookupsFindTheExactRecord) {
  TempDir dir;
  auto log = open_log(dir.path(), LogConfig());
  append(*log, make_value_batch(2, 10, 500));
  // Offsets 2..5, timestamps 1000, 1030, 1010, 1020; then a gzip batch 6..8 at 2000, 2005, 2001.
  append(*log, testing::make_batch({{"a", "1", 0}, {"b", "2", 30}, {"c", "3", 10}, {"d", "4", 20}},
                                   1000));
  append(*log, testing::make_batch({{"e", "5", 0}, {"f", "6", 5}, {"g", "7", 1}}, 2000,
                                   records::Compression::kGzip));
  EXPECT_EQ(offset_at(*log, 1000), 2);
  EXPECT_EQ(offset_at(*log, 1001), 3);
  EXPECT_EQ(offset_at(*log, 1031), 6);
  EXPECT_EQ(offset_at(*log, 2002), 7);
  EXPECT_FALSE(offset_at(*log, 2006));
  EXPECT_EQ(log->max_timestamp_and_offset(), std::make_pair(int64_t{2005}, int64_t{7}));
}

TEST(PartitionLog, LogAppendTimeRewritesMaxTimestampAndCrc) {
  TempDir dir;
  LogConfig config;
  config.log_append_time = true;
  auto log = open_log(dir.path(), config);
  auto result = append(*log, make_value_batch(2, 10, 5), 123456);
  EXPECT_EQ(result.log_append_time_ms, 123456);
  auto bytes = read_all(*log);
  auto framed = records::check_batch_framing(bytes);
  ASSERT_TRUE(framed.ok());
  EXPECT_EQ(framed->max_timestamp, 123456);
  EXPECT_TRUE(framed->attributes & records::attr::kLogAppendTime);
}

TEST(PartitionLog, RollsBySegmentMs) {
  TempDir dir;
  LogConfig config;
  config.segment_ms = 1000;
  auto log = open_log(dir.path(), config, kNow);
  append(*log, make_value_batch(1, 10, kNow), kNow);
  append(*log, make_value_batch(1, 10, kNow), kNow + 999);
  EXPECT_EQ(log->segment_count(), 1u);
  append(*log, make_value_batch(1, 10, kNow), kNow + 1000);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(log->segment_base_offsets().back(), 2);
}

TEST(PartitionLog, RollsWhenTheIndexIsFull) {
  TempDir dir;
  LogConfig config;
  config.index_interval_bytes = 1;      // an index entry per batch
  config.segment_index_bytes = 8 * 4;  // four entries
  auto log = open_log(dir.path(), config);
  for (int i = 0; i < 10; ++i) append(*log, make_value_batch(1, 10, kNow + i));
  EXPECT_GE(log->segment_count(), 3u);
  EXPECT_EQ(read_all(*log).size(), 10 * make_value_batch(1, 10, kNow).size());
}

TEST(PartitionLog, RetentionByTime) {
  TempDir dir;
  LogConfig config = small_segments();
  config.retention_ms = 10'000;
  auto log = open_log(dir.path(), config);
  for (int i = 0; i < 40; ++i) append(*log, make_value_batch(2, 200, kNow + i * 500, i));
  const size_t before = log->segment_count();
  ASSERT_GT(before, 4u);
  // At kNow + 15s, batches with timestamps < kNow + 5s are expired.
  log->enforce_retention(kNow + 15'000);
  EXPECT_LT(log->segment_count(), before);
  EXPECT_GT(log->log_start_offset(), 0);
  EXPECT_EQ(log->log_start_offset(), log->segment_base_offsets().front());
  EXPECT_EQ(log->read(0, 100, INT64_MAX).code(), ErrorCode::kOffsetOutOfRange);
  // Every remaining segment holds a batch at or after the retention horizon.
  auto headers = batch_headers(read_all(*log));
  ASSERT_FALSE(headers.empty());
  int64_t max_ts_first_segment = 0;
  for (const auto& h : headers) {
    if (h.base_offset < log->segment_base_offsets().at(1)) {
      max_ts_first_segment = std::max(max_ts_first_segment, h.max_timestamp);
    }
  }
  EXPECT_GE(max_ts_first_segment, kNow + 5'000);
  // Everything expired: the active segment is rolled and dropped too.
  log->enforce_retention(kNow + 1'000'000);
  EXPECT_EQ(log->log_start_offset(), 80);
  EXPECT_EQ(log->log_end_offset(), 80);
  EXPECT_EQ(log->size_bytes(), 0u);
  EXPECT_EQ(append(*log, make_value_batch(1, 10, kNow)).base_offset, 80);
  // The log start survives a reopen.
  ASSERT_TRUE(log->close().ok());
  log = open_log(dir.path(), config);
  EXPECT_EQ(log->log_start_offset(), 80);
  EXPECT_EQ(log->log_end_offset(), 81);
}

TEST(PartitionLog, RetentionBySize) {
  TempDir dir;
  LogConfig config = small_segments();
  config.retention_ms = -1;
  config.retention_bytes = 8000;
  auto log = open_log(dir.path(), config);
  for (int i = 0; i < 40; ++i) append(*log, make_value_batch(2, 200, kNow, i));
  ASSERT_GT(log->size_bytes(), 16000u);
  log->enforce_retention(kNow);
  EXPECT_GE(log->size_bytes(), 8000u - 4096u);
  EXPECT_LE(log->size_bytes(), 8000u + 4096u);
  EXPECT_EQ(log->log_start_offset(), log->segment_base_offsets().front());
  EXPECT_EQ(read_all(*log).size(), log->size_bytes());
}

TEST(PartitionLog, CompactPolicyIgnoresRetention) {
  TempDir dir;
  LogConfig config = small_segments();
  config.retention_ms = 1;
  config.cleanup_policy = CleanupPolicy::kCompact;
  auto log = open_log(dir.path(), config);
  for (int i = 0; i < 20; ++i) append(*log, make_value_batch(2, 200, kNow, i));
  log->enforce_retention(kNow + 1'000'000);
  EXPECT_EQ(log->log_start_offset(), 0);
}

TEST(PartitionLog, DeleteRecordsBefore) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  for (int i = 0; i < 30; ++i) append(*log, make_value_batch(2, 200, kNow, i));
  const size_t segments = log->segment_count();
  auto result = log->delete_records_before(25);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 25);
  EXPECT_EQ(log->log_start_offset(), 25);
  EXPECT_LT(log->segment_count(), segments);
  EXPECT_LE(log->segment_base_offsets().front(), 25);
  EXPECT_EQ(log->read(24, 100, INT64_MAX).code(), ErrorCode::kOffsetOutOfRange);
  auto read = log->read(25, 1, INT64_MAX);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(batch_headers(read_ranges(*read))[0].base_offset, 24);  // the batch holding 25
  // Lower offsets change nothing; beyond the end is an error.
  EXPECT_EQ(*log->delete_records_before(10), 25);
  EXPECT_EQ(log->delete_records_before(61).code(), ErrorCode::kOffsetOutOfRange);
  EXPECT_EQ(offset_at(*log, 0), 25);
  // Durable across a crash (no close).
  log.reset();
  log = open_log(dir.path(), small_segments());
  EXPECT_EQ(log->log_start_offset(), 25);
  EXPECT_EQ(*log->delete_records_before(60), 60);
  EXPECT_EQ(log->log_end_offset(), 60);
}

TEST(PartitionLog, SyncNowAndFlushPolicy) {
  TempDir dir;
  LogConfig config;
  config.flush_messages = 5;
  config.flush_ms = 1000;
  auto log = open_log(dir.path(), config);
  EXPECT_FALSE(log->needs_flush_by_policy(kNow));
  append(*log, make_value_batch(2, 10, kNow), kNow);
  EXPECT_EQ(log->durable_offset(), 0);
  EXPECT_FALSE(log->needs_flush_by_policy(kNow));
  EXPECT_TRUE(log->needs_flush_by_policy(kNow + 1000));  // flush.ms
  append(*log, make_value_batch(3, 10, kNow), kNow);
  EXPECT_TRUE(log->needs_flush_by_policy(kNow));  // flush.messages
  auto handle = log->prepare_sync();
  EXPECT_EQ(handle.target_offset, 5);
  EXPECT_FALSE(handle.fds.empty());
  EXPECT_EQ(handle.fds.size(), handle.files.size());
  EXPECT_FALSE(log->needs_flush_by_policy(kNow + 5000));  // a sync is under way
  ASSERT_TRUE(log->sync_now().ok());
  EXPECT_EQ(log->durable_offset(), 5);
  EXPECT_FALSE(log->needs_flush_by_policy(kNow + 5000));
}

TEST(PartitionLog, ReadRangesStayValidAfterSegmentDeletion) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  for (int i = 0; i < 30; ++i) append(*log, make_value_batch(2, 200, kNow, i));
  auto read = log->read(0, 1000, INT64_MAX);
  ASSERT_TRUE(read.ok());
  auto before = read_ranges(*read);
  ASSERT_TRUE(log->delete_records_before(50).ok());
  EXPECT_EQ(read_ranges(*read), before);  // the owner keeps the unlinked file
}

int open_descriptors_under(const std::filesystem::path& dir) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().rfind(dir.string(), 0) == 0) ++count;
  }
  return count;
}

TEST(PartitionLog, ReleaseIdleFilesClosesDescriptorsOfDurableSegments) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  for (int i = 0; i < 30; ++i) append(*log, make_value_batch(2, 200, kNow, i));
  read_all(*log);
  EXPECT_GT(open_descriptors_under(dir.path()), 0);
  log->release_idle_files();
  EXPECT_GT(open_descriptors_under(dir.path()), 0);  // unsynced data keeps its files open
  ASSERT_TRUE(log->sync_now().ok());
  log->release_idle_files();
  EXPECT_EQ(open_descriptors_under(dir.path()), 0);
  // Reads and appends reopen what they need.
  EXPECT_EQ(append(*log, make_value_batch(1, 10, kNow)).base_offset, 60);
  EXPECT_EQ(batch_headers(read_all(*log)).size(), 31u);
  ASSERT_TRUE(log->close().ok());
  EXPECT_EQ(open_descriptors_under(dir.path()), 0);
}

}  // namespace
}  // namespace fjord::storage

namespace fjord::storage {
namespace {

// Not a test of speed (no assertion on time): prints appends and reads per
// second for 1 KiB batches without fsync. Run with --gtest_also_run_disabled_tests.
TEST(PartitionLog, DISABLED_ThroughputReport) {
  TempDir dir;
  LogConfig config;
  config.segment_bytes = 64 << 20;
  auto log = open_log(dir.path(), config);
  const auto batch = make_value_batch(1, 1000, kNow);
  constexpr int kBatches = 200'000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kBatches; ++i) {
    auto copy = batch;
    ASSERT_TRUE(log->append(copy, kNow).ok());
  }
  const double append_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  int64_t offset = 0;
  size_t bytes = 0;
  while (offset < log->log_end_offset()) {
    auto read = log->read(offset, 1 << 20, INT64_MAX);
    ASSERT_TRUE(read.ok());
    bytes += read->bytes;
    offset += static_cast<int64_t>(read->bytes / batch.size());
  }
  const double read_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("append: %.0f batches/s (%.0f MB/s); read (ranges only): %.0f MB/s\n",
              kBatches / append_s, kBatches * batch.size() / append_s / 1e6, bytes / read_s / 1e6);
}

}  // namespace
}  // namespace fjord::storage
