#include "raft/transport/snapshot_chunks.h"

#include <gtest/gtest.h>

#include <numeric>

namespace fjord::raft::transport {
namespace {

Message snapshot_message(size_t bytes, GroupId group = 7) {
  Message m;
  m.type = MessageType::kSnapshot;
  m.group = group;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.snapshot = SnapshotMeta{.end_offset = 100, .last_term = 3, .config = {{1, 2, 3}, {}}};
  Bytes data(bytes);
  std::iota(data.begin(), data.end(), uint8_t{0});
  m.snapshot_data = std::make_shared<const Bytes>(std::move(data));
  return m;
}

TEST(SnapshotChunks, ASmallSnapshotOrAnotherMessageIsNotSplit) {
  EXPECT_EQ(split_snapshot(snapshot_message(100), 100).size(), 1u);
  Message append;
  append.type = MessageType::kAppend;
  auto out = split_snapshot(std::move(append), 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].snapshot_total_bytes, -1);
}

TEST(SnapshotChunks, ChunksPutTogetherGiveTheWholeSnapshotOnce) {
  const Message original = snapshot_message(1000);
  Message copy = original;
  auto chunks = split_snapshot(std::move(copy), 300);
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[3].snapshot_chunk_offset, 900);
  EXPECT_EQ(chunks[3].snapshot_data->size(), 100u);
  SnapshotAssembler assembler(1 << 20, 4);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_FALSE(assembler.add(std::move(chunks[i])).has_value()) << "chunk " << i;
  }
  auto whole = assembler.add(std::move(chunks.back()));
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(*whole->snapshot_data, *original.snapshot_data);
  EXPECT_EQ(whole->snapshot, original.snapshot);
  EXPECT_EQ(whole->snapshot_total_bytes, -1);
  EXPECT_EQ(assembler.dropped_chunks(), 0u);
}

TEST(SnapshotChunks, ALostChunkDropsThePartialSnapshotAndAResendStartsAfresh) {
  SnapshotAssembler assembler(1 << 20, 4);
  auto first_try = split_snapshot(snapshot_message(1000), 300);
  EXPECT_FALSE(assembler.add(std::move(first_try[0])).has_value());
  EXPECT_FALSE(assembler.add(std::move(first_try[2])).has_value());  // chunk 1 lost
  EXPECT_FALSE(assembler.add(std::move(first_try[3])).has_value());
  EXPECT_GE(assembler.dropped_chunks(), 2u);
  auto second_try = split_snapshot(snapshot_message(1000), 300);
  std::optional<Message> whole;
  for (Message& chunk : second_try) whole = assembler.add(std::move(chunk));
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->snapshot_data->size(), 1000u);
}

TEST(SnapshotChunks, OversizedOrTooManySnapshotsAreRefused) {
  SnapshotAssembler small(500, 1);
  auto too_big = split_snapshot(snapshot_message(1000), 300);
  for (Message& chunk : too_big) EXPECT_FALSE(small.add(std::move(chunk)).has_value());
  EXPECT_EQ(small.dropped_chunks(), too_big.size());

  SnapshotAssembler one_at_a_time(1 << 20, 1);
  auto a = split_snapshot(snapshot_message(400, 1), 300);
  auto b = split_snapshot(snapshot_message(400, 2), 300);
  EXPECT_FALSE(one_at_a_time.add(std::move(a[0])).has_value());
  EXPECT_FALSE(one_at_a_time.add(std::move(b[0])).has_value());  // a second group: refused
  EXPECT_TRUE(one_at_a_time.add(std::move(a[1])).has_value());
}

}  // namespace
}  // namespace fjord::raft::transport
