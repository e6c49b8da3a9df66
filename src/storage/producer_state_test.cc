#include "storage/producer_state.h"

#include <gtest/gtest.h>

#include <climits>
#include <fstream>

#include "common/endian.h"
#include "records/crc32c.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

constexpr int64_t kPid = 1000;

ProducerBatchInfo batch(int32_t base_sequence, int32_t count, int16_t epoch = 0,
                        int64_t producer_id = kPid, bool transactional = false) {
  int64_t last = static_cast<int64_t>(base_sequence) + count - 1;
  if (last > INT32_MAX) last -= int64_t{INT32_MAX} + 1;
  return {producer_id, epoch, base_sequence, static_cast<int32_t>(last), transactional};
}

// Appends `b` as the broker would (check, then apply) at `next_offset`.
ProducerCheck append(ProducerStateTable& table, const ProducerBatchInfo& b, int64_t& next_offset,
                     int64_t now_ms = 1) {
  auto result = table.check(b);
  if (result.code == ErrorCode::kNone && !result.duplicate) {
    const int64_t count = b.last_sequence >= b.base_sequence
                              ? b.last_sequence - b.base_sequence + 1
                              : int64_t{INT32_MAX} - b.base_sequence + 2 + b.last_sequence;
    next_offset += count;
    table.apply(b, next_offset - 1, 500 + next_offset, now_ms);
  }
  return result;
}

TEST(ProducerStateTest, DuplicatesOfEachOfTheLastFiveBatchesAnswerTheOriginalOffsets) {
  ProducerStateTable table;
  int64_t next_offset = 100;
  for (int i = 0; i < 6; ++i)
    ASSERT_EQ(append(table, batch(i * 3, 3), next_offset).code, ErrorCode::kNone);
  // Batch i (sequences 3i..3i+2) went to offsets 100+3i .. 102+3i.
  for (int i = 1; i < 6; ++i) {
    auto result = table.check(batch(i * 3, 3));
    ASSERT_EQ(result.code, ErrorCode::kNone) << i;
    ASSERT_TRUE(result.duplicate.has_value()) << i;
    EXPECT_EQ(result.duplicate->first_offset(), 100 + 3 * i);
    EXPECT_EQ(result.duplicate->last_offset, 102 + 3 * i);
    EXPECT_EQ(result.duplicate->timestamp_ms, 500 + 103 + 3 * i);
  }
  // The sixth-oldest is forgotten: out of order, not a duplicate.
  auto oldest = table.check(batch(0, 3));
  EXPECT_EQ(oldest.code, ErrorCode::kOutOfOrderSequenceNumber);
  EXPECT_FALSE(oldest.duplicate.has_value());
}

TEST(ProducerStateTest, PartialOverlapIsOutOfOrder) {
  ProducerStateTable table;
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(0, 5), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.check(batch(0, 3)).code, ErrorCode::kOutOfOrderSequenceNumber);
  EXPECT_EQ(table.check(batch(2, 5)).code, ErrorCode::kOutOfOrderSequenceNumber);
}

TEST(ProducerStateTest, GapsAreOutOfOrderAndTheNextSequenceIsAccepted) {
  ProducerStateTable table;
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(0, 2), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.check(batch(3, 1)).code, ErrorCode::kOutOfOrderSequenceNumber);
  EXPECT_EQ(table.check(batch(100, 1)).code, ErrorCode::kOutOfOrderSequenceNumber);
  auto next = table.check(batch(2, 1));
  EXPECT_EQ(next.code, ErrorCode::kNone);
  EXPECT_FALSE(next.duplicate.has_value());
}

TEST(ProducerStateTest, UnknownProducerIsAcceptedWithAnySequence) {
  ProducerStateTable table;
  EXPECT_EQ(table.check(batch(0, 1)).code, ErrorCode::kNone);
  EXPECT_EQ(table.check(batch(42, 1)).code, ErrorCode::kNone);
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(42, 1), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.find(kPid)->last_sequence(), 42);
}

TEST(ProducerStateTest, OlderEpochIsFenced) {
  ProducerStateTable table;
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(0, 1, /*epoch=*/3), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.check(batch(1, 1, 2)).code, ErrorCode::kInvalidProducerEpoch);
  // Even a batch that matches a remembered one's sequences, under the old epoch.
  EXPECT_EQ(table.check(batch(0, 1, 2)).code, ErrorCode::kInvalidProducerEpoch);
}

