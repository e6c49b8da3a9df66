// GroupRegistry: rebuilding groups by replaying __consumer_offsets batches, and
// turning what groups persist into batches for their partition.
#include "groups/group_registry.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fjord::groups {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr int32_t kPartitions = 50;
constexpr int32_t kPartition = 7;  // replayed logs without markers: any partition
constexpr size_t kMaxBatchBytes = 1 << 20;
constexpr int64_t kStartMs = 1'700'000'000'000;

struct Append {
  int32_t partition = -1;
  Bytes batch;
  DoneCallback done;
};

class GroupRegistryTest : public ::testing::Test {
 protected:
  GroupLimits limits_;
  int64_t now_ms_ = kStartMs;
  std::vector<Append> appends_;
  size_t max_batch_bytes_ = kMaxBatchBytes;
  std::unique_ptr<GroupRegistry> registry_;

  GroupRegistry& registry() {
    if (!registry_) {
      registry_ = std::make_unique<GroupRegistry>(
          limits_, kPartitions, max_batch_bytes_,
          [this](int32_t partition, Bytes batch, DoneCallback done) {
            appends_.push_back({partition, std::move(batch), std::move(done)});
          },
          [this] { return now_ms_; });
    }
    return *registry_;
  }

  void complete_append(size_t index, ErrorCode error) {
    DoneCallback done = std::exchange(appends_.at(index).done, nullptr);
    ASSERT_TRUE(done);
    done(error);
  }

  // A commit outside group management; returns what its `done` got, if anything yet.
  std::shared_ptr<std::optional<ErrorCode>> commit(Group& group, const TopicPartition& partition,
                                                   int64_t offset) {
    auto result = std::make_shared<std::optional<ErrorCode>>();
    CommitRequest request;
    request.offsets.push_back({partition, CommittedOffset{offset, -1, "", now_ms_, -1}});
    group.commit(request, now_ms_, [result](ErrorCode error) { *result = error; });
    return result;
  }
};

std::vector<OffsetsTopicRecord> decode_all(const Bytes& batches) {
  std::vector<OffsetsTopicRecord> records;
  Status status = for_each_record(
      batches, [&](OffsetsTopicRecord&& record) { records.push_back(std::move(record)); });
  EXPECT_TRUE(status.ok());
  return records;
}

OffsetRecord offset(const std::string& group, const std::string& topic, int32_t partition,
                    std::optional<int64_t> value) {
  OffsetRecord record{{group, topic, partition}, std::nullopt};
  if (value) record.value = CommittedOffset{*value, -1, "", kStartMs, -1};
  return record;
}

GroupRecord one_member_group(int32_t generation) {
  GroupRecord record;
  record.protocol_type = "consumer";
  record.generation = generation;
  record.protocol = "range";
  record.leader = "m-1";
  record.current_state_timestamp_ms = kStartMs;
  MemberRecord member;
  member.member_id = "m-1";
  member.client_id = "client";
  member.client_host = "/127.0.0.1";
  member.rebalance_timeout_ms = 30000;
  member.session_timeout_ms = 10000;
  member.assignment = {1, 2, 3};
  record.members.push_back(member);
  return record;
}

// Several batches, as read back from one partition of __consumer_offsets.
Bytes log_of(const std::vector<std::vector<OffsetsTopicRecord>>& batches) {
  Bytes log;
  for (const auto& records : batches) {
    auto batch = build_batch(records, kStartMs, kMaxBatchBytes);
    EXPECT_TRUE(batch.ok());
    if (batch.ok()) log.insert(log.end(), batch->begin(), batch->end());
  }
  return log;
}

