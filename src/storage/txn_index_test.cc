// The aborted-transaction index (.txnindex) and the open transactions / LSO.
#include "storage/txn_index.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "storage/file.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

void append_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::unique_ptr<TxnIndex> open_index(const fs::path& path, int64_t base) {
  auto index = TxnIndex::open(path, base);
  EXPECT_TRUE(index.ok()) << (index.ok() ? "" : index.error().message);
  return std::move(index).value();
}

TEST(TxnIndex, PathIsBesideTheSegment) {
  EXPECT_EQ(TxnIndex::path_for("/d", 42), fs::path("/d/00000000000000000042.txnindex"));
}

TEST(TxnIndex, MissingFileIsEmptyAndCreatedOnFirstAppend) {
  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 0);
  auto index = open_index(path, 0);
  EXPECT_TRUE(index->entries().empty());
  EXPECT_FALSE(fs::exists(path));
  auto first = index->append({7, 0, 5, 6});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->created_file);
  auto second = index->append({8, 3, 9, 10});
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created_file);
  EXPECT_EQ(fs::file_size(path), 2 * kAbortedTxnEntryBytes);
  EXPECT_TRUE(index->sync().ok());
}

TEST(TxnIndex, EntryLayoutIsKafkas34Bytes) {
  std::array<uint8_t, kAbortedTxnEntryBytes> bytes{};
  encode_aborted_txn({0x0102, 3, 4, 5}, bytes);
  const std::array<uint8_t, kAbortedTxnEntryBytes> expected{
      0, 0,                          // version
      0, 0, 0, 0, 0, 0, 0x01, 0x02,  // producer id
      0, 0, 0, 0, 0, 0, 0,    3,     // first offset
      0, 0, 0, 0, 0, 0, 0,    4,     // last offset
      0, 0, 0, 0, 0, 0, 0,    5};    // last stable offset
  EXPECT_EQ(bytes, expected);
}

TEST(TxnIndex, CollectReturnsEntriesOverlappingTheRange) {
  TempDir dir;
  auto index = open_index(TxnIndex::path_for(dir.path(), 100), 100);
  ASSERT_TRUE(index->append({1, 90, 110, 95}).ok());   // began in an earlier segment
  ASSERT_TRUE(index->append({2, 95, 120, 121}).ok());  // nothing else open after it
  ASSERT_TRUE(index->append({3, 130, 140, 141}).ok());

  auto all = index->collect_aborted(0, 1000);
  EXPECT_EQ(all.aborted, (std::vector<AbortedRange>{{1, 90}, {2, 95}, {3, 130}}));
  // [111, 125): txn 1 ended at 110, txn 3 began at 130.
  auto middle = index->collect_aborted(111, 125);
  EXPECT_EQ(middle.aborted, (std::vector<AbortedRange>{{2, 95}}));
  // [50, 91): only txn 1 began below 91; its entry's LSO 95 >= 91, so the search
  // stops there and says no later segment can add anything.
  auto early = index->collect_aborted(50, 91);
  EXPECT_EQ(early.aborted, (std::vector<AbortedRange>{{1, 90}}));
  EXPECT_TRUE(early.complete);
  // Ranges past the last entry's LSO are not complete: a later segment may hold
  // the marker of a transaction overlapping them.
  auto late = index->collect_aborted(141, 200);
  EXPECT_TRUE(late.aborted.empty());
  EXPECT_FALSE(late.complete);
  // Boundaries: last offset == from is included, first offset == upper is not.
  EXPECT_EQ(index->collect_aborted(140, 141).aborted, (std::vector<AbortedRange>{{3, 130}}));
  EXPECT_TRUE(index->collect_aborted(141, 142).aborted.empty());
  EXPECT_TRUE(index->collect_aborted(125, 130).aborted.empty());
}

TEST(TxnIndex, CollectAcrossSegmentsFindsTransactionsEndingInLaterSegments) {
  TempDir dir;
  auto first = open_index(TxnIndex::path_for(dir.path(), 0), 0);
  auto second = open_index(TxnIndex::path_for(dir.path(), 100), 100);
  auto third = open_index(TxnIndex::path_for(dir.path(), 200), 200);
  ASSERT_TRUE(first->append({1, 10, 20, 15}).ok());     // txn 4 (first 15) still open
  ASSERT_TRUE(second->append({4, 15, 150, 151}).ok());  // spans segments 0 and 100
  ASSERT_TRUE(third->append({5, 210, 220, 221}).ok());
  const std::vector<const TxnIndex*> from_first{first.get(), second.get(), third.get()};
  EXPECT_EQ(collect_aborted_transactions(from_first, 18, 60),
            (std::vector<AbortedRange>{{1, 10}, {4, 15}}));
  EXPECT_EQ(collect_aborted_transactions(from_first, 0, 1000),
            (std::vector<AbortedRange>{{1, 10}, {4, 15}, {5, 210}}));
  // The second segment's entry (LSO 151 >= 120) completes the search.
  EXPECT_EQ(collect_aborted_transactions(from_first, 0, 120),
            (std::vector<AbortedRange>{{1, 10}, {4, 15}}));
}

