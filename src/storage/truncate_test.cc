// PartitionLog::truncate_to: suffix truncation at a batch boundary (a Raft
// follower dropping its divergent entries), across segments, across restarts
// and crashes, and with producer state.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "records/builder.h"
#include "storage/file.h"
#include "storage/partition_log.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

using testing::make_value_batch;
using testing::read_all;
using testing::TempDir;

constexpr int64_t kNow = 1'700'000'000'000;

LogConfig small_segments() {
  LogConfig config;
  config.segment_bytes = 2048;
  config.index_interval_bytes = 256;
  return config;
}

std::unique_ptr<PartitionLog> open_log(const std::filesystem::path& dir,
                                       const LogConfig& config = small_segments()) {
  auto log = PartitionLog::open(dir, config, kNow);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return std::move(log).value();
}

// Appends `batches` batches of 2 records each; returns the stored bytes.
std::vector<uint8_t> append_batches(PartitionLog& log, int batches, uint32_t seed) {
  std::vector<uint8_t> stored;
  for (int i = 0; i < batches; ++i) {
    auto batch = make_value_batch(2, 100, kNow + i, seed + static_cast<uint32_t>(i));
    auto appended = log.append(batch, kNow);
    EXPECT_TRUE(appended.ok());
    stored.insert(stored.end(), batch.begin(), batch.end());
  }
  return stored;
}

// The bytes of the first `batches` batches of `stored`.
std::vector<uint8_t> prefix(const std::vector<uint8_t>& stored, int batches) {
  size_t at = 0;
  for (int i = 0; i < batches; ++i)
    at += records::read_header(std::span(stored).subspan(at)).size_bytes();
  return std::vector<uint8_t>(stored.begin(), stored.begin() + static_cast<std::ptrdiff_t>(at));
}

TEST(Truncate, InsideTheActiveSegmentThenAppendAndReopen) {
  TempDir dir;
  auto log = open_log(dir.path(), LogConfig());
  auto old_bytes = append_batches(*log, 10, 0);
  ASSERT_TRUE(log->truncate_to(8, kNow).ok());
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(read_all(*log), prefix(old_bytes, 4));
  append_batches(*log, 3, 100);
  EXPECT_EQ(log->log_end_offset(), 14);
  // Offsets are rewritten by append: compare with the log's own bytes after reopening.
  const auto expected = read_all(*log);
  EXPECT_EQ(std::vector<uint8_t>(expected.begin(), expected.begin() + prefix(old_bytes, 4).size()),
            prefix(old_bytes, 4));
  ASSERT_TRUE(log->sync_now().ok());
  log.reset();  // a crash: no clean shutdown
  log = open_log(dir.path(), LogConfig());
  EXPECT_EQ(log->log_end_offset(), 14);
  EXPECT_EQ(read_all(*log), expected);
  ASSERT_TRUE(log->close().ok());
  log = open_log(dir.path(), LogConfig());
  EXPECT_EQ(read_all(*log), expected);
}

TEST(Truncate, AcrossSegmentsDeletesTheNewerSegments) {
  TempDir dir;
  auto log = open_log(dir.path());
  auto old_bytes = append_batches(*log, 60, 0);
  ASSERT_GT(log->segment_count(), 4u);
  const auto bases = log->segment_base_offsets();
  const int64_t cut = 40;  // inside the second or a later segment
  ASSERT_TRUE(log->truncate_to(cut, kNow).ok());
  EXPECT_EQ(log->log_end_offset(), cut);
  EXPECT_EQ(read_all(*log), prefix(old_bytes, static_cast<int>(cut / 2)));
  for (int64_t base : bases) {
    const bool kept = base <= cut;
    EXPECT_EQ(std::filesystem::exists(dir.path() / fmt::format("{:020d}.log", base)), kept) << base;
  }
  append_batches(*log, 30, 500);
  const auto expected = read_all(*log);
  EXPECT_EQ(log->log_end_offset(), cut + 60);
  ASSERT_TRUE(log->sync_now().ok());
  log.reset();
  log = open_log(dir.path());
  EXPECT_EQ(log->log_end_offset(), cut + 60);
  EXPECT_EQ(read_all(*log), expected);
}

