// In-process tests of TxnOffsetCommit and of OffsetFetch's require_stable: real
// shards and storage in a temporary directory, requests encoded with the
// generated code. Transactions end as the transaction coordinator ends them:
// PartitionManager::write_txn_markers, whose listener (as node.cc sets it)
// hands markers in __consumer_offsets to the group coordinator.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <random>

#include "broker/test_broker.h"
#include "groups/offsets_records.h"
#include "protocol/generated/api_messages.h"
#include "protocol/generated/api_versions_request.h"
#include "protocol/generated/api_versions_response.h"
#include "protocol/generated/create_topics_request.h"
#include "protocol/generated/create_topics_response.h"
#include "protocol/generated/find_coordinator_request.h"
#include "protocol/generated/find_coordinator_response.h"
#include "protocol/generated/join_group_request.h"
#include "protocol/generated/join_group_response.h"
#include "protocol/generated/offset_commit_request.h"
#include "protocol/generated/offset_commit_response.h"
#include "protocol/generated/offset_fetch_request.h"
#include "protocol/generated/offset_fetch_response.h"
#include "protocol/generated/request_header.h"
#include "protocol/generated/sync_group_request.h"
#include "protocol/generated/sync_group_response.h"
#include "protocol/generated/txn_offset_commit_request.h"
#include "protocol/generated/txn_offset_commit_response.h"
#include "records/batch.h"

namespace fjord::broker {
namespace {

namespace p = protocol;

constexpr int64_t kProducerId = 4000;
constexpr int16_t kProducerEpoch = 2;
constexpr int16_t kTxnCommitVersion = 3;  // what librdkafka sends

class TxnOffsetsTest : public InProcessBrokerTest {
 protected:
  void SetUp() override {
    use_temp_dir("fjord-txn-offsets-");
    config_.num_partitions = 2;
    config_.offsets_topic_partitions = 4;
    config_.group_limits.initial_rebalance_delay_ms = 0;
    start();
    create_topic("orders", 2);
    find_coordinator("g");
  }

  void create_topic(const std::string& name, int32_t partitions) {
    p::CreateTopicsRequest request;
    auto& topic = request.topics.emplace_back();
    topic.name = name;
    topic.num_partitions = partitions;
    topic.replication_factor = 1;
    ASSERT_EQ(call<p::CreateTopicsResponse>(request, 7).topics.at(0).error_code, 0);
  }

  void find_coordinator(const std::string& group) {
    p::FindCoordinatorRequest request;
    request.key = group;
    ASSERT_EQ(call<p::FindCoordinatorResponse>(request, 2).error_code, 0);
  }

  p::TxnOffsetCommitRequest txn_request(const std::string& group, const std::string& topic,
                                        int32_t partition, int64_t offset,
                                        std::string metadata = "txn") {
    p::TxnOffsetCommitRequest request;
    request.transactional_id = "tx-1";
    request.group_id = group;
    request.producer_id = kProducerId;
    request.producer_epoch = kProducerEpoch;
    auto& entry = request.topics.emplace_back();
    entry.name = topic;
    auto& part = entry.partitions.emplace_back();
    part.partition_index = partition;
    part.committed_offset = offset;
    part.committed_leader_epoch = 5;
    part.committed_metadata = std::move(metadata);
    return request;
  }

  int16_t txn_commit(const p::TxnOffsetCommitRequest& request,
                     int16_t version = kTxnCommitVersion) {
    auto response = call<p::TxnOffsetCommitResponse>(request, version);
    EXPECT_EQ(response.topics.size(), 1u);
    if (response.topics.size() != 1 || response.topics[0].partitions.size() != 1) return -1;
    return response.topics[0].partitions[0].error_code;
  }

  // (error, committed offset) of orders-`partition` via OffsetFetch v7.
  std::pair<int16_t, int64_t> fetch_offset(const std::string& group, int32_t partition,
                                           bool require_stable) {
    p::OffsetFetchRequest request;
    request.group_id = group;
    request.require_stable = require_stable;
    p::OffsetFetchRequest::OffsetFetchRequestTopic entry;
    entry.name = "orders";
    entry.partition_indexes = {partition};
    request.topics = std::vector<p::OffsetFetchRequest::OffsetFetchRequestTopic>{entry};
    auto response = call<p::OffsetFetchResponse>(request, 7);
    EXPECT_EQ(response.error_code, 0);
    if (response.topics.size() != 1 || response.topics[0].partitions.size() != 1) return {-1, -2};
    const auto& fetched = response.topics[0].partitions[0];
    return {fetched.error_code, fetched.committed_offset};
  }