TEST(ProducerStateTest, EpochBumpRequiresSequenceZeroAndForgetsTheOldBatches) {
  ProducerStateTable table;
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(0, 2, 0), next_offset).code, ErrorCode::kNone);
  ASSERT_EQ(append(table, batch(2, 2, 0), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.check(batch(4, 1, 1)).code, ErrorCode::kOutOfOrderSequenceNumber);
  ASSERT_EQ(append(table, batch(0, 2, 1), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.find(kPid)->epoch, 1);
  EXPECT_EQ(table.find(kPid)->batch_count, 1);
  // Same sequences as the old epoch's second batch: not a duplicate, simply next.
  auto next = table.check(batch(2, 2, 1));
  EXPECT_EQ(next.code, ErrorCode::kNone);
  EXPECT_FALSE(next.duplicate.has_value());
  EXPECT_EQ(table.check(batch(0, 2, 0)).code, ErrorCode::kInvalidProducerEpoch);
}

TEST(ProducerStateTest, SequencesWrapAfterInt32Max) {
  ProducerStateTable table;
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(INT32_MAX - 1, 2), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.find(kPid)->last_sequence(), INT32_MAX);
  ASSERT_EQ(append(table, batch(0, 3), next_offset).code, ErrorCode::kNone);
  // A batch spanning the wrap: INT32_MAX - 1 .. 1 is four records.
  ProducerStateTable wrapping;
  next_offset = 10;
  ASSERT_EQ(append(wrapping, batch(INT32_MAX - 1, 4), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(next_offset, 14);
  auto duplicate = wrapping.check(batch(INT32_MAX - 1, 4));
  ASSERT_TRUE(duplicate.duplicate.has_value());
  EXPECT_EQ(duplicate.duplicate->first_offset(), 10);
  EXPECT_EQ(wrapping.check(batch(2, 1)).code, ErrorCode::kNone);
  EXPECT_EQ(wrapping.check(batch(3, 1)).code, ErrorCode::kOutOfOrderSequenceNumber);
}

TEST(ProducerStateTest, TransactionsOpenAndCloseAndNonTransactionalWritesAreRefusedInside) {
  ProducerStateTable table;
  int64_t next_offset = 50;
  ASSERT_EQ(append(table, batch(0, 2, 0, kPid, true), next_offset).code, ErrorCode::kNone);
  ASSERT_EQ(append(table, batch(2, 2, 0, kPid, true), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.find(kPid)->current_txn_first_offset, 50);
  EXPECT_EQ(table.check(batch(4, 1, 0, kPid, false)).code, ErrorCode::kInvalidTxnState);
  EXPECT_EQ(table.end_transaction(kPid, 0, 1).code(), ErrorCode::kNone);
  EXPECT_EQ(table.find(kPid)->current_txn_first_offset, -1);
  auto again = table.end_transaction(kPid, 0, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(table.end_transaction(kPid, -1, 1).code(), ErrorCode::kInvalidProducerEpoch);
}

TEST(ProducerStateTest, EndTransactionReturnsTheFirstOffset) {
  ProducerStateTable table;
  int64_t next_offset = 7;
  ASSERT_EQ(append(table, batch(0, 3, 2, kPid, true), next_offset).code, ErrorCode::kNone);
  auto closed = table.end_transaction(kPid, 3, 1);
  ASSERT_TRUE(closed.ok());
  ASSERT_TRUE(closed->has_value());
  EXPECT_EQ(**closed, 7);
  EXPECT_EQ(table.find(kPid)->epoch, 3);  // a marker with a newer epoch bumps it
  EXPECT_EQ(table.check(batch(0, 1, 3)).code, ErrorCode::kNone);
}

TEST(ProducerStateTest, ExpiryDropsIdleProducersButNotOpenTransactions) {
  ProducerStateTable table;
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(0, 1, 0, 1), next_offset, /*now_ms=*/1000).code, ErrorCode::kNone);
  ASSERT_EQ(append(table, batch(0, 1, 0, 2), next_offset, 5000).code, ErrorCode::kNone);
  ASSERT_EQ(append(table, batch(0, 1, 0, 3, true), next_offset, 1000).code, ErrorCode::kNone);
  EXPECT_EQ(table.expire(10999, 10000), 0u);
  EXPECT_EQ(table.expire(11000, 10000), 1u);
  EXPECT_EQ(table.find(1), nullptr);
  EXPECT_NE(table.find(2), nullptr);
  EXPECT_NE(table.find(3), nullptr);
  EXPECT_EQ(table.expire(1000000, 10000), 1u);
  EXPECT_EQ(table.find(2), nullptr);
  EXPECT_NE(table.find(3), nullptr);
}

TEST(ProducerStateTest, TheBoundForgetsTheLeastRecentlyUsedIdleProducer) {
  ProducerStateTable table(ProducerStateConfig{3});
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(0, 1, 0, 1, true), next_offset, 1).code, ErrorCode::kNone);
  ASSERT_EQ(append(table, batch(0, 1, 0, 2), next_offset, 2).code, ErrorCode::kNone);
  ASSERT_EQ(append(table, batch(0, 1, 0, 3), next_offset, 3).code, ErrorCode::kNone);
  ASSERT_EQ(append(table, batch(1, 1, 0, 2), next_offset, 4).code, ErrorCode::kNone);
  // Producer 1 is the oldest but in a transaction; 3 is the least recently used idle one.
  ASSERT_EQ(append(table, batch(0, 1, 0, 4), next_offset, 5).code, ErrorCode::kNone);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_NE(table.find(1), nullptr);
  EXPECT_NE(table.find(2), nullptr);
  EXPECT_EQ(table.find(3), nullptr);
  EXPECT_NE(table.find(4), nullptr);
}