TEST_F(GroupRegistryTest, ReplayLeavesExactlyTheLastStateOfEachGroup) {
  GroupRecord empty_generation;
  empty_generation.protocol_type = "consumer";
  empty_generation.generation = 1;
  const Bytes log = log_of({
      {offset("g1", "orders", 0, 5), offset("g1", "orders", 1, 6), offset("g2", "orders", 0, 1)},
      {GroupMetadataRecord{"g1", one_member_group(2)}, offset("g1", "orders", 0, 7),
       offset("g1", "orders", 1, std::nullopt)},
      {GroupMetadataRecord{"g1", one_member_group(3)}},
      {GroupMetadataRecord{"g2", empty_generation}, offset("g2", "orders", 0, std::nullopt),
       GroupMetadataRecord{"g2", std::nullopt}},
  });
  ASSERT_TRUE(registry().replay(kPartition, log).ok());
  registry().finish_load();

  EXPECT_EQ(registry().size(), 1u);
  EXPECT_EQ(registry().find("g2"), nullptr);
  auto g1 = registry().find("g1");
  ASSERT_NE(g1, nullptr);
  EXPECT_EQ(g1->state(), GroupState::kStable);
  EXPECT_EQ(g1->generation(), 3);
  EXPECT_EQ(g1->member_count(), 1u);
  EXPECT_EQ(g1->describe().members.at(0).assignment, (Bytes{1, 2, 3}));
  ASSERT_TRUE(g1->committed({"orders", 0}).has_value());
  EXPECT_EQ(g1->committed({"orders", 0})->offset, 7);
  EXPECT_EQ(g1->committed({"orders", 1}), std::nullopt);
  EXPECT_EQ(g1->offsets().size(), 1u);
  EXPECT_EQ(g1->heartbeat({"m-1", std::nullopt, 3}, now_ms_), ErrorCode::kNone);
}

TEST_F(GroupRegistryTest, FinishLoadDropsGroupsThatHoldNothing) {
  GroupRecord emptied;
  emptied.protocol_type = "consumer";
  emptied.generation = 4;
  const Bytes log = log_of({
      {offset("only-deleted-offsets", "orders", 0, 5),
       offset("only-deleted-offsets", "orders", 0, std::nullopt)},
      {offset("standalone", "orders", 0, 9)},
      {GroupMetadataRecord{"emptied", emptied}},
  });
  ASSERT_TRUE(registry().replay(kPartition, log).ok());
  EXPECT_NE(registry().find("only-deleted-offsets"), nullptr);

  registry().finish_load();
  EXPECT_EQ(registry().find("only-deleted-offsets"), nullptr);
  ASSERT_NE(registry().find("standalone"), nullptr);
  EXPECT_EQ(registry().find("standalone")->committed({"orders", 0})->offset, 9);
  ASSERT_NE(registry().find("emptied"), nullptr);
  EXPECT_EQ(registry().find("emptied")->state(), GroupState::kEmpty);
  EXPECT_EQ(registry().find("emptied")->generation(), 4);
}

TEST_F(GroupRegistryTest, OffsetsCommittedAfterAGroupTombstoneStartAFreshGroup) {
  const Bytes log = log_of({
      {GroupMetadataRecord{"g", one_member_group(2)}},
      {GroupMetadataRecord{"g", std::nullopt}},
      {offset("g", "orders", 0, 11)},
  });
  ASSERT_TRUE(registry().replay(kPartition, log).ok());
  registry().finish_load();
  auto group = registry().find("g");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->state(), GroupState::kEmpty);
  EXPECT_EQ(group->generation(), 0);
  EXPECT_EQ(group->committed({"orders", 0})->offset, 11);
}

// Kafka loads offsets and group metadata separately
// (GroupMetadataManager.doLoadGroupsAndOffsets): a group tombstone removes the
// group's metadata, not offsets that were never tombstoned themselves; those
// come back as an Empty group.
// (Matters for a commit that lands between expiry's offset tombstones and its
// group tombstone, see ExpiryLeavesOffsetsWithACommitInFlight.)
TEST_F(GroupRegistryTest, GroupTombstoneKeepsOffsetsThatWereNotTombstoned) {
  const Bytes log = log_of({
      {offset("g", "orders", 0, 11)},
      {GroupMetadataRecord{"g", std::nullopt}},
  });
  ASSERT_TRUE(registry().replay(kPartition, log).ok());
  registry().finish_load();
  auto group = registry().find("g");
  ASSERT_NE(group, nullptr);
  ASSERT_TRUE(group->committed({"orders", 0}).has_value());
  EXPECT_EQ(group->committed({"orders", 0})->offset, 11);
}

