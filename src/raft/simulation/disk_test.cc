// The simulated disk: a crash keeps what was synced and, with a torn write,
// only a prefix of what was not.
#include "raft/simulation/disk.h"

#include <gtest/gtest.h>

namespace fjord::raft::sim {
namespace {

Entry entry_at(Offset offset, Term term) {
  Entry entry;
  entry.offset = offset;
  entry.term = term;
  entry.data = std::make_shared<const Bytes>(Bytes{static_cast<uint8_t>(offset)});
  return entry;
}

std::vector<Entry> entries_from(Offset from, int count, Term term) {
  std::vector<Entry> entries;
  for (int i = 0; i < count; ++i) entries.push_back(entry_at(from + i, term));
  return entries;
}

TEST(SimDiskTest, ACrashKeepsExactlyWhatWasSynced) {
  SimDisk disk;
  disk.save_hard_state({.term = 2, .voted_for = 1});
  disk.append(entries_from(0, 3, 2));
  disk.sync();
  disk.save_hard_state({.term = 3, .voted_for = 2});
  disk.append(entries_from(3, 2, 3));
  EXPECT_TRUE(disk.has_unsynced_raft_state());
  EXPECT_EQ(disk.end_offset(), 5);
  Rng rng(1);
  disk.crash(rng, /*torn=*/false);
  EXPECT_FALSE(disk.has_unsynced_raft_state());
  EXPECT_EQ(disk.hard_state(), (HardState{.term = 2, .voted_for = 1}));
  EXPECT_EQ(disk.end_offset(), 3);
  EXPECT_EQ(disk.log().end_offset(), 3);
}

TEST(SimDiskTest, ATornWriteKeepsAPrefixOfTheUnsyncedWritesAndAllSyncedOnes) {
  bool saw_partial_append = false;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SimDisk disk;
    disk.append(entries_from(0, 2, 1));
    disk.sync();
    disk.append(entries_from(2, 6, 1));
    Rng rng(seed);
    disk.crash(rng, /*torn=*/true);
    ASSERT_GE(disk.end_offset(), 2);
    ASSERT_LE(disk.end_offset(), 8);
    saw_partial_append |= disk.end_offset() > 2 && disk.end_offset() < 8;
    ASSERT_EQ(disk.log().end_offset(), disk.end_offset());
  }
  EXPECT_TRUE(saw_partial_append);
}

TEST(SimDiskTest, TheLogViewFollowsTruncationAndSnapshots) {
  SimDisk disk;
  disk.append(entries_from(0, 4, 1));
  disk.append(entries_from(2, 3, 2));  // truncates 2.. and appends term 2
  ASSERT_EQ(disk.log().entries.size(), 5u);
  EXPECT_EQ(disk.log().entries[2].term, 2);
  EXPECT_EQ(disk.take_new_entries().size(), 7u);
  const uint64_t chain_at_3 = disk.log().entries[2].chain;
  SnapshotMeta meta;
  meta.end_offset = 3;
  meta.last_term = 2;
  disk.save_snapshot(meta, encode_state(3, chain_at_3));
  EXPECT_EQ(disk.log().start_offset, 3);
  EXPECT_EQ(disk.log().start_chain, chain_at_3);
  EXPECT_EQ(disk.log().entries.size(), 2u);
  EXPECT_TRUE(disk.take_new_entries().empty());
}

TEST(SimDiskTest, OnlyASnapshotTheNodeTookItselfMayStayUnsynced) {
  SimDisk disk;
  disk.append(entries_from(0, 4, 1));
  disk.sync();
  SnapshotMeta meta;
  meta.end_offset = 2;
  meta.last_term = 1;
  auto local = encode_state(2, disk.log().entries[1].chain);
  disk.expect_local_snapshot(local);
  disk.save_snapshot(meta, local);
  EXPECT_FALSE(disk.has_unsynced_raft_state());
  meta.end_offset = 3;
  disk.save_snapshot(meta, encode_state(3, disk.log().entries[0].chain));  // from a leader
  EXPECT_TRUE(disk.has_unsynced_raft_state());
}

TEST(SimDiskTest, StateEncodingRoundTrips) {
  auto [end, digest] = decode_state(encode_state(1234, 0xfeedface12345678ULL));
  EXPECT_EQ(end, 1234);
  EXPECT_EQ(digest, 0xfeedface12345678ULL);
  EXPECT_EQ(decode_state(nullptr), (std::pair<Offset, uint64_t>{0, 0}));
}

}  // namespace
}  // namespace fjord::raft::sim