TEST(Truncate, ToASegmentBaseLeavesAnEmptyActiveSegment) {
  TempDir dir;
  auto log = open_log(dir.path());
  auto old_bytes = append_batches(*log, 40, 0);
  const auto bases = log->segment_base_offsets();
  ASSERT_GE(bases.size(), 3u);
  const int64_t cut = bases[1];
  ASSERT_TRUE(log->truncate_to(cut, kNow).ok());
  EXPECT_EQ(log->segment_base_offsets(), (std::vector<int64_t>{bases[0], bases[1]}));
  EXPECT_EQ(read_all(*log), prefix(old_bytes, static_cast<int>(cut / 2)));
  log.reset();
  log = open_log(dir.path());
  EXPECT_EQ(log->log_end_offset(), cut);
  EXPECT_EQ(read_all(*log), prefix(old_bytes, static_cast<int>(cut / 2)));
}

TEST(Truncate, AtTheEndOfASegmentFollowedByAGap) {
  TempDir dir;
  auto log = open_log(dir.path(), LogConfig());
  auto old_bytes = append_batches(*log, 3, 0);
  ASSERT_TRUE(log->close().ok());
  log.reset();
  // A segment that starts after a gap (compaction or a crash can leave one).
  auto orphan = make_value_batch(2, 100, kNow, 99);
  records::set_base_offset(orphan, 50);
  {
    auto file = File::open(dir.path() / "00000000000000000050.log", O_WRONLY | O_CREAT);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->write_at(0, orphan).ok());
  }
  log = open_log(dir.path(), LogConfig());
  ASSERT_EQ(log->log_end_offset(), 52);
  ASSERT_TRUE(log->truncate_to(6, kNow).ok());
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(log->segment_base_offsets(), std::vector<int64_t>{0});
  EXPECT_EQ(read_all(*log), old_bytes);
}