TEST(TxnIndex, CollectAcrossSegmentsStopsAtAnEntryWhoseLsoReachesTheUpperBound) {
  TempDir dir;
  auto first = open_index(TxnIndex::path_for(dir.path(), 0), 0);
  auto second = open_index(TxnIndex::path_for(dir.path(), 100), 100);
  ASSERT_TRUE(first->append({1, 10, 20, 21}).ok());  // nothing open after it
  // Inconsistent on purpose (LSO 21 said nothing below it was open): shows that
  // the walk does not look at later segments once the range is complete.
  ASSERT_TRUE(second->append({2, 15, 150, 151}).ok());
  const std::vector<const TxnIndex*> indexes{first.get(), second.get()};
  EXPECT_EQ(collect_aborted_transactions(indexes, 0, 21), (std::vector<AbortedRange>{{1, 10}}));
  EXPECT_EQ(collect_aborted_transactions(indexes, 0, 22),
            (std::vector<AbortedRange>{{1, 10}, {2, 15}}));
}

TEST(TxnIndex, ReopenReadsTheSameEntries) {
  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 50);
  std::vector<AbortedTxn> written{{1, 40, 55, 56}, {2, 56, 60, 58}, {9, 58, 70, 71}};
  {
    auto index = open_index(path, 50);
    for (const auto& e : written) ASSERT_TRUE(index->append(e).ok());
    ASSERT_TRUE(index->sync().ok());
  }
  auto reopened = open_index(path, 50);
  EXPECT_EQ(reopened->entries(), written);
  ASSERT_TRUE(reopened->append({3, 71, 80, 81}).ok());
  EXPECT_EQ(open_index(path, 50)->entries().size(), 4u);
}

TEST(TxnIndex, TornTailIsTruncated) {
  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 0);
  {
    auto index = open_index(path, 0);
    ASSERT_TRUE(index->append({1, 0, 5, 6}).ok());
    ASSERT_TRUE(index->append({2, 6, 9, 10}).ok());
  }
  std::array<uint8_t, kAbortedTxnEntryBytes> third{};
  encode_aborted_txn({3, 10, 20, 21}, third);
  append_bytes(path, std::vector<uint8_t>(third.begin(), third.begin() + 20));  // torn write

  auto index = open_index(path, 0);
  EXPECT_EQ(index->entries(), (std::vector<AbortedTxn>{{1, 0, 5, 6}, {2, 6, 9, 10}}));
  EXPECT_EQ(fs::file_size(path), 2 * kAbortedTxnEntryBytes);
  ASSERT_TRUE(index->append({3, 10, 20, 21}).ok());
  EXPECT_EQ(open_index(path, 0)->entries().size(), 3u);
}

TEST(TxnIndex, TrailingZeroEntriesAreATornTail) {
  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 0);
  {
    auto index = open_index(path, 0);
    ASSERT_TRUE(index->append({1, 0, 5, 6}).ok());
  }
  append_bytes(path, std::vector<uint8_t>(2 * kAbortedTxnEntryBytes + 3, 0));
  auto index = open_index(path, 0);
  EXPECT_EQ(index->entries(), (std::vector<AbortedTxn>{{1, 0, 5, 6}}));
  EXPECT_EQ(fs::file_size(path), kAbortedTxnEntryBytes);
}

