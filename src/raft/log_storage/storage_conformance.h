// The behaviour every raft::Storage shares (storage.h), as a typed GoogleTest
// suite: instantiate it with a harness type that has
//   Storage& storage();  // the storage under test
//   void restart();      // a restart after sync(): a new instance on the same state
// LogStorage instantiates it in log_storage_test.cc; MemoryStorage can too.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "raft/log_storage/entry_matchers.h"
#include "raft/log_storage/test_entries.h"
#include "raft/storage.h"

namespace fjord::raft::testing {

// Term 1: a leader change, a config, 3 data entries of 1..3 records: offsets [0, 8).
inline std::vector<Entry> first_term_entries() {
  return {control_entry(0, 1, EntryType::kLeaderChange),
          control_entry(1, 1, EntryType::kConfig, Config{{1, 2, 3}, {4}}), data_entry(2, 1, 1, 1),
          data_entry(3, 1, 2, 2), data_entry(5, 1, 3, 3)};
}

template <typename Harness>
class StorageConformance : public ::testing::Test {
 protected:
  Harness harness_;
  Storage& storage() { return harness_.storage(); }
  void restart() { harness_.restart(); }
  std::vector<Entry> all() {
    return storage().entries(storage().start_offset(), INT64_MAX, SIZE_MAX);
  }
};

TYPED_TEST_SUITE_P(StorageConformance);

TYPED_TEST_P(StorageConformance, EmptyStorage) {
  Storage& s = this->storage();
  EXPECT_EQ(s.hard_state(), HardState{});
  EXPECT_EQ(s.snapshot_meta().end_offset, 0);
  EXPECT_EQ(s.snapshot_meta().config, Config{});
  EXPECT_EQ(s.start_offset(), 0);
  EXPECT_EQ(s.end_offset(), 0);
  EXPECT_EQ(s.term_at(-1), std::nullopt);
  EXPECT_EQ(s.term_at(0), std::nullopt);
  EXPECT_TRUE(s.entries(0, 10, 1000).empty());
}

TYPED_TEST_P(StorageConformance, HardStateSurvivesARestart) {
  this->storage().save_hard_state(HardState{3, 2});
  EXPECT_EQ(this->storage().hard_state(), (HardState{3, 2}));
  this->storage().sync();
  this->restart();
  EXPECT_EQ(this->storage().hard_state(), (HardState{3, 2}));
  this->storage().save_hard_state(HardState{4, kNoNode});
  this->storage().sync();
  this->restart();
  EXPECT_EQ(this->storage().hard_state(), (HardState{4, kNoNode}));
}

TYPED_TEST_P(StorageConformance, AppendedEntriesReadBackAtOnceAndAfterARestart) {
  const auto entries = first_term_entries();
  this->storage().append(entries);
  EXPECT_EQ(this->storage().end_offset(), 8);
  expect_same_entries(this->all(), entries);  // buffered, readable at once
  this->storage().sync();
  this->restart();
  EXPECT_EQ(this->storage().start_offset(), 0);
  EXPECT_EQ(this->storage().end_offset(), 8);
  expect_same_entries(this->all(), entries);
}

TYPED_TEST_P(StorageConformance, TermAtAnyOffsetInsideAnEntry) {
  auto entries = first_term_entries();
  entries.push_back(control_entry(8, 3, EntryType::kLeaderChange));
  entries.push_back(data_entry(9, 3, 4));
  entries.push_back(data_entry(13, 5, 2));
  this->storage().append(entries);
  for (int round = 0; round < 2; ++round) {
    Storage& s = this->storage();
    EXPECT_EQ(s.term_at(-1), std::nullopt);
    for (Offset o = 0; o < 8; ++o) EXPECT_EQ(s.term_at(o), 1) << o;
    for (Offset o = 8; o < 13; ++o) EXPECT_EQ(s.term_at(o), 3) << o;
    EXPECT_EQ(s.term_at(13), 5);
    EXPECT_EQ(s.term_at(14), 5);
    EXPECT_EQ(s.term_at(15), std::nullopt);
    s.sync();
    this->restart();
  }
}

TYPED_TEST_P(StorageConformance, EntriesRespectsToAndMaxBytes) {
  const auto entries = first_term_entries();
  this->storage().append(entries);
  Storage& s = this->storage();
  expect_same_entries(s.entries(2, 5, SIZE_MAX), {entries[2], entries[3]});
  expect_same_entries(s.entries(5, 100, SIZE_MAX), {entries[4]});
  // At least one entry however small max_bytes is.
  expect_same_entries(s.entries(2, 8, 1), {entries[2]});
  EXPECT_LT(s.entries(0, 8, 200).size(), entries.size());
  EXPECT_TRUE(s.entries(8, 20, 1000).empty());
}

TYPED_TEST_P(StorageConformance, AppendTruncatesTheSuffix) {
  auto entries = first_term_entries();
  this->storage().append(entries);
  std::vector<Entry> replacement = {control_entry(3, 2, EntryType::kLeaderChange),
                                    data_entry(4, 2, 5, 9)};
  this->storage().append(replacement);
  EXPECT_EQ(this->storage().end_offset(), 9);
  std::vector<Entry> expected(entries.begin(), entries.begin() + 3);
  expected.insert(expected.end(), replacement.begin(), replacement.end());
  expect_same_entries(this->all(), expected);
  EXPECT_EQ(this->storage().term_at(2), 1);
  EXPECT_EQ(this->storage().term_at(3), 2);
  EXPECT_EQ(this->storage().term_at(8), 2);
  this->storage().sync();
  this->restart();
  expect_same_entries(this->all(), expected);
  EXPECT_EQ(this->storage().term_at(3), 2);
  // Appending at the very end truncates nothing; at the start, everything.
  this->storage().append(std::vector<Entry>{data_entry(9, 2, 1)});
  EXPECT_EQ(this->storage().end_offset(), 10);
  this->storage().append(std::vector<Entry>{control_entry(0, 4, EntryType::kLeaderChange)});
  EXPECT_EQ(this->storage().end_offset(), 1);
  EXPECT_EQ(this->storage().term_at(0), 4);
}

TYPED_TEST_P(StorageConformance, SnapshotDropsTheLogPrefix) {
  const auto entries = first_term_entries();
  this->storage().append(entries);
  auto data = std::make_shared<const Bytes>(Bytes{1, 2, 3});
  this->storage().save_snapshot(SnapshotMeta{5, 1, Config{{1, 2, 3}, {}}}, data);
  for (int round = 0; round < 2; ++round) {
    Storage& s = this->storage();
    EXPECT_EQ(s.start_offset(), 5);
    EXPECT_EQ(s.end_offset(), 8);
    EXPECT_EQ(s.snapshot_meta().end_offset, 5);
    EXPECT_EQ(s.snapshot_meta().last_term, 1);
    EXPECT_EQ(s.snapshot_meta().config, (Config{{1, 2, 3}, {}}));
    EXPECT_EQ(*s.snapshot_data(), *data);
    EXPECT_EQ(s.term_at(4), 1);  // the snapshot's last term
    EXPECT_EQ(s.term_at(3), std::nullopt);
    EXPECT_EQ(s.term_at(7), 1);
    expect_same_entries(this->all(), {entries[4]});
    s.sync();
    this->restart();
  }
}

TYPED_TEST_P(StorageConformance, SnapshotThatDoesNotMatchDropsTheWholeLog) {
  this->storage().append(first_term_entries());
  this->storage().save_snapshot(SnapshotMeta{5, 2, Config{{1}, {}}}, nullptr);
  EXPECT_EQ(this->storage().start_offset(), 5);
  EXPECT_EQ(this->storage().end_offset(), 5);
  EXPECT_EQ(this->storage().term_at(4), 2);
  this->storage().append(std::vector<Entry>{data_entry(5, 3, 2)});
  this->storage().sync();
  this->restart();
  EXPECT_EQ(this->storage().start_offset(), 5);
  EXPECT_EQ(this->storage().end_offset(), 7);
  EXPECT_EQ(this->storage().term_at(4), 2);
  EXPECT_EQ(this->storage().term_at(6), 3);
}

TYPED_TEST_P(StorageConformance, SnapshotBeyondTheLogEnd) {
  this->storage().append(first_term_entries());
  this->storage().save_snapshot(SnapshotMeta{100, 6, Config{{1, 2}, {}}},
                                std::make_shared<const Bytes>(Bytes{7}));
  this->storage().sync();
  this->restart();
  EXPECT_EQ(this->storage().start_offset(), 100);
  EXPECT_EQ(this->storage().end_offset(), 100);
  EXPECT_EQ(this->storage().term_at(99), 6);
  EXPECT_TRUE(this->all().empty());
  this->storage().append(std::vector<Entry>{control_entry(100, 7, EntryType::kLeaderChange)});
  EXPECT_EQ(this->storage().end_offset(), 101);
}

TYPED_TEST_P(StorageConformance, BootstrapSnapshotAtOffsetZero) {
  this->storage().save_snapshot(SnapshotMeta{0, 0, Config{{1, 2, 3}, {}}}, nullptr);
  this->storage().sync();
  this->restart();
  EXPECT_EQ(this->storage().snapshot_meta().config, (Config{{1, 2, 3}, {}}));
  EXPECT_EQ(this->storage().start_offset(), 0);
  EXPECT_EQ(this->storage().term_at(-1), std::nullopt);
}

REGISTER_TYPED_TEST_SUITE_P(StorageConformance, EmptyStorage, HardStateSurvivesARestart,
                            AppendedEntriesReadBackAtOnceAndAfterARestart,
                            TermAtAnyOffsetInsideAnEntry, EntriesRespectsToAndMaxBytes,
                            AppendTruncatesTheSuffix, SnapshotDropsTheLogPrefix,
                            SnapshotThatDoesNotMatchDropsTheWholeLog, SnapshotBeyondTheLogEnd,
                            BootstrapSnapshotAtOffsetZero);

}  // namespace fjord::raft::testing
