// Transactional offset commits: pending per producer until the transaction's
// marker, in a group (Group) and across a shard's groups and their log
// (GroupRegistry: writes, markers, replay).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "groups/group.h"
#include "groups/group_registry.h"
#include "records/batch.h"
#include "records/control.h"

namespace fjord::groups {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int32_t kPartitions = 50;
constexpr size_t kMaxBatchBytes = 1 << 20;
constexpr TxnProducer kProducer{1000, 3};
constexpr TxnProducer kOtherProducer{2000, 0};

CommittedOffset at(int64_t offset) { return CommittedOffset{offset, -1, "", kStartMs, -1}; }

GroupRecord one_member_group(int32_t generation) {
  GroupRecord record;
  record.protocol_type = "consumer";
  record.generation = generation;
  record.protocol = "range";
  record.leader = "m-1";
  record.current_state_timestamp_ms = kStartMs;
  MemberRecord member;
  member.member_id = "m-1";
  member.group_instance_id = "instance-1";
  member.client_id = "client";
  member.client_host = "/127.0.0.1";
  member.rebalance_timeout_ms = 30000;
  member.session_timeout_ms = 10000;
  record.members.push_back(member);
  return record;
}

TxnCommitRequest txn_request(TxnProducer producer,
                             std::vector<std::pair<TopicPartition, int64_t>> offsets) {
  TxnCommitRequest request;
  request.producer = producer;
  for (const auto& [partition, offset] : offsets)
    request.offsets.push_back({partition, at(offset)});
  return request;
}

// --- One group, with a log the test completes by hand -------------------------

class GroupTxnTest : public ::testing::Test {
 protected:
  struct Write {
    std::vector<OffsetsTopicRecord> records;
    std::optional<TxnProducer> txn;
    DoneCallback done;
  };

  Group& group() {
    if (!group_) {
      group_ = std::make_shared<Group>(
          "g", limits_,
          [this](std::vector<OffsetsTopicRecord> records, const std::optional<TxnProducer>& txn,
                 DoneCallback done) {
            writes_.push_back({std::move(records), txn, std::move(done)});
          },
          now_ms_);
    }
    return *group_;
  }

  void complete(size_t index, ErrorCode error = ErrorCode::kNone) {
    DoneCallback done = std::exchange(writes_.at(index).done, nullptr);
    ASSERT_TRUE(done);
    done(error);
  }

  std::shared_ptr<std::optional<ErrorCode>> txn_commit(const TxnCommitRequest& request) {
    auto result = std::make_shared<std::optional<ErrorCode>>();
    group().txn_commit(request, [result](ErrorCode error) { *result = error; });
    return result;
  }

  std::shared_ptr<std::optional<ErrorCode>> plain_commit(const TopicPartition& partition,
                                                         int64_t offset) {
    auto result = std::make_shared<std::optional<ErrorCode>>();
    CommitRequest request;
    request.offsets.push_back({partition, at(offset)});
    group().commit(request, now_ms_, [result](ErrorCode error) { *result = error; });
    return result;
  }

  std::optional<int64_t> committed(const TopicPartition& partition) {
    auto offset = group().committed(partition);
    if (!offset) return std::nullopt;
    return offset->offset;
  }

  GroupLimits limits_;
  int64_t now_ms_ = kStartMs;
  std::vector<Write> writes_;
  std::shared_ptr<Group> group_;
};

TEST_F(GroupTxnTest, OffsetsAreWrittenAsTheProducersAndPendingUntilItCommits) {
  auto done = txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}, {{"orders", 1}, 6}}));
  ASSERT_EQ(writes_.size(), 1u);
  EXPECT_EQ(writes_[0].txn, kProducer);
  EXPECT_EQ(writes_[0].records,
            (std::vector<OffsetsTopicRecord>{OffsetRecord{{"g", "orders", 0}, at(5)},
                                             OffsetRecord{{"g", "orders", 1}, at(6)}}));
  complete(0);
  EXPECT_EQ(*done, ErrorCode::kNone);
  EXPECT_EQ(committed({"orders", 0}), std::nullopt);
  EXPECT_TRUE(group().has_pending_txn_offset({"orders", 0}));
  EXPECT_FALSE(group().has_pending_txn_offset({"orders", 2}));
  EXPECT_TRUE(group().has_offsets());

  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 0}), 5);
  EXPECT_EQ(committed({"orders", 1}), 6);
  EXPECT_FALSE(group().has_pending_txn_offsets());
}