TEST(ProducerStateTest, AFullTableOfOpenTransactionsRefusesNewProducers) {
  ProducerStateTable table(ProducerStateConfig{2});
  int64_t next_offset = 0;
  ASSERT_EQ(append(table, batch(0, 1, 0, 1, true), next_offset).code, ErrorCode::kNone);
  ASSERT_EQ(append(table, batch(0, 1, 0, 2, true), next_offset).code, ErrorCode::kNone);
  EXPECT_EQ(table.check(batch(0, 1, 0, 3)).code, ErrorCode::kPolicyViolation);
  EXPECT_EQ(table.check(batch(1, 1, 0, 2, true)).code, ErrorCode::kNone);  // known ones go on
}

ProducerStateTable sample_table() {
  ProducerStateTable table;
  int64_t next_offset = 0;
  for (int i = 0; i < 7; ++i) (void)append(table, batch(i * 2, 2, 1, 7), next_offset, 100 + i);
  (void)append(table, batch(0, 3, 4, 3, true), next_offset, 50);
  (void)append(table, batch(INT32_MAX, 2, 0, 9), next_offset, 60);
  (void)table.end_transaction(12, 5, 70);  // an entry without batches
  return table;
}

TEST(ProducerStateTest, SnapshotRoundTripKeepsEverything) {
  ProducerStateTable table = sample_table();
  auto bytes = table.snapshot_bytes();
  ASSERT_TRUE(bytes.ok());
  auto loaded = ProducerStateTable::from_snapshot(*bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), table.size());
  for (int64_t id : {7, 3, 9, 12}) {
    const ProducerEntry* a = table.find(id);
    const ProducerEntry* b = loaded->find(id);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a->epoch, b->epoch);
    EXPECT_EQ(a->last_timestamp_ms, b->last_timestamp_ms);
    EXPECT_EQ(a->last_append_ms, b->last_append_ms);
    EXPECT_EQ(a->current_txn_first_offset, b->current_txn_first_offset);
    ASSERT_EQ(a->batch_count, b->batch_count);
    for (size_t i = 0; i < a->batch_count; ++i) {
      EXPECT_EQ(a->batches[i].first_sequence, b->batches[i].first_sequence);
      EXPECT_EQ(a->batches[i].last_sequence, b->batches[i].last_sequence);
      EXPECT_EQ(a->batches[i].last_offset, b->batches[i].last_offset);
      EXPECT_EQ(a->batches[i].timestamp_ms, b->batches[i].timestamp_ms);
    }
  }
  EXPECT_EQ(loaded->find(7)->batch_count, 5);
  EXPECT_TRUE(loaded->check(batch(4, 2, 1, 7)).duplicate.has_value());
  EXPECT_EQ(loaded->snapshot_bytes().value(), *bytes);
}

