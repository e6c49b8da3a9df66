// PartitionLog with idempotent and transactional producers: sequence checks on
// append, markers, the last stable offset, aborted transactions, and the state
// surviving clean restarts, crashes and segment rolls.
#include <gtest/gtest.h>

#include "records/builder.h"
#include "storage/partition_log.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

using testing::TempDir;

constexpr int64_t kNow = 1'700'000'000'000;

struct ProducerBatch {
  int64_t producer_id = 1000;
  int16_t epoch = 0;
  int32_t base_sequence = 0;
  int count = 1;
  bool transactional = false;
  std::optional<std::string> key{};  // the same key on every record
  std::string value_prefix = "v";
};

std::vector<uint8_t> make_producer_batch(const ProducerBatch& p) {
  records::BatchOptions options;
  options.producer_id = p.producer_id;
  options.producer_epoch = p.epoch;
  options.base_sequence = p.base_sequence;
  options.transactional = p.transactional;
  records::BatchBuilder builder(options);
  for (int i = 0; i < p.count; ++i) {
    const std::string value = p.value_prefix + std::to_string(p.base_sequence + i);
    records::NullableBytes key;
    if (p.key) key = records::as_bytes(*p.key);
    EXPECT_TRUE(builder.append(kNow, key, records::as_bytes(value)).ok());
  }
  auto built = builder.build();
  EXPECT_TRUE(built.ok());
  return std::vector<uint8_t>(built->begin(), built->end());
}

std::unique_ptr<PartitionLog> open_log(const std::filesystem::path& dir,
                                       const LogConfig& config = LogConfig()) {
  auto log = PartitionLog::open(dir, config, kNow);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return std::move(log).value();
}

Result<AppendResult> append(PartitionLog& log, const ProducerBatch& p,
                            AppendOrigin origin = AppendOrigin::kClient) {
  auto bytes = make_producer_batch(p);
  return log.append(bytes, kNow, origin);
}

LogConfig small_segments() {
  LogConfig config;
  config.segment_bytes = 300;
  config.index_interval_bytes = 64;
  return config;
}

TEST(ProducerLog, RetriedBatchGetsTheOriginalOffsetsAndIsNotAppendedAgain) {
  TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(append(*log, {.base_sequence = 0, .count = 3}).ok());
  auto second = append(*log, {.base_sequence = 3, .count = 2});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->base_offset, 3);
  auto retry = append(*log, {.base_sequence = 3, .count = 2});
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->base_offset, 3);
  EXPECT_EQ(retry->last_offset, 4);
  EXPECT_EQ(log->log_end_offset(), 5);
}

TEST(ProducerLog, GapsOldEpochsAndOpenTransactionsAreRefusedWithoutAppending) {
  TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(append(*log, {.epoch = 2, .base_sequence = 0}).ok());
  auto gap = append(*log, {.epoch = 2, .base_sequence = 5});
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().code, ErrorCode::kOutOfOrderSequenceNumber);
  auto old_epoch = append(*log, {.epoch = 1, .base_sequence = 1});
  ASSERT_FALSE(old_epoch.ok());
  EXPECT_EQ(old_epoch.error().code, ErrorCode::kInvalidProducerEpoch);
  auto bumped_not_zero = append(*log, {.epoch = 3, .base_sequence = 1});
  ASSERT_FALSE(bumped_not_zero.ok());
  EXPECT_EQ(bumped_not_zero.error().code, ErrorCode::kOutOfOrderSequenceNumber);
  ASSERT_TRUE(append(*log, {.epoch = 3, .base_sequence = 0, .transactional = true}).ok());
  auto plain_in_txn = append(*log, {.epoch = 3, .base_sequence = 1});
  ASSERT_FALSE(plain_in_txn.ok());
  EXPECT_EQ(plain_in_txn.error().code, ErrorCode::kInvalidTxnState);
  EXPECT_EQ(log->log_end_offset(), 2);
}