TEST_F(GroupTxnTest, AbortDropsThePendingOffsetsAndKeepsTheCommittedOnes) {
  plain_commit({"orders", 0}, 3);
  complete(0);
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 9}}));
  complete(1);
  group().complete_transaction(kProducer.producer_id, /*commit=*/false);
  EXPECT_EQ(committed({"orders", 0}), 3);
  EXPECT_FALSE(group().has_pending_txn_offset({"orders", 0}));
}

TEST_F(GroupTxnTest, OnlyTheCompletedProducersOffsetsChange) {
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  txn_commit(txn_request(kOtherProducer, {{{"orders", 1}, 7}}));
  complete(0);
  complete(1);
  group().complete_transaction(kOtherProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 1}), 7);
  EXPECT_EQ(committed({"orders", 0}), std::nullopt);
  EXPECT_TRUE(group().has_pending_txn_offsets_of(kProducer.producer_id));
  EXPECT_FALSE(group().has_pending_txn_offsets_of(kOtherProducer.producer_id));
}

TEST_F(GroupTxnTest, PlainCommitWrittenAfterTheTransactionsOffsetsWins) {
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  plain_commit({"orders", 0}, 8);
  complete(0);
  complete(1);
  EXPECT_EQ(committed({"orders", 0}), 8);
  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 0}), 8);
}

TEST_F(GroupTxnTest, TransactionsOffsetsWrittenAfterAPlainCommitWin) {
  plain_commit({"orders", 0}, 8);
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  complete(0);
  complete(1);
  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 0}), 5);
}

TEST_F(GroupTxnTest, PlainCommitCompletingAfterTheMarkerDoesNotUndoALaterTransaction) {
  plain_commit({"orders", 0}, 8);
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  complete(1);
  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  complete(0);  // written first, acknowledged last
  EXPECT_EQ(committed({"orders", 0}), 5);
}

TEST_F(GroupTxnTest, FailedWriteLeavesNothingPending) {
  auto done = txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  EXPECT_TRUE(group().has_pending_txn_offset({"orders", 0}));
  complete(0, ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(*done, ErrorCode::kCoordinatorNotAvailable);
  EXPECT_FALSE(group().has_pending_txn_offsets());
  EXPECT_FALSE(group().has_offsets());
  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 0}), std::nullopt);
}

TEST_F(GroupTxnTest, FailedRetryKeepsALaterWriteOfTheSameProducer) {
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 6}}));
  complete(1);
  complete(0, ErrorCode::kCoordinatorNotAvailable);
  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 0}), 6);
}

TEST_F(GroupTxnTest, StandaloneProducerCommitsToAnEmptyGroup) {
  auto done = txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  complete(0);
  EXPECT_EQ(*done, ErrorCode::kNone);
}

TEST_F(GroupTxnTest, GenerationAndMemberAreCheckedWhenGiven) {
  group().restore(one_member_group(3), now_ms_);
  ASSERT_EQ(group().state(), GroupState::kStable);
  struct Case {
    int32_t generation;
    std::string member_id;
    std::optional<std::string> instance;
    ErrorCode expected;
  };
  const std::vector<Case> cases = {
      {3, "m-1", std::nullopt, ErrorCode::kNone},
      {3, "m-1", "instance-1", ErrorCode::kNone},
      {2, "m-1", std::nullopt, ErrorCode::kIllegalGeneration},
      {3, "m-2", std::nullopt, ErrorCode::kUnknownMemberId},
      {3, "m-2", "instance-1", ErrorCode::kFencedInstanceId},
      {-1, "", std::nullopt, ErrorCode::kNone},  // v0-v2: no member information
      {-1, "m-1", std::nullopt, ErrorCode::kIllegalGeneration},
  };
  for (const auto& c : cases) {
    auto request = txn_request(kProducer, {{{"orders", 0}, 5}});
    request.generation = c.generation;
    request.member_id = c.member_id;
    request.group_instance_id = c.instance;
    const size_t writes_before = writes_.size();
    auto done = txn_commit(request);
    if (c.expected == ErrorCode::kNone) {
      ASSERT_EQ(writes_.size(), writes_before + 1) << c.generation << " " << c.member_id;
      complete(writes_before);
    }
    EXPECT_EQ(*done, c.expected) << c.generation << " " << c.member_id;
    EXPECT_EQ(writes_.size(), writes_before + (c.expected == ErrorCode::kNone ? 1 : 0));
  }
}

