#include "storage/compaction.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include <fmt/format.h>

#include "storage/partition_log.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

using testing::batch_headers;
using testing::decode_records;
using testing::make_batch;
using testing::read_all;
using testing::read_ranges;
using testing::StoredRecord;
using testing::TempDir;
using testing::TestRecord;

constexpr int64_t kNow = 1'700'000'000'000;

LogConfig compact_config() {
  LogConfig config;
  config.cleanup_policy = CleanupPolicy::kCompact;
  config.segment_bytes = 1024;
  config.index_interval_bytes = 128;
  config.min_cleanable_dirty_ratio = 0.01;
  config.delete_retention_ms = 1000;
  return config;
}

struct Written {
  int64_t offset;
  std::string key;
  std::optional<std::string> value;
};

// Appends `rounds` rounds over keys k0..k7, alternating plain, gzip and lz4 batches
// of 1-3 records; k3 gets a tombstone in round `tombstone_round`.
std::vector<Written> write_rounds(PartitionLog& log, int first_round, int rounds,
                                  int tombstone_round, int64_t timestamp_ms) {
  std::vector<Written> written;
  const records::Compression codecs[] = {records::Compression::kNone,
                                         records::Compression::kGzip, records::Compression::kLz4};
  for (int r = first_round; r < first_round + rounds; ++r) {
    for (int k = 0; k < 8;) {
      const int n = std::min(1 + (k + r) % 3, 8 - k);
      std::vector<TestRecord> recs;
      for (int j = 0; j < n; ++j, ++k) {
        std::optional<std::string> value = fmt::format("value-{}-{}", r, k);
        if (k == 3 && r == tombstone_round) value.reset();
        recs.push_back({fmt::format("k{}", k), value, 0});
      }
      auto batch = make_batch(recs, timestamp_ms, codecs[(k + r) % 3]);
      auto result = log.append(batch, timestamp_ms);
      EXPECT_TRUE(result.ok());
      for (int j = 0; j < n; ++j) {
        written.push_back({result->base_offset + j, *recs[j].key, recs[j].value});
      }
    }
  }
  return written;
}

// What compaction of the segments below `end` should leave.
std::vector<Written> expected_after(const std::vector<Written>& all, int64_t end,
                                    bool tombstones_expired) {
  std::map<std::string, int64_t> latest;
  for (const auto& w : all) {
    if (w.offset < end) latest[w.key] = w.offset;
  }
  std::vector<Written> out;
  for (const auto& w : all) {
    const bool cleaned = w.offset < end;
    if (cleaned && latest[w.key] != w.offset) continue;
    if (cleaned && !w.value && tombstones_expired) continue;
    out.push_back(w);
  }
  return out;
}

void expect_records(const PartitionLog& log, const std::vector<Written>& expected) {
  const auto stored = decode_records(read_all(log));
  ASSERT_EQ(stored.size(), expected.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].offset, expected[i].offset);
    EXPECT_EQ(stored[i].key, expected[i].key);
    EXPECT_EQ(stored[i].value, expected[i].value);
  }
}

std::unique_ptr<PartitionLog> open_log(const std::filesystem::path& dir, const LogConfig& c) {
  return std::move(PartitionLog::open(dir, c, kNow)).value();
}

void compact(PartitionLog& log, int64_t now_ms) {
  auto job = log.prepare_compaction(now_ms);
  ASSERT_NE(job, nullptr);
  ASSERT_TRUE(job->run().ok());
  ASSERT_TRUE(log.install_compaction(std::move(job)).ok());
}