TEST(ProducerLog, OpenTransactionHoldsTheLastStableOffsetUntilItsMarkerIsBelowTheWatermark) {
  TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(append(*log, {.producer_id = 7, .base_sequence = 0, .count = 2}).ok());  // 0-1
  ASSERT_TRUE(
      append(*log, {.producer_id = 8, .base_sequence = 0, .count = 2, .transactional = true})
          .ok());  // 2-3
  EXPECT_EQ(log->last_stable_offset(log->log_end_offset()), 2);
  auto marker = log->append_txn_marker(8, 0, /*commit=*/true, 0, kNow);
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(marker->base_offset, 4);
  // Not yet below the high watermark: still unstable.
  EXPECT_EQ(log->last_stable_offset(4), 2);
  log->advance_high_watermark(5);
  EXPECT_EQ(log->last_stable_offset(5), 5);
  EXPECT_TRUE(log->aborted_transactions(0, 5).empty());
}

TEST(ProducerLog, AbortMarkersAreListedForFetchesThatOverlapThem) {
  TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(append(*log, {.producer_id = 8, .count = 2, .transactional = true}).ok());  // 0-1
  ASSERT_TRUE(append(*log, {.producer_id = 9, .count = 1, .transactional = true}).ok());  // 2
  ASSERT_TRUE(log->append_txn_marker(8, 0, /*commit=*/false, 0, kNow).ok());              // 3
  ASSERT_TRUE(log->append_txn_marker(9, 0, /*commit=*/true, 0, kNow).ok());               // 4
  log->advance_high_watermark(5);
  EXPECT_EQ(log->last_stable_offset(5), 5);
  auto aborted = log->aborted_transactions(0, 5);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], (AbortedRange{8, 0}));
  EXPECT_TRUE(log->aborted_transactions(4, 5).empty());  // the marker is below 4
  EXPECT_EQ(log->aborted_transactions(3, 5).size(), 1u);
}

TEST(ProducerLog, MarkerWithAnOlderEpochIsRefused) {
  TempDir dir;
  auto log = open_log(dir.path());
  ASSERT_TRUE(append(*log, {.epoch = 4, .transactional = true}).ok());
  auto old = log->append_txn_marker(1000, 3, true, 0, kNow);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.error().code, ErrorCode::kInvalidProducerEpoch);
  // A fencing abort carries a newer epoch and closes the transaction.
  ASSERT_TRUE(log->append_txn_marker(1000, 5, false, 0, kNow).ok());
  log->advance_high_watermark(log->log_end_offset());
  EXPECT_EQ(log->last_stable_offset(log->log_end_offset()), log->log_end_offset());
  EXPECT_EQ(log->producers().find(1000)->epoch, 5);
}

TEST(ProducerLog, CoordinatorBatchesWithoutSequencesOpenATransaction) {
  TempDir dir;
  auto log = open_log(dir.path());
  ProducerBatch offsets{.producer_id = 42, .epoch = 1, .base_sequence = -1, .transactional = true};
  ASSERT_TRUE(append(*log, offsets, AppendOrigin::kCoordinator).ok());
  ASSERT_TRUE(append(*log, offsets, AppendOrigin::kCoordinator).ok());  // no duplicate check
  EXPECT_EQ(log->last_stable_offset(2), 0);
  ASSERT_TRUE(log->append_txn_marker(42, 1, true, 0, kNow).ok());
  log->advance_high_watermark(3);
  EXPECT_EQ(log->last_stable_offset(3), 3);
}

TEST(ProducerLog, StateSurvivesACleanRestart) {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    ASSERT_TRUE(append(*log, {.producer_id = 5, .base_sequence = 0, .count = 2}).ok());
    ASSERT_TRUE(append(*log, {.producer_id = 6, .count = 1, .transactional = true}).ok());  // 2
    ASSERT_TRUE(append(*log, {.producer_id = 8, .count = 1, .transactional = true}).ok());  // 3
    ASSERT_TRUE(log->append_txn_marker(8, 0, false, 0, kNow).ok());                         // 4
    ASSERT_TRUE(log->close().ok());
  }
  auto log = open_log(dir.path());
  auto retry = append(*log, {.producer_id = 5, .base_sequence = 0, .count = 2});
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(log->last_stable_offset(5), 2);  // producer 6 is still open
  EXPECT_EQ(log->aborted_transactions(0, 5).size(), 1u);
}