TEST_F(GroupTxnTest, DeadGroupIsCoordinatorNotAvailable) {
  ASSERT_EQ(group().remove([](ErrorCode) {}), ErrorCode::kNone);
  auto done = txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  EXPECT_EQ(*done, ErrorCode::kCoordinatorNotAvailable);
}

TEST_F(GroupTxnTest, PendingOffsetsAreBoundedPerGroup) {
  limits_.max_pending_txn_offsets = 2;
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 1}, {{"orders", 1}, 1}}));
  complete(0);
  // The same producer's partitions again replace their pending offsets.
  auto again = txn_commit(txn_request(kProducer, {{{"orders", 0}, 2}}));
  complete(1);
  EXPECT_EQ(*again, ErrorCode::kNone);
  auto over = txn_commit(txn_request(kOtherProducer, {{{"orders", 2}, 1}}));
  EXPECT_EQ(*over, ErrorCode::kInvalidCommitOffsetSize);
  EXPECT_EQ(writes_.size(), 2u);
  EXPECT_FALSE(group().has_pending_txn_offsets_of(kOtherProducer.producer_id));

  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 0}), 2);
  auto after = txn_commit(txn_request(kOtherProducer, {{{"orders", 2}, 1}}));
  complete(2);
  EXPECT_EQ(*after, ErrorCode::kNone);
}

TEST_F(GroupTxnTest, ExpiryKeepsOffsetsAndTheGroupWhileATransactionHoldsThem) {
  plain_commit({"orders", 0}, 1);
  complete(0);
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}, {{"orders", 1}, 6}}));
  complete(1);
  now_ms_ += limits_.offsets_retention_ms + 1;
  EXPECT_FALSE(group().expire_offsets(now_ms_));
  EXPECT_EQ(committed({"orders", 0}), 1);
  EXPECT_EQ(group().state(), GroupState::kEmpty);

  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 1}), 6);
}

TEST_F(GroupTxnTest, OffsetDeleteEndsWhatTransactionsHoldForThePartition) {
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}, {{"orders", 1}, 6}}));
  complete(0);
  std::optional<std::vector<ErrorCode>> errors;
  group().delete_offsets({{"orders", 0}},
                         [&](ErrorCode, std::vector<ErrorCode> result) { errors = result; });
  ASSERT_EQ(writes_.size(), 2u);
  EXPECT_EQ(writes_[1].txn, std::nullopt);
  EXPECT_EQ(writes_[1].records,
            (std::vector<OffsetsTopicRecord>{OffsetRecord{{"g", "orders", 0}, std::nullopt}}));
  complete(1);
  EXPECT_EQ(errors, (std::vector<ErrorCode>{ErrorCode::kNone}));

  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed({"orders", 0}), std::nullopt);
  EXPECT_EQ(committed({"orders", 1}), 6);
}

TEST_F(GroupTxnTest, DeletingTheGroupTombstonesPendingOffsetsToo) {
  plain_commit({"orders", 0}, 1);
  complete(0);
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}, {{"orders", 1}, 6}}));
  complete(1);
  ASSERT_EQ(group().remove([](ErrorCode) {}), ErrorCode::kNone);
  ASSERT_EQ(writes_.size(), 3u);
  EXPECT_EQ(writes_[2].records, (std::vector<OffsetsTopicRecord>{
                                    OffsetRecord{{"g", "orders", 0}, std::nullopt},
                                    OffsetRecord{{"g", "orders", 1}, std::nullopt},
                                    GroupMetadataRecord{"g", std::nullopt},
                                }));
  EXPECT_FALSE(group().has_pending_txn_offsets());
  group().complete_transaction(kProducer.producer_id, /*commit=*/true);
  EXPECT_FALSE(group().has_offsets());
}

TEST_F(GroupTxnTest, GroupHoldingOnlyPendingOffsetsIsNotUnused) {
  txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}));
  EXPECT_FALSE(group().is_unused());
}

// --- A shard's groups and their log -------------------------------------------

struct Append {
  int32_t partition = -1;
  Bytes batch;
  DoneCallback done;
};

// Group ids in the same and in another __consumer_offsets partition.
struct GroupsByPartition {
  std::string first;
  std::string same_partition;
  std::string other_partition;
};