TEST(ProducerStateTest, SnapshotKeepsTheLeastRecentlyUsedOrderForTheBound) {
  auto bytes = sample_table().snapshot_bytes();
  ASSERT_TRUE(bytes.ok());
  // Bound 3: the least recently appended idle producer (9, at 60 ms; 3 has a txn) goes.
  auto loaded = ProducerStateTable::from_snapshot(*bytes, ProducerStateConfig{3});
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 3u);
  EXPECT_EQ(loaded->find(9), nullptr);
  EXPECT_NE(loaded->find(3), nullptr);
}

TEST(ProducerStateTest, EveryTruncatedSnapshotIsRejected) {
  auto bytes = sample_table().snapshot_bytes().value();
  for (size_t size = 0; size < bytes.size(); ++size) {
    auto loaded = ProducerStateTable::from_snapshot(std::span<const uint8_t>(bytes.data(), size));
    ASSERT_EQ(loaded.code(), ErrorCode::kCorruptMessage) << size;
  }
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(ProducerStateTable::from_snapshot(longer).code(), ErrorCode::kCorruptMessage);
}

TEST(ProducerStateTest, EveryFlippedBitInASnapshotIsRejected) {
  auto bytes = sample_table().snapshot_bytes().value();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto damaged = bytes;
      damaged[i] ^= static_cast<uint8_t>(1u << bit);
      ASSERT_EQ(ProducerStateTable::from_snapshot(damaged).code(), ErrorCode::kCorruptMessage)
          << i << " " << bit;
    }
  }
}

TEST(ProducerStateTest, GarbageWithAValidCrcIsRejected) {
  // A count claiming more entries than the file holds, with a correct CRC.
  std::vector<uint8_t> bytes = {0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
  store_be<uint32_t>(bytes.data() + 2, records::crc32c(std::span<const uint8_t>(bytes).subspan(6)));
  EXPECT_EQ(ProducerStateTable::from_snapshot(bytes).code(), ErrorCode::kCorruptMessage);
  // A negative producer id.
  ProducerStateTable table;
  int64_t next_offset = 0;
  (void)append(table, batch(0, 1, 0, 5), next_offset);
  auto good = table.snapshot_bytes().value();
  good[10] = 0x80;
  store_be<uint32_t>(good.data() + 2, records::crc32c(std::span<const uint8_t>(good).subspan(6)));
  EXPECT_EQ(ProducerStateTable::from_snapshot(good).code(), ErrorCode::kCorruptMessage);
}

TEST(ProducerStateTest, SnapshotFilesLoadTheNewestUsableOne) {
  testing::TempDir dir;
  ProducerStateTable table = sample_table();
  ASSERT_TRUE(write_snapshot(dir.path(), 100, table).ok());
  ASSERT_TRUE(write_snapshot(dir.path(), 200, table).ok());
  ASSERT_TRUE(write_snapshot(dir.path(), 300, table).ok());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "00000000000000000200.snapshot"));
  EXPECT_EQ(list_snapshot_offsets(dir.path()), (std::vector<int64_t>{100, 200, 300}));

  auto loaded = load_latest_snapshot(dir.path(), 250);
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->offset, 200);
  EXPECT_EQ((*loaded)->table.size(), table.size());

  // A damaged newest snapshot is deleted and the next older one used.
  { std::ofstream(snapshot_path(dir.path(), 300), std::ios::trunc) << "garbage"; }
  loaded = load_latest_snapshot(dir.path(), 1000);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->offset, 200);
  EXPECT_FALSE(std::filesystem::exists(snapshot_path(dir.path(), 300)));

  loaded = load_latest_snapshot(dir.path(), 99);
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->has_value());
}

TEST(ProducerStateTest, TruncateAfterAndDeleteBefore) {
  testing::TempDir dir;
  ProducerStateTable table;
  for (int64_t offset : {10, 20, 30, 40})
    ASSERT_TRUE(write_snapshot(dir.path(), offset, table).ok());
  { std::ofstream(dir.path() / "00000000000000000010.log") << "x"; }  // not a snapshot
  ASSERT_TRUE(truncate_snapshots_after(dir.path(), 30).ok());
  EXPECT_EQ(list_snapshot_offsets(dir.path()), (std::vector<int64_t>{10, 20, 30}));
  ASSERT_TRUE(delete_snapshots_before(dir.path(), 20).ok());
  EXPECT_EQ(list_snapshot_offsets(dir.path()), (std::vector<int64_t>{20, 30}));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "00000000000000000010.log"));
}

}  // namespace
}  // namespace fjord::storage