TEST(ProducerLog, StateIsRebuiltAfterACrashAcrossManyRolledSegments) {
  TempDir dir;
  int32_t next_sequence = 0;
  int64_t aborted_first = -1;
  {
    auto log = open_log(dir.path(), small_segments());
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(
          append(*log, {.producer_id = 5, .base_sequence = next_sequence, .count = 2}).ok());
      next_sequence += 2;
      if (i == 20) {
        auto txn = append(*log, {.producer_id = 9, .count = 1, .transactional = true});
        ASSERT_TRUE(txn.ok());
        aborted_first = txn->base_offset;
      }
      if (i == 30) {
        ASSERT_TRUE(log->append_txn_marker(9, 0, false, 0, kNow).ok());
      }
      if (i == 35) {
        ASSERT_TRUE(append(*log, {.producer_id = 11, .transactional = true}).ok());
      }
    }
    ASSERT_GT(log->segment_count(), 5u);
    ASSERT_TRUE(log->sync_now().ok());
    // No close(): like kill -9 after the data was synced.
  }
  EXPECT_FALSE(list_snapshot_offsets(dir.path()).empty());
  auto log = open_log(dir.path(), small_segments());
  const int64_t end = log->log_end_offset();
  auto retry = append(*log, {.producer_id = 5, .base_sequence = next_sequence - 2, .count = 2});
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  auto gap = append(*log, {.producer_id = 5, .base_sequence = next_sequence + 1});
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.error().code, ErrorCode::kOutOfOrderSequenceNumber);
  auto aborted = log->aborted_transactions(0, end);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], (AbortedRange{9, aborted_first}));
  EXPECT_LT(log->last_stable_offset(end), end);  // producer 11 is still open
  EXPECT_TRUE(log->open_transactions().open_first_offset(11).has_value());
}

TEST(ProducerLog, TornTailDropsTheLostMarkerFromTheIndex) {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    ASSERT_TRUE(append(*log, {.producer_id = 9, .transactional = true}).ok());  // 0
    ASSERT_TRUE(log->sync_now().ok());
    ASSERT_TRUE(log->append_txn_marker(9, 0, false, 0, kNow).ok());  // 1, then torn
    ASSERT_TRUE(log->sync_now().ok());
  }
  const auto segment = dir.path() / "00000000000000000000.log";
  const auto size = std::filesystem::file_size(segment);
  std::filesystem::resize_file(segment, size - 5);  // tear the marker
  auto log = open_log(dir.path());
  EXPECT_EQ(log->log_end_offset(), 1);
  EXPECT_TRUE(log->aborted_transactions(0, 1).empty());
  EXPECT_EQ(log->last_stable_offset(1), 0);  // the transaction is open again
}

TEST(ProducerLog, DamagedTxnIndexIsRebuiltFromTheLog) {
  TempDir dir;
  {
    auto log = open_log(dir.path());
    ASSERT_TRUE(append(*log, {.producer_id = 9, .transactional = true}).ok());
    ASSERT_TRUE(log->append_txn_marker(9, 0, false, 0, kNow).ok());
    ASSERT_TRUE(log->close().ok());
  }
  const auto index = TxnIndex::path_for(dir.path(), 0);
  ASSERT_TRUE(std::filesystem::exists(index));
  std::filesystem::resize_file(index, kAbortedTxnEntryBytes);
  {
    std::FILE* f = std::fopen(index.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fputc(0x7f, f);  // an unknown entry version
    std::fclose(f);
  }
  auto log = open_log(dir.path());
  auto aborted = log->aborted_transactions(0, log->log_end_offset());
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0], (AbortedRange{9, 0}));
}