TEST(TxnIndex, GarbageIsCorruptMessage) {
  std::array<uint8_t, kAbortedTxnEntryBytes> good{};
  encode_aborted_txn({1, 100, 105, 106}, good);
  auto parse_with = [&](const std::function<void(std::vector<uint8_t>&)>& damage) {
    std::vector<uint8_t> bytes(good.begin(), good.end());
    damage(bytes);
    return parse_txn_index(bytes, 100).code();
  };
  EXPECT_EQ(parse_with([](auto&) {}), ErrorCode::kNone);
  EXPECT_EQ(parse_with([](auto& b) { b[1] = 1; }), ErrorCode::kCorruptMessage);     // version 1
  EXPECT_EQ(parse_with([](auto& b) { b[2] = 0x80; }), ErrorCode::kCorruptMessage);  // pid < 0
  EXPECT_EQ(parse_with([](auto& b) { b[17] = 200; }), ErrorCode::kCorruptMessage);  // first > last
  EXPECT_EQ(parse_with([](auto& b) {
              b[25] = 99;
              b[17] = 1;
              b[33] = 100;
            }),
            ErrorCode::kCorruptMessage);  // marker below the segment base
  EXPECT_EQ(parse_with([](auto& b) { b[33] = 107; }), ErrorCode::kCorruptMessage);  // LSO > last+1
  // Entries whose markers do not increase.
  std::vector<uint8_t> twice(good.begin(), good.end());
  twice.insert(twice.end(), good.begin(), good.end());
  EXPECT_EQ(parse_txn_index(twice, 100).code(), ErrorCode::kCorruptMessage);

  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 100);
  std::vector<uint8_t> bytes(good.begin(), good.end());
  bytes[0] = 0x7f;
  append_bytes(path, bytes);
  auto index = TxnIndex::open(path, 100);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.code(), ErrorCode::kCorruptMessage);
  EXPECT_EQ(fs::file_size(path), kAbortedTxnEntryBytes);  // left for the owner to rebuild
}

TEST(TxnIndex, TruncateToRemovesMarkersAtOrAboveTheOffset) {
  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 0);
  auto index = open_index(path, 0);
  ASSERT_TRUE(index->append({1, 0, 5, 6}).ok());
  ASSERT_TRUE(index->append({2, 6, 9, 10}).ok());
  ASSERT_TRUE(index->append({3, 10, 20, 21}).ok());
  ASSERT_TRUE(index->truncate_to(25).ok());
  EXPECT_EQ(index->entries().size(), 3u);
  ASSERT_TRUE(index->truncate_to(9).ok());
  EXPECT_EQ(index->entries(), (std::vector<AbortedTxn>{{1, 0, 5, 6}}));
  EXPECT_EQ(fs::file_size(path), kAbortedTxnEntryBytes);
  ASSERT_TRUE(index->append({4, 6, 8, 9}).ok());  // the log continues after the truncation
  EXPECT_EQ(open_index(path, 0)->entries(), (std::vector<AbortedTxn>{{1, 0, 5, 6}, {4, 6, 8, 9}}));
  ASSERT_TRUE(index->truncate_to(0).ok());
  EXPECT_TRUE(open_index(path, 0)->entries().empty());
}

TEST(TxnIndex, TruncateAfterReopenWorksWithoutAnOpenFile) {
  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 0);
  {
    auto index = open_index(path, 0);
    ASSERT_TRUE(index->append({1, 0, 5, 6}).ok());
    ASSERT_TRUE(index->append({2, 6, 9, 10}).ok());
  }
  auto index = open_index(path, 0);
  EXPECT_EQ(index->file(), nullptr);
  ASSERT_TRUE(index->truncate_to(6).ok());
  EXPECT_EQ(open_index(path, 0)->entries().size(), 1u);
}

TEST(TxnIndex, RemoveDeletesTheFile) {
  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 0);
  auto index = open_index(path, 0);
  ASSERT_TRUE(index->remove().ok());  // no file yet: fine
  ASSERT_TRUE(index->append({1, 0, 5, 6}).ok());
  ASSERT_TRUE(index->remove().ok());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(index->entries().empty());
}

TEST(OngoingTransactions, BeginIfNewKeepsTheFirstOffset) {
  OngoingTransactions txns;
  EXPECT_TRUE(txns.begin_if_new(7, 10));
  EXPECT_FALSE(txns.begin_if_new(7, 15));
  EXPECT_EQ(txns.open_first_offset(7), 10);
  EXPECT_EQ(txns.open_first_offset(8), std::nullopt);
  EXPECT_EQ(txns.open_count(), 1u);
}

TEST(OngoingTransactions, LastStableOffsetIsHighWatermarkWithoutTransactions) {
  OngoingTransactions txns;
  EXPECT_EQ(txns.first_unstable_offset(), std::nullopt);
  EXPECT_EQ(txns.last_stable_offset(42), 42);
}