GroupsByPartition pick_groups() {
  GroupsByPartition picked;
  picked.first = "txn-group";
  const int32_t partition = offsets_partition_for(picked.first, kPartitions);
  for (int i = 0; picked.same_partition.empty() || picked.other_partition.empty(); ++i) {
    const std::string id = "txn-group-" + std::to_string(i);
    const bool same = offsets_partition_for(id, kPartitions) == partition;
    if (same && picked.same_partition.empty()) picked.same_partition = id;
    if (!same && picked.other_partition.empty()) picked.other_partition = id;
  }
  return picked;
}

class RegistryTxnTest : public ::testing::Test {
 protected:
  GroupRegistry& registry() {
    if (!registry_) {
      registry_ = std::make_unique<GroupRegistry>(
          limits_, kPartitions, kMaxBatchBytes,
          [this](int32_t partition, Bytes batch, DoneCallback done) {
            appends_.push_back({partition, std::move(batch), std::move(done)});
          },
          [] { return kStartMs; });
    }
    return *registry_;
  }

  void complete_append(size_t index, ErrorCode error = ErrorCode::kNone) {
    DoneCallback done = std::exchange(appends_.at(index).done, nullptr);
    ASSERT_TRUE(done);
    done(error);
  }

  ErrorCode txn_commit(const std::string& group_id, TxnProducer producer, int64_t offset) {
    ErrorCode result = ErrorCode::kUnknownServerError;
    registry().get_or_create(group_id)->txn_commit(txn_request(producer, {{{"orders", 0}, offset}}),
                                                   [&result](ErrorCode error) { result = error; });
    complete_append(appends_.size() - 1);
    return result;
  }

  std::optional<int64_t> committed(const std::string& group_id) {
    auto group = registry().find(group_id);
    if (!group) return std::nullopt;
    auto offset = group->committed({"orders", 0});
    if (!offset) return std::nullopt;
    return offset->offset;
  }

  GroupLimits limits_;
  std::vector<Append> appends_;
  std::unique_ptr<GroupRegistry> registry_;
  const GroupsByPartition groups_ = pick_groups();
  const int32_t partition_ = offsets_partition_for(groups_.first, kPartitions);
};

TEST_F(RegistryTxnTest, WritesATransactionalBatchOfTheProducerWithoutSequence) {
  ASSERT_EQ(txn_commit(groups_.first, kProducer, 5), ErrorCode::kNone);
  ASSERT_EQ(appends_.size(), 1u);
  EXPECT_EQ(appends_[0].partition, partition_);
  const records::BatchHeader header = records::read_header(appends_[0].batch);
  EXPECT_TRUE(header.is_transactional());
  EXPECT_FALSE(header.is_control());
  EXPECT_EQ(header.producer_id, kProducer.producer_id);
  EXPECT_EQ(header.producer_epoch, kProducer.producer_epoch);
  EXPECT_EQ(header.base_sequence, -1);
}

TEST_F(RegistryTxnTest, FencedProducerErrorsReachTheClientAsTheyAre) {
  for (ErrorCode error : {ErrorCode::kProducerFenced, ErrorCode::kInvalidProducerEpoch}) {
    ErrorCode result = ErrorCode::kNone;
    registry()
        .get_or_create(groups_.first)
        ->txn_commit(txn_request(kProducer, {{{"orders", 0}, 5}}),
                     [&result](ErrorCode e) { result = e; });
    complete_append(appends_.size() - 1, error);
    EXPECT_EQ(result, error);
  }
}