TEST(Truncate, RejectsOffsetsInsideABatchOrOutOfRange) {
  TempDir dir;
  auto log = open_log(dir.path());
  append_batches(*log, 5, 0);
  EXPECT_EQ(log->truncate_to(3, kNow).code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(log->truncate_to(11, kNow).code(), ErrorCode::kOffsetOutOfRange);
  EXPECT_EQ(log->truncate_to(-1, kNow).code(), ErrorCode::kOffsetOutOfRange);
  EXPECT_TRUE(log->truncate_to(10, kNow).ok());  // the log end: nothing to do
  EXPECT_EQ(log->log_end_offset(), 10);
  ASSERT_TRUE(log->delete_records_before(4).ok());
  EXPECT_EQ(log->truncate_to(2, kNow).code(), ErrorCode::kOffsetOutOfRange);
}

TEST(Truncate, ToALogStartInsideABatchEmptiesTheLog) {
  TempDir dir;
  auto log = open_log(dir.path());
  append_batches(*log, 30, 0);
  ASSERT_TRUE(log->delete_records_before(25).ok());
  ASSERT_TRUE(log->truncate_to(25, kNow).ok());
  EXPECT_EQ(log->log_start_offset(), 25);
  EXPECT_EQ(log->log_end_offset(), 25);
  EXPECT_TRUE(read_all(*log).empty());
  append_batches(*log, 2, 7);
  EXPECT_EQ(log->log_end_offset(), 29);
  const auto expected = read_all(*log);
  log.reset();
  log = open_log(dir.path());
  EXPECT_EQ(log->log_start_offset(), 25);
  EXPECT_EQ(log->log_end_offset(), 29);
  EXPECT_EQ(read_all(*log), expected);
}

std::vector<uint8_t> producer_batch(int32_t base_sequence, int count) {
  records::BatchOptions options;
  options.producer_id = 77;
  options.producer_epoch = 0;
  options.base_sequence = base_sequence;
  records::BatchBuilder builder(options);
  for (int i = 0; i < count; ++i) {
    EXPECT_TRUE(builder.append(kNow, {}, records::as_bytes(std::string("value"))).ok());
  }
  auto built = builder.build();
  EXPECT_TRUE(built.ok());
  return std::vector<uint8_t>(built->begin(), built->end());
}

TEST(Truncate, ProducerStateForgetsTheTruncatedBatches) {
  TempDir dir;
  auto log = open_log(dir.path());
  for (int i = 0; i < 30; ++i) {  // sequences 0..89, across several segments
    auto batch = producer_batch(i * 3, 3);
    ASSERT_TRUE(log->append(batch, kNow).ok());
  }
  ASSERT_TRUE(log->close().ok());  // producer snapshots at every roll and at close
  log = open_log(dir.path());
  ASSERT_TRUE(log->truncate_to(30, kNow).ok());  // keeps sequences 0..29
  // The next sequence after the kept batches is accepted; the truncated one is not a duplicate.
  auto next = producer_batch(30, 3);
  auto appended = log->append(next, kNow);
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_FALSE(appended->duplicate);
  EXPECT_EQ(appended->base_offset, 30);
  auto gap = producer_batch(60, 3);
  EXPECT_EQ(log->append(gap, kNow).code(), ErrorCode::kOutOfOrderSequenceNumber);
  log.reset();
  log = open_log(dir.path());
  auto after = producer_batch(33, 3);
  EXPECT_TRUE(log->append(after, kNow).ok());
}

TEST(Reset, StartsAnEmptyLogBeyondTheEnd) {
  TempDir dir;
  auto log = open_log(dir.path());
  append_batches(*log, 30, 0);
  ASSERT_TRUE(log->reset_to(100, kNow).ok());
  EXPECT_EQ(log->log_start_offset(), 100);
  EXPECT_EQ(log->log_end_offset(), 100);
  EXPECT_EQ(log->segment_base_offsets(), std::vector<int64_t>{100});
  append_batches(*log, 2, 9);
  const auto expected = read_all(*log);
  log.reset();
  log = open_log(dir.path());
  EXPECT_EQ(log->log_start_offset(), 100);
  EXPECT_EQ(log->log_end_offset(), 104);
  EXPECT_EQ(read_all(*log), expected);
  EXPECT_EQ(log->reset_to(50, kNow).code(), ErrorCode::kOffsetOutOfRange);
}

TEST(Reset, InsideTheLogDropsTheRest) {
  TempDir dir;
  auto log = open_log(dir.path());
  append_batches(*log, 30, 0);
  ASSERT_TRUE(log->reset_to(20, kNow).ok());
  EXPECT_EQ(log->log_start_offset(), 20);
  EXPECT_EQ(log->log_end_offset(), 20);
  EXPECT_TRUE(read_all(*log).empty());
  log.reset();
  log = open_log(dir.path());
  EXPECT_EQ(log->log_start_offset(), 20);
  EXPECT_EQ(log->log_end_offset(), 20);
}

TEST(Replication, SkipsProducerChecksButKeepsTheState) {
  TempDir dir;
  auto log = open_log(dir.path());
  auto first = producer_batch(0, 3);
  ASSERT_TRUE(log->append(first, kNow, AppendOrigin::kReplication).ok());
  // The same batch again is a duplicate for a client, but a replica writes what the leader sent.
  auto again = producer_batch(0, 3);
  auto replicated = log->append(again, kNow, AppendOrigin::kReplication);
  ASSERT_TRUE(replicated.ok());
  EXPECT_FALSE(replicated->duplicate);
  EXPECT_EQ(replicated->base_offset, 3);
  auto retried = producer_batch(0, 3);
  auto client = log->append(retried, kNow);
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(client->duplicate);
}

}  // namespace
}  // namespace fjord::storage
