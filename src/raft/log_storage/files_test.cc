// The quorum-state and snapshot files: round trips, and every damage is an error.
#include <gtest/gtest.h>

#include <fstream>

#include "raft/log_storage/quorum_state.h"
#include "raft/log_storage/snapshot_file.h"
#include "storage/file.h"
#include "storage/test_util.h"

namespace fjord::raft {
namespace {

using storage::testing::TempDir;

TEST(QuorumState, RoundTripsThroughTheFile) {
  TempDir dir;
  auto missing = read_quorum_state(dir.path());
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, HardState{});
  ASSERT_TRUE(write_quorum_state(dir.path(), HardState{7, 3}).ok());
  auto read = read_quorum_state(dir.path());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, (HardState{7, 3}));
  ASSERT_TRUE(write_quorum_state(dir.path(), HardState{8, kNoNode}).ok());
  EXPECT_EQ(*read_quorum_state(dir.path()), (HardState{8, kNoNode}));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "quorum-state.tmp"));
}

TEST(QuorumState, EveryFlippedBitAndEveryTruncationIsAnError) {
  const auto good = encode_quorum_state(HardState{123456789, 42});
  ASSERT_EQ(good.size(), kQuorumStateBytes);
  for (size_t bit = 0; bit < good.size() * 8; ++bit) {
    auto bad = good;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(parse_quorum_state(bad).code(), ErrorCode::kCorruptMessage) << "bit " << bit;
  }
  for (size_t size = 0; size < good.size(); ++size) {
    EXPECT_EQ(parse_quorum_state(std::span(good).first(size)).code(), ErrorCode::kCorruptMessage);
  }
  auto longer = good;
  longer.push_back(0);
  EXPECT_FALSE(parse_quorum_state(longer).ok());
}

TEST(QuorumState, ATornFileIsAnErrorAtOpenNotTermZero) {
  TempDir dir;
  ASSERT_TRUE(write_quorum_state(dir.path(), HardState{5, 1}).ok());
  std::filesystem::resize_file(dir.path() / kQuorumStateFile, 10);
  auto read = read_quorum_state(dir.path());
  EXPECT_EQ(read.code(), ErrorCode::kCorruptMessage);
  std::ofstream(dir.path() / kQuorumStateFile, std::ios::trunc).close();  // empty
  EXPECT_EQ(read_quorum_state(dir.path()).code(), ErrorCode::kCorruptMessage);
}

SnapshotMeta meta_of(Offset end, Term term, Config config = {{1, 2, 3}, {9}}) {
  return SnapshotMeta{end, term, std::move(config)};
}

TEST(SnapshotFile, NamesSortByEndThenTerm) {
  EXPECT_EQ(snapshot_file_name({1200, 4}), "00000000000000001200-0000000004.checkpoint");
  auto id = parse_snapshot_file_name("00000000000000001200-0000000004.checkpoint");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->end_offset, 1200);
  EXPECT_EQ(id->last_term, 4);
  EXPECT_FALSE(parse_snapshot_file_name("00000000000000001200-0000000004.checkpoint.tmp"));
  EXPECT_FALSE(parse_snapshot_file_name("0000000000000000120x-0000000004.checkpoint"));
  EXPECT_FALSE(parse_snapshot_file_name("-0000000000000001200-000000004.checkpoint"));
  EXPECT_FALSE(parse_snapshot_file_name("log-start-offset.checkpoint"));
}

TEST(SnapshotFile, RoundTripsMetaAndData) {
  const Bytes data = {1, 2, 3, 4, 5};
  auto encoded = encode_snapshot(meta_of(100, 3), data);
  auto parsed = parse_snapshot(encoded);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->meta.end_offset, 100);
  EXPECT_EQ(parsed->meta.last_term, 3);
  EXPECT_EQ(parsed->meta.config, (Config{{1, 2, 3}, {9}}));
  EXPECT_EQ(*parsed->data, data);
  auto empty = parse_snapshot(encode_snapshot(meta_of(0, 0, {}), {}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->data->empty());
}

TEST(SnapshotFile, EveryFlippedBitAndEveryTruncationIsAnError) {
  const Bytes data = {9, 8, 7};
  const auto good = encode_snapshot(meta_of(100, 3), data);
  for (size_t bit = 0; bit < good.size() * 8; ++bit) {
    auto bad = good;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(parse_snapshot(bad).code(), ErrorCode::kCorruptMessage) << "bit " << bit;
  }
  for (size_t size = 0; size < good.size(); ++size) {
    EXPECT_FALSE(parse_snapshot(std::span(good).first(size)).ok()) << size;
  }
}

TEST(SnapshotFile, RejectsAConfigThatIsNotSortedOrOverlaps) {
  EXPECT_FALSE(parse_snapshot(encode_snapshot(meta_of(1, 1, {{2, 1}, {}}), {})).ok());
  EXPECT_FALSE(parse_snapshot(encode_snapshot(meta_of(1, 1, {{1, 2}, {2}}), {})).ok());
  EXPECT_FALSE(parse_snapshot(encode_snapshot(meta_of(-1, 1), {})).ok());
}

TEST(SnapshotFile, NewestValidOneLoadsAndOldOnesGo) {
  TempDir dir;
  auto none = load_newest_snapshot(dir.path());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  for (Offset end : {10, 20, 30}) {
    const Bytes data(static_cast<size_t>(end), 1);
    ASSERT_TRUE(write_snapshot_file(dir.path(), meta_of(end, end / 10), data).ok());
  }
  auto newest = load_newest_snapshot(dir.path());
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->meta.end_offset, 30);
  EXPECT_EQ((*newest)->data->size(), 30u);
  // A damaged newest file: the one before it loads.
  std::filesystem::resize_file(dir.path() / snapshot_file_name({30, 3}), 40);
  newest = load_newest_snapshot(dir.path());
  ASSERT_TRUE(newest.ok() && newest->has_value());
  EXPECT_EQ((*newest)->meta.end_offset, 20);
  // A file whose content does not match its name is skipped too.
  std::filesystem::copy_file(dir.path() / snapshot_file_name({10, 1}),
                             dir.path() / snapshot_file_name({25, 2}));
  newest = load_newest_snapshot(dir.path());
  EXPECT_EQ((*newest)->meta.end_offset, 20);
  delete_old_snapshots(dir.path(), 2);
  const auto left = list_snapshots(dir.path());
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].end_offset, 25);
  EXPECT_EQ(left[1].end_offset, 30);
}

}  // namespace
}  // namespace fjord::raft