TEST_F(RegistryTxnTest, MarkerCompletesTheGroupsOfItsPartitionOnly) {
  ASSERT_EQ(txn_commit(groups_.first, kProducer, 5), ErrorCode::kNone);
  ASSERT_EQ(txn_commit(groups_.same_partition, kProducer, 6), ErrorCode::kNone);
  ASSERT_EQ(txn_commit(groups_.other_partition, kProducer, 7), ErrorCode::kNone);

  registry().complete_transaction(partition_, kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(committed(groups_.first), 5);
  EXPECT_EQ(committed(groups_.same_partition), 6);
  EXPECT_EQ(committed(groups_.other_partition), std::nullopt);

  const int32_t other = offsets_partition_for(groups_.other_partition, kPartitions);
  registry().complete_transaction(other, kProducer.producer_id, /*commit=*/false);
  EXPECT_EQ(committed(groups_.other_partition), std::nullopt);
  EXPECT_FALSE(registry().find(groups_.other_partition)->has_pending_txn_offsets());
}

TEST_F(RegistryTxnTest, MarkerForADeletedGroupIsHarmless) {
  ASSERT_EQ(txn_commit(groups_.first, kProducer, 5), ErrorCode::kNone);
  ASSERT_EQ(registry().find(groups_.first)->remove([](ErrorCode) {}), ErrorCode::kNone);
  registry().erase_if_dead(groups_.first);
  registry().complete_transaction(partition_, kProducer.producer_id, /*commit=*/true);
  EXPECT_EQ(registry().find(groups_.first), nullptr);
}

// --- Replay -------------------------------------------------------------------

Bytes batch_of(const std::vector<OffsetsTopicRecord>& records,
               const std::optional<TxnProducer>& txn = std::nullopt) {
  auto batch = build_batch(records, kStartMs, kMaxBatchBytes, txn);
  EXPECT_TRUE(batch.ok());
  return batch.ok() ? *batch : Bytes{};
}

Bytes marker_of(TxnProducer producer, bool commit) {
  records::BatchBuilder builder;
  auto marker = records::build_end_txn_marker(builder, producer.producer_id,
                                              producer.producer_epoch, {commit, 0}, kStartMs);
  EXPECT_TRUE(marker.ok());
  return marker.ok() ? Bytes(marker->begin(), marker->end()) : Bytes{};
}

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes log;
  for (const auto& part : parts) log.insert(log.end(), part.begin(), part.end());
  return log;
}

OffsetRecord offset_record(const std::string& group, int32_t partition,
                           std::optional<int64_t> offset) {
  OffsetRecord record{{group, "orders", partition}, std::nullopt};
  if (offset) record.value = at(*offset);
  return record;
}

TEST_F(RegistryTxnTest, ReplayOfInterleavedCommittedAbortedAndOpenTransactions) {
  const std::string& g = groups_.first;
  constexpr TxnProducer kAborting{3000, 1};
  const Bytes log = concat({
      batch_of({offset_record(g, 0, 1), offset_record(g, 1, 1)}),
      batch_of({offset_record(g, 0, 10), offset_record(g, 2, 10)}, kProducer),
      batch_of({offset_record(g, 1, 20)}, kAborting),
      batch_of({offset_record(g, 3, 30)}, kOtherProducer), marker_of(kAborting, /*commit=*/false),
      batch_of({offset_record(g, 2, 11)}),  // plain commit after the txn's record: wins
      marker_of(kProducer, /*commit=*/true),
      batch_of({offset_record(g, 0, 12)}, kProducer),  // the producer's next transaction
  });
  ASSERT_TRUE(registry().replay(partition_, log).ok());
  registry().finish_load();

  auto group = registry().find(g);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->committed({"orders", 0})->offset, 10);  // committed txn
  EXPECT_EQ(group->committed({"orders", 1})->offset, 1);   // aborted txn dropped
  EXPECT_EQ(group->committed({"orders", 2})->offset, 11);  // later plain commit kept
  EXPECT_EQ(group->committed({"orders", 3}), std::nullopt);
  EXPECT_TRUE(group->has_pending_txn_offset({"orders", 3}));  // still open
  EXPECT_TRUE(group->has_pending_txn_offset({"orders", 0}));  // the next one, open
  EXPECT_FALSE(group->has_pending_txn_offset({"orders", 1}));

  // The markers written after the restart complete what replay left open.
  registry().complete_transaction(partition_, kOtherProducer.producer_id, /*commit=*/true);
  registry().complete_transaction(partition_, kProducer.producer_id, /*commit=*/false);
  EXPECT_EQ(group->committed({"orders", 3})->offset, 30);
  EXPECT_EQ(group->committed({"orders", 0})->offset, 10);
  EXPECT_FALSE(group->has_pending_txn_offsets());
}

TEST_F(RegistryTxnTest, ReplayKeepsAGroupHoldingOnlyAnOpenTransaction) {
  const Bytes log = concat({
      batch_of({GroupMetadataRecord{groups_.first, one_member_group(2)}}),
      batch_of({GroupMetadataRecord{groups_.first, std::nullopt}}),
      batch_of({offset_record(groups_.first, 0, 4)}, kProducer),
  });
  ASSERT_TRUE(registry().replay(partition_, log).ok());
  registry().finish_load();
  auto group = registry().find(groups_.first);
  ASSERT_NE(group, nullptr);
  EXPECT_TRUE(group->has_pending_txn_offset({"orders", 0}));
}