TEST(Compaction, LatestPerKeyWinsAndOffsetsArePreserved) {
  TempDir dir;
  auto log = open_log(dir.path(), compact_config());
  auto all = write_rounds(*log, 0, 12, /*tombstone_round=*/6, kNow);
  const int64_t end_before = log->log_end_offset();
  ASSERT_GT(log->segment_count(), 4u);
  const int64_t active_base = log->segment_base_offsets().back();
  const auto old_read = log->read(0, 1 << 20, INT64_MAX);
  const auto old_bytes = read_ranges(*old_read);

  compact(*log, kNow + 10);
  EXPECT_EQ(log->cleaner_offset(), active_base);
  EXPECT_EQ(log->log_end_offset(), end_before);
  EXPECT_EQ(log->log_start_offset(), 0);
  auto expected = expected_after(all, active_base, /*tombstones_expired=*/false);
  expect_records(*log, expected);
  EXPECT_LT(log->size_bytes(), old_bytes.size());
  // A fetch in flight still reads the old files.
  EXPECT_EQ(read_ranges(*old_read), old_bytes);

  // Reading from any offset returns the next surviving batch.
  const auto surviving = batch_headers(read_all(*log));
  for (int64_t offset = 0; offset < log->log_end_offset(); ++offset) {
    auto result = log->read(offset, 1, INT64_MAX);
    ASSERT_TRUE(result.ok());
    auto got = batch_headers(read_ranges(*result));
    ASSERT_EQ(got.size(), 1u);
    auto want = std::find_if(surviving.begin(), surviving.end(),
                             [offset](const auto& h) { return h.last_offset() >= offset; });
    ASSERT_NE(want, surviving.end());
    EXPECT_EQ(got[0].base_offset, want->base_offset) << "offset " << offset;
  }
  // Batches keep their base offset and lastOffsetDelta and stay valid.
  for (const auto& h : surviving) EXPECT_EQ(h.magic, 2);
  auto bytes = read_all(*log);
  for (size_t at = 0; at < bytes.size();) {
    auto framed = records::check_batch_framing(std::span<const uint8_t>(bytes).subspan(at));
    ASSERT_TRUE(framed.ok());
    at += framed->size_bytes();
  }

  // Same after a reopen (the cleaned index files were installed).
  ASSERT_TRUE(log->close().ok());
  log = open_log(dir.path(), compact_config());
  expect_records(*log, expected);
  EXPECT_EQ(log->cleaner_offset(), active_base);
}

TEST(Compaction, TombstonesGoAfterDeleteRetention) {
  TempDir dir;
  auto log = open_log(dir.path(), compact_config());
  auto all = write_rounds(*log, 0, 8, /*tombstone_round=*/7, kNow);
  compact(*log, kNow + 10);  // within delete.retention.ms: the tombstone stays
  {
    auto stored = decode_records(read_all(*log));
    const bool has_tombstone = std::any_of(stored.begin(), stored.end(), [](const auto& r) {
      return r.key == "k3" && !r.value;
    });
    const int64_t active_base = log->segment_base_offsets().back();
    const bool tombstone_cleaned = std::any_of(all.begin(), all.end(), [&](const Written& w) {
      return w.key == "k3" && !w.value && w.offset < active_base;
    });
    ASSERT_TRUE(tombstone_cleaned);
    EXPECT_TRUE(has_tombstone);
  }
  // More data (newer keys, not k3) so that there is dirty data to clean again.
  auto more = write_rounds(*log, 100, 6, /*tombstone_round=*/-1, kNow + 5000);
  std::erase_if(more, [](const Written& w) { return w.key == "k3"; });
  all.insert(all.end(), more.begin(), more.end());
  compact(*log, kNow + 5000);
  auto stored = decode_records(read_all(*log));
  EXPECT_FALSE(std::any_of(stored.begin(), stored.end(), [](const auto& r) {
    return r.key == "k3" && !r.value;
  }));
}