  // Runs `fn` on the shard owning the group's __consumer_offsets partition.
  template <typename Fn>
  auto on_group_shard(const std::string& group, Fn fn) {
    const int32_t partition = groups_->partition_for(group);
    std::packaged_task<decltype(fn(partition))()> task([&] { return fn(partition); });
    auto result = task.get_future();
    boost::asio::post(pool_->executor(partitions_->shard_of(kOffsetsTopic, partition)),
                      [&task] { task(); });
    return result.get();
  }

  // What the transaction coordinator does to end the transaction: the marker
  // goes to the group's partition, whose listener completes the group's offsets.
  void end_transaction(const std::string& group, bool commit) {
    const std::vector<TxnMarkerTarget> targets = {
        {std::string(kOffsetsTopic), groups_->partition_for(group)}};
    const std::vector<ErrorCode> written =
        boost::asio::co_spawn(pool_->executor(1),
                              partitions_->write_txn_markers(targets, kProducerId, kProducerEpoch,
                                                             commit, /*coordinator_epoch=*/0),
                              boost::asio::use_future)
            .get();
    EXPECT_EQ(written, (std::vector<ErrorCode>{ErrorCode::kNone}));
  }

  // Headers of the batches in the group's __consumer_offsets partition.
  std::vector<records::BatchHeader> offsets_batches(const std::string& group) {
    return on_group_shard(group, [&](int32_t partition) {
      std::vector<records::BatchHeader> headers;
      Partition* log_partition = partitions_->find(std::string(kOffsetsTopic), partition);
      if (log_partition == nullptr) return headers;
      auto read = log_partition->log->read(0, 1 << 20, INT64_MAX);
      if (!read) return headers;
      std::vector<uint8_t> bytes;
      for (const auto& range : read->ranges) {
        const size_t at = bytes.size();
        bytes.resize(at + range.length);
        if (::pread(range.fd, bytes.data() + at, range.length, static_cast<off_t>(range.offset)) !=
            static_cast<ssize_t>(range.length)) {
          return headers;
        }
      }
      for (size_t at = 0; at + records::kBatchHeaderSize <= bytes.size();) {
        headers.push_back(records::read_header(std::span<const uint8_t>(bytes).subspan(at)));
        at += headers.back().size_bytes();
      }
      return headers;
    });
  }
};

TEST_F(TxnOffsetsTest, ApiVersionsAdvertisesTxnOffsetCommitUpToV3) {
  auto response = call<p::ApiVersionsResponse>(p::ApiVersionsRequest{}, 3);
  std::map<int16_t, std::pair<int16_t, int16_t>> ranges;
  for (const auto& api : response.api_keys)
    ranges[api.api_key] = {api.min_version, api.max_version};
  ASSERT_TRUE(ranges.contains(p::TxnOffsetCommitRequest::kApiKey));
  EXPECT_EQ(ranges.at(p::TxnOffsetCommitRequest::kApiKey), (std::pair<int16_t, int16_t>{0, 3}));
}

TEST_F(TxnOffsetsTest, OffsetsCountOnlyOnceTheTransactionCommits) {
  ASSERT_EQ(txn_commit(txn_request("g", "orders", 1, 42)), 0);
  EXPECT_EQ(fetch_offset("g", 1, /*require_stable=*/false), (std::pair<int16_t, int64_t>{0, -1}));
  EXPECT_EQ(fetch_offset("g", 1, /*require_stable=*/true),
            (std::pair<int16_t, int64_t>{to_wire(ErrorCode::kUnstableOffsetCommit), -1}));
  // Another partition of the group is stable.
  EXPECT_EQ(fetch_offset("g", 0, /*require_stable=*/true), (std::pair<int16_t, int64_t>{0, -1}));

  end_transaction("g", /*commit=*/true);
  EXPECT_EQ(fetch_offset("g", 1, /*require_stable=*/true), (std::pair<int16_t, int64_t>{0, 42}));
}

TEST_F(TxnOffsetsTest, AbortedTransactionLeavesTheCommittedOffset) {
  ASSERT_EQ(txn_commit(txn_request("g", "orders", 0, 7)), 0);
  end_transaction("g", /*commit=*/true);
  ASSERT_EQ(txn_commit(txn_request("g", "orders", 0, 9)), 0);
  end_transaction("g", /*commit=*/false);
  EXPECT_EQ(fetch_offset("g", 0, /*require_stable=*/true), (std::pair<int16_t, int64_t>{0, 7}));
}

TEST_F(TxnOffsetsTest, TheBatchIsTransactionalOfTheProducerWithoutSequence) {
  ASSERT_EQ(txn_commit(txn_request("g", "orders", 0, 7)), 0);
  const auto headers = offsets_batches("g");
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_TRUE(headers[0].is_transactional());
  EXPECT_FALSE(headers[0].is_control());
  EXPECT_EQ(headers[0].producer_id, kProducerId);
  EXPECT_EQ(headers[0].producer_epoch, kProducerEpoch);
  EXPECT_EQ(headers[0].base_sequence, -1);
}

TEST_F(TxnOffsetsTest, AFencedProducerCannotCommitOffsets) {
  ASSERT_EQ(txn_commit(txn_request("g", "orders", 0, 7)), 0);
  end_transaction("g", /*commit=*/true);
  auto stale = txn_request("g", "orders", 0, 9);
  stale.producer_epoch = kProducerEpoch - 1;
  EXPECT_EQ(txn_commit(stale), to_wire(ErrorCode::kInvalidProducerEpoch));
  EXPECT_EQ(fetch_offset("g", 0, /*require_stable=*/true), (std::pair<int16_t, int64_t>{0, 7}));
}

TEST_F(TxnOffsetsTest, RestartReplaysCommittedAndOpenTransactions) {
  ASSERT_EQ(txn_commit(txn_request("g", "orders", 0, 7)), 0);
  end_transaction("g", /*commit=*/true);
  ASSERT_EQ(txn_commit(txn_request("g", "orders", 1, 8)), 0);  // left open

  stop();
  start();

  EXPECT_EQ(fetch_offset("g", 0, /*require_stable=*/true), (std::pair<int16_t, int64_t>{0, 7}));
  EXPECT_EQ(fetch_offset("g", 1, /*require_stable=*/true),
            (std::pair<int16_t, int64_t>{to_wire(ErrorCode::kUnstableOffsetCommit), -1}));
  end_transaction("g", /*commit=*/true);
  EXPECT_EQ(fetch_offset("g", 1, /*require_stable=*/true), (std::pair<int16_t, int64_t>{0, 8}));
}

TEST_F(TxnOffsetsTest, RequestErrorsArePerPartition) {
  EXPECT_EQ(txn_commit(txn_request("", "orders", 0, 1)), to_wire(ErrorCode::kInvalidGroupId));
  EXPECT_EQ(txn_commit(txn_request("g", "nope", 0, 1)),
            to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(txn_commit(txn_request("g", "orders", 2, 1)),
            to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(txn_commit(txn_request("g", "orders", 0, 1, std::string(5000, 'x'))),
            to_wire(ErrorCode::kOffsetMetadataTooLarge));
  auto no_producer = txn_request("g", "orders", 0, 1);
  no_producer.producer_id = -1;
  EXPECT_EQ(txn_commit(no_producer), to_wire(ErrorCode::kInvalidRequest));
  // A generation names a group that must exist (KIP-447 consumers are members).
  auto unknown_group = txn_request("nobody", "orders", 0, 1);
  unknown_group.generation_id = 1;
  unknown_group.member_id = "m";
  EXPECT_EQ(txn_commit(unknown_group), to_wire(ErrorCode::kIllegalGeneration));
  EXPECT_TRUE(offsets_batches("g").empty());
}

TEST_F(TxnOffsetsTest, GenerationAndMemberOfAGroupAreChecked) {
  p::JoinGroupRequest join;
  join.group_id = "g";
  join.session_timeout_ms = 10000;
  join.rebalance_timeout_ms = 10000;
  join.protocol_type = "consumer";
  auto& protocol = join.protocols.emplace_back();
  protocol.name = "range";
  protocol.metadata = {1, 2, 3};
  auto joined = call<p::JoinGroupResponse>(join, 3);  // v3: no MEMBER_ID_REQUIRED round
  ASSERT_EQ(joined.error_code, 0);
  p::SyncGroupRequest sync;
  sync.group_id = "g";
  sync.generation_id = joined.generation_id;
  sync.member_id = joined.member_id;
  auto& assignment = sync.assignments.emplace_back();
  assignment.member_id = joined.member_id;
  assignment.assignment = {9};
  ASSERT_EQ(call<p::SyncGroupResponse>(sync, 3).error_code, 0);

  auto request = txn_request("g", "orders", 0, 1);
  request.generation_id = joined.generation_id + 1;
  request.member_id = joined.member_id;
  EXPECT_EQ(txn_commit(request), to_wire(ErrorCode::kIllegalGeneration));
  request.generation_id = joined.generation_id;
  request.member_id = "stranger";
  EXPECT_EQ(txn_commit(request), to_wire(ErrorCode::kUnknownMemberId));
  request.member_id = joined.member_id;
  EXPECT_EQ(txn_commit(request), 0);
  // v0-v2 carry no member: a producer outside the group may commit.
  EXPECT_EQ(txn_commit(txn_request("g", "orders", 1, 1), 2), 0);
}

}  // namespace
}  // namespace fjord::broker
