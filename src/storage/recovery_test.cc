// Crash recovery: torn tails, garbage, corruption, missing indexes, and crash
// images that hold only what was fsynced.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "storage/partition_log.h"
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
using testing::TempDir;

constexpr int64_t kNow = 1'700'000'000'000;
namespace fs = std::filesystem;

LogConfig small_segments() {
  LogConfig config;
  config.segment_bytes = 4096;
  config.index_interval_bytes = 512;
  return config;
}

std::unique_ptr<PartitionLog> open_log(const fs::path& dir, const LogConfig& config) {
  auto log = PartitionLog::open(dir, config, kNow);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return std::move(log).value();
}

std::vector<uint8_t> file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

fs::path segment_path(const fs::path& dir, int64_t base, const char* ext) {
  return dir / (segment_file_stem(base) + ext);
}

// Appends `count` batches and returns the bytes the log holds afterwards.
std::vector<uint8_t> fill(PartitionLog& log, int count, uint32_t seed = 0) {
  for (int i = 0; i < count; ++i) {
    auto batch = make_value_batch(1 + i % 3, 60 + i % 50, kNow + i, seed + i);
    EXPECT_TRUE(log.append(batch, kNow).ok());
  }
  return read_all(log);
}

TEST(Recovery, TornTailAtEveryBytePositionOfTheLastBatch) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  const auto all = fill(*log, 30);
  const auto headers = batch_headers(all);
  const int64_t active_base = log->segment_base_offsets().back();
  log.reset();  // crash: no clean shutdown
  const fs::path active = segment_path(dir.path(), active_base, ".log");
  const auto segment = file_bytes(active);
  const auto& last = headers.back();
  const size_t last_size = last.size_bytes();
  const size_t last_start = segment.size() - last_size;
  for (size_t cut = last_start; cut < segment.size(); ++cut) {
    write_bytes(active, std::span(segment).first(cut));
    auto reopened = open_log(dir.path(), small_segments());
    ASSERT_EQ(reopened->log_end_offset(), last.base_offset) << "cut at " << cut;
    const auto survived = read_all(*reopened);
    ASSERT_EQ(survived.size(), all.size() - last_size);
    ASSERT_TRUE(std::equal(survived.begin(), survived.end(), all.begin()));
    EXPECT_EQ(fs::file_size(active), last_start);
    // The log continues at the cut with the next offset.
    auto next = make_value_batch(1, 10, kNow);
    ASSERT_EQ(reopened->append(next, kNow)->base_offset, last.base_offset);
  }
}

TEST(Recovery, CleanMarkerWithMismatchedSizeStillRecovers) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  const auto all = fill(*log, 10);
  const int64_t active_base = log->segment_base_offsets().back();
  ASSERT_TRUE(log->close().ok());
  log.reset();
  const fs::path active = segment_path(dir.path(), active_base, ".log");
  auto segment = file_bytes(active);
  write_bytes(active, std::span(segment).first(segment.size() - 5));
  log = open_log(dir.path(), small_segments());
  const auto headers = batch_headers(all);
  EXPECT_EQ(log->log_end_offset(), headers.back().base_offset);
}

TEST(Recovery, GarbageAfterTheLastBatchIsCut) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  const auto all = fill(*log, 12);
  const int64_t end = log->log_end_offset();
  const int64_t active_base = log->segment_base_offsets().back();
  log.reset();
  const fs::path active = segment_path(dir.path(), active_base, ".log");
  auto segment = file_bytes(active);
  const size_t good_size = segment.size();
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) segment.push_back(static_cast<uint8_t>(rng()));
  write_bytes(active, segment);
  log = open_log(dir.path(), small_segments());
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_EQ(read_all(*log), all);
  EXPECT_EQ(fs::file_size(active), good_size);
}

TEST(Recovery, CorruptCrcInTheMiddleTruncatesThere) {
  TempDir dir;
  LogConfig config;  // one segment
  auto log = open_log(dir.path(), config);
  const auto all = fill(*log, 20);
  log.reset();
  const auto headers = batch_headers(all);
  size_t position = 0;
  for (int i = 0; i < 9; ++i) position += headers[i].size_bytes();
  const fs::path active = segment_path(dir.path(), 0, ".log");
  auto segment = file_bytes(active);
  segment[position + records::kBatchHeaderSize + 3] ^= 0x5a;  // inside batch 9's records
  write_bytes(active, segment);
  log = open_log(dir.path(), config);
  EXPECT_EQ(log->log_end_offset(), headers[9].base_offset);
  const auto survived = read_all(*log);
  ASSERT_EQ(survived.size(), position);
  EXPECT_TRUE(std::equal(survived.begin(), survived.end(), all.begin()));
}

TEST(Recovery, CorruptionInAnEarlierUnflushedSegmentDropsLaterSegments) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  const auto all = fill(*log, 80);
  const auto bases = log->segment_base_offsets();
  ASSERT_GE(bases.size(), 4u);
  log.reset();  // nothing fsynced: every segment is above the recovery point
  const fs::path second = segment_path(dir.path(), bases[1], ".log");
  auto segment = file_bytes(second);
  segment[records::kCrcOffset] ^= 0xff;  // the segment's first batch
  write_bytes(second, segment);
  log = open_log(dir.path(), small_segments());
  EXPECT_EQ(log->log_end_offset(), bases[1]);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_FALSE(fs::exists(segment_path(dir.path(), bases[2], ".log")));
  EXPECT_EQ(read_all(*log).size(), fs::file_size(segment_path(dir.path(), bases[0], ".log")));
}