TEST(Compaction, ControlBatchesAndKeylessRecordsAreKept) {
  TempDir dir;
  auto log = open_log(dir.path(), compact_config());
  for (int i = 0; i < 30; ++i) {
    auto keyed = make_batch({{"same-key", fmt::format("v{}", i), 0}}, kNow);
    ASSERT_TRUE(log->append(keyed, kNow).ok());
    auto keyless = make_batch({{std::nullopt, fmt::format("keyless{}", i), 0}}, kNow);
    ASSERT_TRUE(log->append(keyless, kNow).ok());
    auto control = make_batch({{std::string("\0\0\0\1", 4), std::string("\0\0\0\0\0\0", 6), 0}},
                              kNow, records::Compression::kNone,
                              records::attr::kControl | records::attr::kTransactional);
    ASSERT_TRUE(log->append(control, kNow).ok());
  }
  const int64_t active_base = log->segment_base_offsets().back();
  compact(*log, kNow);
  auto headers = batch_headers(read_all(*log));
  int controls = 0;
  for (const auto& h : headers) controls += h.is_control() ? 1 : 0;
  EXPECT_EQ(controls, 30);
  auto stored = decode_records(read_all(*log));
  int keyless = 0;
  int keyed_below_active = 0;
  for (const auto& r : stored) {
    keyless += r.key ? 0 : 1;
    keyed_below_active += (r.key && r.offset < active_base) ? 1 : 0;
  }
  EXPECT_EQ(keyless, 30);
  EXPECT_EQ(keyed_below_active, 1);
}

TEST(Compaction, NothingToDoBelowTheDirtyRatioOrWithDeletePolicy) {
  TempDir dir;
  LogConfig config = compact_config();
  config.cleanup_policy = CleanupPolicy::kDelete;
  auto log = open_log(dir.path(), config);
  write_rounds(*log, 0, 6, -1, kNow);
  EXPECT_EQ(log->prepare_compaction(kNow), nullptr);
  config.cleanup_policy = CleanupPolicy::kCompactDelete;
  config.min_compaction_lag_ms = 60'000;
  log->update_config(config);
  EXPECT_EQ(log->prepare_compaction(kNow), nullptr);  // too young
  config.min_compaction_lag_ms = 0;
  log->update_config(config);
  compact(*log, kNow);
  EXPECT_EQ(log->prepare_compaction(kNow), nullptr);  // nothing dirty any more
}

// run() on another thread while the owner keeps appending and reading.
TEST(Compaction, RunsOnAnotherThreadWhileTheOwnerAppendsAndReads) {
  TempDir dir;
  auto log = open_log(dir.path(), compact_config());
  auto all = write_rounds(*log, 0, 10, -1, kNow);
  auto job = log->prepare_compaction(kNow);
  ASSERT_NE(job, nullptr);
  const int64_t cleaned_end = job->end_offset();
  Status run_status;
  std::thread worker([&] { run_status = job->run(); });
  for (int round = 10; round < 20; ++round) {
    auto more = write_rounds(*log, round, 1, -1, kNow);
    all.insert(all.end(), more.begin(), more.end());
    EXPECT_EQ(decode_records(read_all(*log)).size(), all.size());
  }
  worker.join();
  ASSERT_TRUE(run_status.ok());
  ASSERT_TRUE(log->install_compaction(std::move(job)).ok());
  expect_records(*log, expected_after(all, cleaned_end, false));
}

TEST(Compaction, SegmentRemovedMeanwhileIsSkippedAtInstall) {
  TempDir dir;
  LogConfig config = compact_config();
  auto log = open_log(dir.path(), config);
  write_rounds(*log, 0, 10, -1, kNow);
  auto job = log->prepare_compaction(kNow);
  ASSERT_NE(job, nullptr);
  ASSERT_TRUE(job->run().ok());
  const int64_t second_base = log->segment_base_offsets().at(1);
  ASSERT_TRUE(log->delete_records_before(second_base).ok());
  ASSERT_TRUE(log->install_compaction(std::move(job)).ok());
  EXPECT_EQ(log->segment_base_offsets().front(), second_base);
  EXPECT_NO_THROW(decode_records(read_all(*log)));
  // No .cleaned file is left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().string().find(".cleaned"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace fjord::storage
