#include "raft/memory_storage.h"

#include <gtest/gtest.h>

namespace fjord::raft {
namespace {

Entry make_entry(Offset offset, int32_t count, Term term, uint8_t byte = 0) {
  return Entry{.offset = offset,
               .count = count,
               .term = term,
               .type = EntryType::kData,
               .config = {},
               .data = std::make_shared<const Bytes>(Bytes(10, byte))};
}

TEST(MemoryStorageTest, EmptyStorageHasNoTermsAndNoEntries) {
  MemoryStorage storage;
  EXPECT_EQ(storage.start_offset(), 0);
  EXPECT_EQ(storage.end_offset(), 0);
  EXPECT_EQ(storage.term_at(0), std::nullopt);
  EXPECT_EQ(storage.term_at(-1), std::nullopt);
  EXPECT_TRUE(storage.entries(0, 10, 100).empty());
  EXPECT_EQ(storage.hard_state(), HardState{});
}

TEST(MemoryStorageTest, TermAtWorksForEveryOffsetInsideABatch) {
  MemoryStorage storage;
  std::vector<Entry> entries = {make_entry(0, 3, 1), make_entry(3, 2, 2)};
  storage.append(entries);
  EXPECT_EQ(storage.end_offset(), 5);
  EXPECT_EQ(storage.term_at(0), 1);
  EXPECT_EQ(storage.term_at(2), 1);
  EXPECT_EQ(storage.term_at(3), 2);
  EXPECT_EQ(storage.term_at(4), 2);
  EXPECT_EQ(storage.term_at(5), std::nullopt);
}

TEST(MemoryStorageTest, AppendTruncatesFromTheFirstNewEntry) {
  MemoryStorage storage;
  std::vector<Entry> first = {make_entry(0, 2, 1), make_entry(2, 2, 1), make_entry(4, 1, 1)};
  storage.append(first);
  std::vector<Entry> second = {make_entry(2, 5, 3)};
  storage.append(second);
  EXPECT_EQ(storage.end_offset(), 7);
  EXPECT_EQ(storage.term_at(1), 1);
  EXPECT_EQ(storage.term_at(2), 3);
  EXPECT_EQ(storage.term_at(6), 3);
  ASSERT_EQ(storage.entries(0, 100, 1000).size(), 2u);
}

TEST(MemoryStorageTest, EntriesRespectTheRangeAndTheByteLimitButReturnAtLeastOne) {
  MemoryStorage storage;
  std::vector<Entry> entries = {make_entry(0, 1, 1), make_entry(1, 1, 1), make_entry(2, 1, 1)};
  storage.append(entries);
  EXPECT_EQ(storage.entries(0, 3, 1).size(), 1u);  // 10 bytes each, limit 1: still one
  EXPECT_EQ(storage.entries(0, 3, 20).size(), 2u);
  EXPECT_EQ(storage.entries(1, 2, 1000).size(), 1u);
  EXPECT_EQ(storage.entries(1, 3, 1000).front().offset, 1);
}

TEST(MemoryStorageTest, SnapshotDropsThePrefixWhenTheLogMatches) {
  MemoryStorage storage;
  std::vector<Entry> entries = {make_entry(0, 2, 1), make_entry(2, 2, 2), make_entry(4, 1, 2)};
  storage.append(entries);
  Config config{.voters = {1, 2, 3}, .learners = {}};
  storage.save_snapshot({.end_offset = 4, .last_term = 2, .config = config},
                        std::make_shared<const Bytes>(Bytes{1, 2}));
  EXPECT_EQ(storage.start_offset(), 4);
  EXPECT_EQ(storage.end_offset(), 5);
  EXPECT_EQ(storage.term_at(3), 2);  // the snapshot's last term
  EXPECT_EQ(storage.term_at(2), std::nullopt);
  EXPECT_EQ(storage.term_at(4), 2);
  EXPECT_EQ(storage.snapshot_meta().config, config);
  EXPECT_EQ(*storage.snapshot_data(), (Bytes{1, 2}));
}

TEST(MemoryStorageTest, SnapshotDropsTheWholeLogWhenItDoesNotMatch) {
  MemoryStorage storage;
  std::vector<Entry> entries = {make_entry(0, 2, 1), make_entry(2, 2, 1)};
  storage.append(entries);
  storage.save_snapshot({.end_offset = 10, .last_term = 5, .config = {}}, nullptr);
  EXPECT_EQ(storage.start_offset(), 10);
  EXPECT_EQ(storage.end_offset(), 10);
  EXPECT_EQ(storage.term_at(9), 5);
  std::vector<Entry> more = {make_entry(10, 1, 5)};
  storage.append(more);
  EXPECT_EQ(storage.end_offset(), 11);
}

TEST(MemoryStorageTest, CopiesAreIndependent) {
  MemoryStorage storage;
  storage.save_hard_state({.term = 3, .voted_for = 2});
  std::vector<Entry> entries = {make_entry(0, 1, 3)};
  storage.append(entries);
  MemoryStorage durable = storage;
  std::vector<Entry> more = {make_entry(1, 1, 3)};
  storage.append(more);
  storage.save_hard_state({.term = 4, .voted_for = kNoNode});
  EXPECT_EQ(durable.end_offset(), 1);
  EXPECT_EQ(durable.hard_state().term, 3);
  EXPECT_EQ(storage.end_offset(), 2);
}

}  // namespace
}  // namespace fjord::raft