TEST(Recovery, MissingOrCorruptIndexesAreRebuilt) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  const auto all = fill(*log, 40);
  const auto bases = log->segment_base_offsets();
  ASSERT_TRUE(log->close().ok());
  log.reset();
  fs::remove(segment_path(dir.path(), bases[0], ".index"));
  fs::remove(segment_path(dir.path(), bases[0], ".timeindex"));
  std::vector<uint8_t> junk(40, 0xee);
  write_bytes(segment_path(dir.path(), bases[1], ".index"), junk);
  write_bytes(segment_path(dir.path(), bases[2], ".timeindex"), std::span(junk).first(7));
  log = open_log(dir.path(), small_segments());
  EXPECT_EQ(read_all(*log), all);
  for (int64_t offset = 0; offset < log->log_end_offset(); ++offset) {
    auto result = log->read(offset, 1, INT64_MAX);
    ASSERT_TRUE(result.ok());
    auto h = batch_headers(testing::read_ranges(*result));
    ASSERT_EQ(h.size(), 1u);
    EXPECT_LE(h[0].base_offset, offset);
    EXPECT_GE(h[0].last_offset(), offset);
  }
  int64_t base_of_batch_20 = 0;
  for (int i = 0; i < 20; ++i) base_of_batch_20 += 1 + i % 3;  // as fill() writes them
  EXPECT_EQ(offset_at(*log, kNow + 20), base_of_batch_20);
  EXPECT_TRUE(fs::exists(segment_path(dir.path(), bases[0], ".index")));
  EXPECT_GT(fs::file_size(segment_path(dir.path(), bases[0], ".index")), 0u);
}

// A crash image: every file cut to what had been fsynced, plus a random part of
// what had not. Acknowledged (durable) data must survive byte for byte.
TEST(Recovery, DurableDataSurvivesACrashImage) {
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    TempDir dir;
    auto log = open_log(dir.path(), small_segments());
    int batches = 0;
    for (int i = 0; i < 1 + round % 7; ++i) {
      fill(*log, 3 + static_cast<int>(rng() % 5), batches);
      batches += 8;
      ASSERT_TRUE(log->sync_now().ok());
    }
    const int64_t durable = log->durable_offset();
    const auto durable_bytes = read_all(*log);
    const int64_t active_base = log->segment_base_offsets().back();
    const uint64_t durable_size = fs::file_size(segment_path(dir.path(), active_base, ".log"));
    fill(*log, 1 + static_cast<int>(rng() % 10), 1000);  // not synced, may roll
    log.reset();
    // Unsynced bytes: keep a random prefix of them in the active-at-sync segment,
    // and drop segments created after the sync entirely.
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      auto base = parse_segment_file_stem(entry.path().stem().string());
      if (base && *base > active_base) fs::remove(entry.path());
    }
    const fs::path active = segment_path(dir.path(), active_base, ".log");
    const auto bytes = file_bytes(active);
    const size_t keep = durable_size + rng() % (bytes.size() - durable_size + 1);
    write_bytes(active, std::span(bytes).first(keep));
    log = open_log(dir.path(), small_segments());
    ASSERT_GE(log->log_end_offset(), durable);
    ASSERT_EQ(log->durable_offset(), log->log_end_offset());
    const auto now = read_all(*log);
    ASSERT_GE(now.size(), durable_bytes.size());
    ASSERT_TRUE(std::equal(durable_bytes.begin(), durable_bytes.end(), now.begin()));
  }
}

TEST(Recovery, TenThousandPartitionsOpenAfterCleanShutdown) {
  TempDir dir;
  constexpr int kPartitions = 10'000;
  LogConfig config;
  const auto setup_start = std::chrono::steady_clock::now();
  // Three cleanly closed template partitions, copied (without fsyncs, which cost
  // milliseconds each on a busy shared disk) into 10,000 partition directories.
  for (int variant = 0; variant < 3; ++variant) {
    auto log = open_log(dir.path() / fmt::format("template-{}", variant), config);
    auto batch = make_value_batch(1 + variant, 20, kNow, variant);
    ASSERT_TRUE(log->append(batch, kNow).ok());
    ASSERT_TRUE(log->close().ok());
  }
  for (int p = 0; p < kPartitions; ++p) {
    // Hard links: opening after a clean shutdown only reads.
    fs::copy(dir.path() / fmt::format("template-{}", p % 3),
             dir.path() / fmt::format("topic-{}", p),
             fs::copy_options::recursive | fs::copy_options::create_hard_links);
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<PartitionLog>> logs;
  for (int p = 0; p < kPartitions; ++p) {
    logs.push_back(open_log(dir.path() / fmt::format("topic-{}", p), config));
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::printf("set-up took %.3f s\n", std::chrono::duration<double>(start - setup_start).count());
  std::printf("opened %d partitions after a clean shutdown in %.3f s\n", kPartitions,
              std::chrono::duration<double>(elapsed).count());
  for (int p = 0; p < kPartitions; ++p) {
    ASSERT_EQ(logs[p]->log_end_offset(), 1 + p % 3);
    ASSERT_EQ(logs[p]->durable_offset(), 1 + p % 3);
  }
  for (int p = 0; p < kPartitions; p += 997) {
    auto expected = make_value_batch(1 + p % 3, 20, kNow, p % 3);
    EXPECT_EQ(read_all(*logs[p]), expected);
    logs[p]->release_idle_files();
  }
}

}  // namespace
}  // namespace fjord::storage