TEST_F(RegistryTxnTest, ReplayedTombstoneEndsWhatTransactionsHeldForItsKey) {
  const Bytes log = concat({
      batch_of({offset_record(groups_.first, 0, 4), offset_record(groups_.first, 1, 5)}, kProducer),
      batch_of({offset_record(groups_.first, 0, std::nullopt)}),
      marker_of(kProducer, /*commit=*/true),
  });
  ASSERT_TRUE(registry().replay(partition_, log).ok());
  registry().finish_load();
  auto group = registry().find(groups_.first);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->committed({"orders", 0}), std::nullopt);
  EXPECT_EQ(group->committed({"orders", 1})->offset, 5);
}

TEST_F(RegistryTxnTest, ReplayedMarkerOfAnotherPartitionsGroupChangesNothing) {
  // A marker is per partition: it never completes a group of another partition,
  // even one this shard also hosts.
  ASSERT_EQ(txn_commit(groups_.other_partition, kProducer, 7), ErrorCode::kNone);
  ASSERT_TRUE(registry().replay(partition_, marker_of(kProducer, /*commit=*/true)).ok());
  EXPECT_EQ(committed(groups_.other_partition), std::nullopt);
  EXPECT_TRUE(registry().find(groups_.other_partition)->has_pending_txn_offsets());
}

// --- Reading the log ----------------------------------------------------------

TEST(OffsetsLogTest, ForEachEntryReportsTransactionalRecordsAndMarkersInOrder) {
  const Bytes log = concat({
      batch_of({offset_record("g", 0, 1)}),
      batch_of({offset_record("g", 0, 2)}, kProducer),
      marker_of(kProducer, /*commit=*/true),
      marker_of(kOtherProducer, /*commit=*/false),
  });
  std::vector<std::string> seen;
  OffsetsLogVisitor visitor;
  visitor.on_record = [&](int64_t producer_id, OffsetsTopicRecord&& record) {
    seen.push_back("record " + std::to_string(producer_id) + " " +
                   std::to_string(std::get<OffsetRecord>(record).value->offset));
  };
  visitor.on_txn_marker = [&](int64_t producer_id, bool commit) {
    seen.push_back((commit ? "commit " : "abort ") + std::to_string(producer_id));
  };
  ASSERT_TRUE(for_each_entry(log, visitor).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"record -1 1", "record 1000 2", "commit 1000",
                                            "abort 2000"}));
}

TEST(OffsetsLogTest, MarkerWithoutAValueIsCorrupt) {
  records::BatchOptions options;
  options.producer_id = kProducer.producer_id;
  options.producer_epoch = kProducer.producer_epoch;
  options.transactional = true;
  options.control = true;
  records::BatchBuilder builder(options);
  const uint8_t commit_key[] = {0, 0, 0, 1};
  ASSERT_TRUE(builder.append(kStartMs, Bytes(commit_key, commit_key + 4), std::nullopt).ok());
  auto built = builder.build();
  ASSERT_TRUE(built.ok());
  OffsetsLogVisitor visitor;
  visitor.on_txn_marker = [](int64_t, bool) { ADD_FAILURE() << "no marker in a corrupt batch"; };
  Status status = for_each_entry(*built, visitor);
  EXPECT_EQ(status.code(), ErrorCode::kCorruptMessage);
}

TEST(OffsetsLogTest, OtherControlRecordsAreSkipped) {
  records::BatchOptions options;
  options.control = true;
  records::BatchBuilder builder(options);
  const uint8_t leader_change_key[] = {0, 0, 0, 2};
  ASSERT_TRUE(
      builder.append(kStartMs, Bytes(leader_change_key, leader_change_key + 4), std::nullopt).ok());
  auto built = builder.build();
  ASSERT_TRUE(built.ok());
  OffsetsLogVisitor visitor;
  visitor.on_txn_marker = [](int64_t, bool) { ADD_FAILURE() << "not a marker"; };
  EXPECT_TRUE(for_each_entry(*built, visitor).ok());
}

}  // namespace
}  // namespace fjord::groups