TEST(ProducerLog, RetentionRemovesTheIndexesAndSnapshotsOfDeletedSegments) {
  TempDir dir;
  auto log = open_log(dir.path(), small_segments());
  int32_t sequence = 0;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(
        append(*log, {.producer_id = 9, .base_sequence = sequence, .transactional = true}).ok());
    ++sequence;
    ASSERT_TRUE(log->append_txn_marker(9, 0, false, 0, kNow).ok());
  }
  ASSERT_GT(log->segment_count(), 3u);
  const auto bases = log->segment_base_offsets();
  ASSERT_TRUE(log->delete_records_before(bases[2]).ok());
  EXPECT_FALSE(std::filesystem::exists(TxnIndex::path_for(dir.path(), bases[0])));
  for (int64_t offset : list_snapshot_offsets(dir.path())) EXPECT_GE(offset, bases[2]);
  EXPECT_FALSE(log->aborted_transactions(bases[2], log->log_end_offset()).empty());
}

LogConfig compacted_small_segments() {
  LogConfig config = small_segments();
  config.cleanup_policy = CleanupPolicy::kCompact;
  config.segment_bytes = 400;
  config.min_cleanable_dirty_ratio = 0.01;
  config.min_compaction_lag_ms = 0;
  return config;
}

void fill(PartitionLog& log, int64_t producer_id, int batches) {
  for (int i = 0; i < batches; ++i) {
    ASSERT_TRUE(append(log, {.producer_id = producer_id,
                             .base_sequence = i,
                             .key = "filler" + std::to_string(i % 3)})
                    .ok());
  }
}

std::vector<testing::StoredRecord> records_with_key(const PartitionLog& log,
                                                    const std::string& key) {
  std::vector<testing::StoredRecord> out;
  for (auto& r : testing::decode_records(testing::read_all(log))) {
    if (r.key == key) out.push_back(r);
  }
  return out;
}

TEST(ProducerLog, CompactionDropsAbortedRecordsAndKeepsTheCommittedValue) {
  TempDir dir;
  auto log = open_log(dir.path(), compacted_small_segments());
  ASSERT_TRUE(
      append(*log,
             {.producer_id = 9, .transactional = true, .key = "k", .value_prefix = "committed"})
          .ok());
  ASSERT_TRUE(log->append_txn_marker(9, 0, true, 0, kNow).ok());
  ASSERT_TRUE(
      append(*log,
             {.producer_id = 10, .transactional = true, .key = "k", .value_prefix = "aborted"})
          .ok());
  ASSERT_TRUE(log->append_txn_marker(10, 0, false, 0, kNow).ok());
  fill(*log, 11, 30);
  log->advance_high_watermark(log->log_end_offset());
  auto job = log->prepare_compaction(kNow);
  ASSERT_NE(job, nullptr);
  ASSERT_TRUE(job->run().ok());
  EXPECT_EQ(job->stats().aborted_batches_dropped, 1);
  ASSERT_TRUE(log->install_compaction(std::move(job)).ok());
  auto kept = records_with_key(*log, "k");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].value, "committed0");
}

TEST(ProducerLog, CompactionStopsBelowAnOpenTransaction) {
  TempDir dir;
  auto log = open_log(dir.path(), compacted_small_segments());
  ASSERT_TRUE(
      append(*log,
             {.producer_id = 9, .transactional = true, .key = "k", .value_prefix = "undecided"})
          .ok());
  fill(*log, 11, 30);
  log->advance_high_watermark(log->log_end_offset());
  ASSERT_GT(log->segment_count(), 3u);
  EXPECT_EQ(log->prepare_compaction(kNow), nullptr);  // the first segment holds the open txn
  ASSERT_TRUE(log->append_txn_marker(9, 0, false, 0, kNow).ok());
  log->advance_high_watermark(log->log_end_offset());
  auto job = log->prepare_compaction(kNow);
  ASSERT_NE(job, nullptr);
  ASSERT_TRUE(job->run().ok());
  ASSERT_TRUE(log->install_compaction(std::move(job)).ok());
  EXPECT_TRUE(records_with_key(*log, "k").empty());
}

}  // namespace
}  // namespace fjord::storage