TEST_F(GroupRegistryTest, GroupWritesGoToItsOffsetsPartitionAsOneBatch) {
  auto group = registry().get_or_create("my-group");
  auto done = commit(*group, {"orders", 3}, 42);
  ASSERT_EQ(appends_.size(), 1u);
  EXPECT_EQ(appends_[0].partition, offsets_partition_for("my-group", kPartitions));
  EXPECT_EQ(decode_all(appends_[0].batch),
            (std::vector<OffsetsTopicRecord>{OffsetRecord{
                {"my-group", "orders", 3}, CommittedOffset{42, -1, "", now_ms_, -1}}}));
  EXPECT_FALSE(done->has_value());

  complete_append(0, ErrorCode::kNone);
  EXPECT_EQ(*done, ErrorCode::kNone);
  EXPECT_EQ(group->committed({"orders", 3})->offset, 42);
}

TEST_F(GroupRegistryTest,
       FailedAppendIsCoordinatorNotAvailableAndTooLargeIsInvalidCommitOffsetSize) {
  auto group = registry().get_or_create("my-group");
  auto failed = commit(*group, {"orders", 0}, 1);
  auto too_large = commit(*group, {"orders", 1}, 2);
  complete_append(0, ErrorCode::kNotEnoughReplicas);
  complete_append(1, ErrorCode::kMessageTooLarge);
  EXPECT_EQ(*failed, ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(*too_large, ErrorCode::kInvalidCommitOffsetSize);
  EXPECT_FALSE(group->has_offsets());
}

TEST_F(GroupRegistryTest, BatchOverTheLimitIsInvalidCommitOffsetSizeWithoutAppending) {
  max_batch_bytes_ = 200;
  auto group = registry().get_or_create("my-group");
  CommitRequest request;
  request.offsets.push_back(
      {{"orders", 0}, CommittedOffset{1, -1, std::string(500, 'm'), now_ms_, -1}});
  std::optional<ErrorCode> result;
  group->commit(request, now_ms_, [&](ErrorCode error) { result = error; });
  EXPECT_EQ(result, ErrorCode::kInvalidCommitOffsetSize);
  EXPECT_TRUE(appends_.empty());
}

TEST_F(GroupRegistryTest, TickExpiresOffsetsOnlyWhenRetentionIsDueAndForgetsDeadGroups) {
  auto group = registry().get_or_create("my-group");
  commit(*group, {"orders", 0}, 1);
  complete_append(0, ErrorCode::kNone);
  now_ms_ += limits_.offsets_retention_ms;

  registry().tick(/*retention_due=*/false);
  EXPECT_NE(registry().find("my-group"), nullptr);
  EXPECT_EQ(appends_.size(), 1u);

  registry().tick(/*retention_due=*/true);
  EXPECT_EQ(registry().find("my-group"), nullptr);
  EXPECT_EQ(registry().size(), 0u);
  ASSERT_EQ(appends_.size(), 2u);
  EXPECT_EQ(decode_all(appends_[1].batch),
            (std::vector<OffsetsTopicRecord>{offset("my-group", "orders", 0, std::nullopt),
                                             GroupMetadataRecord{"my-group", std::nullopt}}));
}

TEST_F(GroupRegistryTest, UnusedGroupIsForgottenAndAUsedOneKept) {
  registry().get_or_create("unused");
  auto used = registry().get_or_create("used");
  commit(*used, {"orders", 0}, 1);
  complete_append(0, ErrorCode::kNone);
  registry().forget_if_unused("unused");
  registry().forget_if_unused("used");
  EXPECT_EQ(registry().find("unused"), nullptr);
  EXPECT_EQ(registry().find("used"), used);
  EXPECT_EQ(registry().get_or_create("used"), used);
}

TEST_F(GroupRegistryTest, DeletedGroupIsReplacedByAFreshOneOnNextUse) {
  auto group = registry().get_or_create("my-group");
  ASSERT_EQ(group->remove([](ErrorCode) {}), ErrorCode::kNone);
  EXPECT_EQ(registry().find("my-group"), nullptr);
  auto fresh = registry().get_or_create("my-group");
  EXPECT_NE(fresh, group);
  EXPECT_EQ(fresh->state(), GroupState::kEmpty);
  registry().erase_if_dead("my-group");
  EXPECT_EQ(registry().find("my-group"), fresh);
}

}  // namespace
}  // namespace fjord::groups