TEST(OngoingTransactions, LastStableOffsetFollowsTheOldestOpenTransaction) {
  OngoingTransactions txns;
  txns.begin_if_new(1, 10);
  txns.begin_if_new(2, 12);
  txns.begin_if_new(3, 15);
  EXPECT_EQ(txns.first_unstable_offset(), 10);
  EXPECT_EQ(txns.last_stable_offset(20), 10);
  EXPECT_EQ(txns.last_stable_offset(8), 8);  // never above the high watermark

  // The middle one commits: the oldest still bounds the LSO.
  EXPECT_EQ(txns.complete(2, 20, /*aborted=*/false), std::nullopt);
  txns.advance_high_watermark(21);
  EXPECT_EQ(txns.last_stable_offset(21), 10);
  // The oldest aborts: its entry's LSO is the next open transaction's start.
  auto entry = txns.complete(1, 21, /*aborted=*/true);
  ASSERT_TRUE(entry);
  EXPECT_EQ(*entry, (AbortedTxn{1, 10, 21, 15}));
  txns.advance_high_watermark(22);
  EXPECT_EQ(txns.last_stable_offset(22), 15);
  // The last one aborts: nothing open, entry LSO is marker + 1.
  entry = txns.complete(3, 22, /*aborted=*/true);
  EXPECT_EQ(*entry, (AbortedTxn{3, 15, 22, 23}));
  txns.advance_high_watermark(23);
  EXPECT_EQ(txns.first_unstable_offset(), std::nullopt);
  EXPECT_EQ(txns.last_stable_offset(23), 23);
  EXPECT_EQ(txns.open_count(), 0u);
  EXPECT_EQ(txns.unreplicated_count(), 0u);
}

TEST(OngoingTransactions, CompletedTransactionStaysUnstableUntilTheHighWatermarkPassesItsMarker) {
  OngoingTransactions txns;
  txns.begin_if_new(1, 10);
  EXPECT_EQ(txns.complete(1, 30, /*aborted=*/false), std::nullopt);
  EXPECT_EQ(txns.open_count(), 0u);
  EXPECT_EQ(txns.first_unstable_offset(), 10);
  EXPECT_EQ(txns.last_stable_offset(25), 10);  // marker 30 not yet replicated
  EXPECT_EQ(txns.last_stable_offset(30), 10);
  EXPECT_EQ(txns.last_stable_offset(31), 31);  // marker below the HW: stable
  txns.advance_high_watermark(30);
  EXPECT_EQ(txns.unreplicated_count(), 1u);
  txns.advance_high_watermark(31);
  EXPECT_EQ(txns.unreplicated_count(), 0u);
  EXPECT_EQ(txns.first_unstable_offset(), std::nullopt);
}

TEST(OngoingTransactions, EntryLsoIgnoresTheAbortingProducerAndLaterStarts) {
  OngoingTransactions txns;
  // Starts in an order different from producer ids.
  txns.begin_if_new(9, 5);
  txns.begin_if_new(3, 7);
  txns.begin_if_new(5, 6);
  auto entry = txns.complete(9, 11, /*aborted=*/true);
  EXPECT_EQ(*entry, (AbortedTxn{9, 5, 11, 6}));
  txns.advance_high_watermark(12);
  EXPECT_EQ(txns.last_stable_offset(12), 6);
  entry = txns.complete(3, 12, /*aborted=*/true);
  EXPECT_EQ(*entry, (AbortedTxn{3, 7, 12, 6}));  // producer 5 (first 6) still open
  // Producer 9 begins a new transaction; the old abort does not affect it.
  EXPECT_TRUE(txns.begin_if_new(9, 13));
  txns.advance_high_watermark(14);
  EXPECT_EQ(txns.last_stable_offset(14), 6);
  txns.complete(5, 14, /*aborted=*/false);
  txns.advance_high_watermark(15);
  EXPECT_EQ(txns.last_stable_offset(15), 13);
}

TEST(OngoingTransactions, MarkerWithoutDataStartsAtTheMarker) {
  OngoingTransactions txns;
  auto entry = txns.complete(4, 50, /*aborted=*/true);
  ASSERT_TRUE(entry);
  EXPECT_EQ(*entry, (AbortedTxn{4, 50, 50, 51}));
}

TEST(OngoingTransactions, EntriesFromCompleteLoadBackFromTheIndex) {
  TempDir dir;
  const fs::path path = TxnIndex::path_for(dir.path(), 0);
  OngoingTransactions txns;
  auto index = open_index(path, 0);
  txns.begin_if_new(1, 0);
  txns.begin_if_new(2, 1);
  ASSERT_TRUE(index->append(*txns.complete(2, 3, true)).ok());
  ASSERT_TRUE(index->append(*txns.complete(1, 4, true)).ok());
  EXPECT_EQ(open_index(path, 0)->entries(), (std::vector<AbortedTxn>{{2, 1, 3, 0}, {1, 0, 4, 5}}));
}

}  // namespace
}  // namespace fjord::storage
