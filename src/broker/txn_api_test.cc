// The transactional APIs through Broker::handle, in process: a real controller,
// partitions on disk and the transaction coordinator, requests as frames.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "broker/test_broker.h"
#include "protocol/generated/add_offsets_to_txn_request.h"
#include "protocol/generated/add_offsets_to_txn_response.h"
#include "protocol/generated/add_partitions_to_txn_request.h"
#include "protocol/generated/add_partitions_to_txn_response.h"
#include "protocol/generated/api_messages.h"
#include "protocol/generated/create_partitions_request.h"
#include "protocol/generated/create_partitions_response.h"
#include "protocol/generated/create_topics_request.h"
#include "protocol/generated/create_topics_response.h"
#include "protocol/generated/delete_topics_request.h"
#include "protocol/generated/delete_topics_response.h"
#include "protocol/generated/describe_producers_request.h"
#include "protocol/generated/describe_producers_response.h"
#include "protocol/generated/describe_transactions_request.h"
#include "protocol/generated/describe_transactions_response.h"
#include "protocol/generated/end_txn_request.h"
#include "protocol/generated/end_txn_response.h"
#include "protocol/generated/find_coordinator_request.h"
#include "protocol/generated/find_coordinator_response.h"
#include "protocol/generated/init_producer_id_request.h"
#include "protocol/generated/init_producer_id_response.h"
#include "protocol/generated/list_offsets_request.h"
#include "protocol/generated/list_offsets_response.h"
#include "protocol/generated/list_transactions_request.h"
#include "protocol/generated/list_transactions_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/produce_request.h"
#include "protocol/generated/produce_response.h"
#include "protocol/generated/request_header.h"
#include "protocol/generated/write_txn_markers_request.h"
#include "protocol/generated/write_txn_markers_response.h"
#include "records/builder.h"

namespace fjord::broker {
namespace {

namespace p = protocol;

class TxnApiTest : public InProcessBrokerTest {
 protected:
  void SetUp() override {
    use_temp_dir("fjord-txn-api-");
    config_.num_partitions = 2;
    config_.offsets_topic_partitions = 4;
    txn_config_.txn.state_partitions = 5;
    txn_config_.txn.offsets_partitions = 4;
    start();
  }

  void create_topic(const std::string& name, int32_t partitions) {
    p::CreateTopicsRequest request;
    auto& topic = request.topics.emplace_back();
    topic.name = name;
    topic.num_partitions = partitions;
    topic.replication_factor = 1;
    auto response = call<p::CreateTopicsResponse>(request, 7);
    ASSERT_EQ(response.topics.at(0).error_code, 0);
  }

  p::FindCoordinatorResponse find_txn_coordinator(const std::string& id) {
    p::FindCoordinatorRequest request;
    request.key = id;
    request.key_type = 1;
    return call<p::FindCoordinatorResponse>(request, 3);
  }

  p::InitProducerIdResponse init(const std::optional<std::string>& id, int32_t timeout_ms = 60000,
                                 int16_t version = 4, int64_t producer_id = -1,
                                 int16_t producer_epoch = -1) {
    p::InitProducerIdRequest request;
    request.transactional_id = id;
    request.transaction_timeout_ms = timeout_ms;
    request.producer_id = producer_id;
    request.producer_epoch = producer_epoch;
    return call<p::InitProducerIdResponse>(request, version);
  }

  p::AddPartitionsToTxnResponse add(const std::string& id,
                                    const p::InitProducerIdResponse& producer,
                                    const std::string& topic, std::vector<int32_t> partitions,
                                    int16_t version = 3) {
    p::AddPartitionsToTxnRequest request;
    request.v3_and_below_transactional_id = id;
    request.v3_and_below_producer_id = producer.producer_id;
    request.v3_and_below_producer_epoch = producer.producer_epoch;
    auto& entry = request.v3_and_below_topics.emplace_back();
    entry.name = topic;
    entry.partitions = std::move(partitions);
    return call<p::AddPartitionsToTxnResponse>(request, version);
  }

  int16_t end(const std::string& id, const p::InitProducerIdResponse& producer, bool commit,
              int16_t version = 3) {
    p::EndTxnRequest request;
    request.transactional_id = id;
    request.producer_id = producer.producer_id;
    request.producer_epoch = producer.producer_epoch;
    request.committed = commit;
    return call<p::EndTxnResponse>(request, version).error_code;
  }

  int16_t produce_txn(const std::string& topic, int32_t partition,
                      const p::InitProducerIdResponse& producer, int32_t sequence) {
    records::BatchOptions options;
    options.producer_id = producer.producer_id;
    options.producer_epoch = producer.producer_epoch;
    options.base_sequence = sequence;
    options.transactional = true;
    records::BatchBuilder builder(options);
    EXPECT_TRUE(
        builder.append(wall_clock_ms(), records::as_bytes("k"), records::as_bytes("v")).ok());
    auto built = builder.build();
    EXPECT_TRUE(built.ok());
    std::vector<uint8_t> batch(built->begin(), built->end());
    p::ProduceRequest request;
    request.transactional_id = "ignored-by-fjord";
    request.acks = -1;
    request.timeout_ms = 30000;
    auto& data = request.topic_data.emplace_back();
    data.name = topic;
    auto& part = data.partition_data.emplace_back();
    part.index = partition;
    part.records = p::Records::from_bytes(batch);
    auto response = call<p::ProduceResponse>(request, 7);
    return response.responses.at(0).partition_responses.at(0).error_code;
  }

  // The last stable offset of topic-partition (ListOffsets latest, read_committed).
  int64_t last_stable_offset(const std::string& topic, int32_t partition) {
    p::ListOffsetsRequest request;
    request.replica_id = -1;
    request.isolation_level = 1;
    auto& t = request.topics.emplace_back();
    t.name = topic;
    auto& part = t.partitions.emplace_back();
    part.partition_index = partition;
    part.timestamp = -1;
    auto response = call<p::ListOffsetsResponse>(request, 5);
    return response.topics.at(0).partitions.at(0).offset;
  }

  p::DescribeTransactionsResponse::TransactionState describe(const std::string& id) {
    p::DescribeTransactionsRequest request;
    request.transactional_ids = {id};
    auto response = call<p::DescribeTransactionsResponse>(request, 0);
    return response.transaction_states.at(0);
  }

  // Runs every shard's periodic transaction work as if `elapsed_ms` had passed.
  void tick_all(int64_t elapsed_ms) {
    for (unsigned shard = 0; shard < pool_->count(); ++shard) {
      std::promise<void> done;
      boost::asio::post(pool_->executor(shard), [&] {
        txns_->tick_here(elapsed_ms);
        done.set_value();
      });
      done.get_future().wait();
    }
  }
};

constexpr int16_t kNone = 0;

int16_t code(ErrorCode error) { return to_wire(error); }

TEST_F(TxnApiTest, FindCoordinatorCreatesTheInternalStateTopic) {
  auto found = find_txn_coordinator("tx");
  EXPECT_EQ(found.error_code, kNone);
  EXPECT_EQ(found.node_id, config_.node_id);
  EXPECT_EQ(found.port, 9092);
  p::MetadataRequest request;
  request.topics.emplace();
  request.topics->emplace_back().name = std::string(kTransactionStateTopic);
  auto metadata = call<p::MetadataResponse>(request, 9);
  ASSERT_EQ(metadata.topics.size(), 1u);
  EXPECT_EQ(metadata.topics[0].error_code, kNone);
  EXPECT_TRUE(metadata.topics[0].is_internal);
  EXPECT_EQ(metadata.topics[0].partitions.size(), 5u);
}

TEST_F(TxnApiTest, StateTopicRefusesProduceDeleteAndNewPartitions) {
  ASSERT_EQ(find_txn_coordinator("tx").error_code, kNone);
  const auto producer = init(std::nullopt);
  EXPECT_EQ(produce_txn(std::string(kTransactionStateTopic), 0, producer, 0),
            code(ErrorCode::kInvalidTopicException));
  p::DeleteTopicsRequest del;
  del.topic_names = {std::string(kTransactionStateTopic)};
  auto deleted = call<p::DeleteTopicsResponse>(del, 4);
  EXPECT_EQ(deleted.responses.at(0).error_code, code(ErrorCode::kInvalidRequest));
  p::CreatePartitionsRequest more;
  auto& topic = more.topics.emplace_back();
  topic.name = std::string(kTransactionStateTopic);
  topic.count = 10;
  more.timeout_ms = 1000;
  auto grown = call<p::CreatePartitionsResponse>(more, 3);
  EXPECT_EQ(grown.results.at(0).error_code, code(ErrorCode::kInvalidRequest));
}

TEST_F(TxnApiTest, IdempotentProducersGetDistinctIdsAtEpochZero) {
  const auto a = init(std::nullopt);
  const auto b = init(std::nullopt);
  EXPECT_EQ(a.error_code, kNone);
  EXPECT_GE(a.producer_id, 0);
  EXPECT_EQ(a.producer_epoch, 0);
  EXPECT_NE(a.producer_id, b.producer_id);
}

TEST_F(TxnApiTest, CommitWritesMarkersSoTheLastStableOffsetMoves) {
  create_topic("orders", 2);
  const auto producer = init("tx");
  ASSERT_EQ(producer.error_code, kNone);
  EXPECT_EQ(producer.producer_epoch, 0);
  auto added = add("tx", producer, "orders", {0});
  EXPECT_EQ(
      added.results_by_topic_v3_and_below.at(0).results_by_partition.at(0).partition_error_code,
      kNone);
  EXPECT_EQ(produce_txn("orders", 0, producer, 0), kNone);
  EXPECT_EQ(last_stable_offset("orders", 0), 0) << "the open transaction holds it back";
  EXPECT_EQ(describe("tx").transaction_state, "Ongoing");
  EXPECT_EQ(end("tx", producer, true), kNone);
  EXPECT_EQ(last_stable_offset("orders", 0), 2) << "one record and the COMMIT marker";
  const auto state = describe("tx");
  EXPECT_EQ(state.error_code, kNone);
  EXPECT_EQ(state.transaction_state, "CompleteCommit");
  EXPECT_EQ(state.producer_id, producer.producer_id);
  EXPECT_EQ(end("tx", producer, true), kNone) << "a retry of the same EndTxn";
  EXPECT_EQ(end("tx", producer, false), code(ErrorCode::kInvalidTxnState));
}

TEST_F(TxnApiTest, UnknownPartitionsFailTheWholeAddPartitions) {
  create_topic("orders", 2);
  const auto producer = init("tx");
  p::AddPartitionsToTxnRequest request;
  request.v3_and_below_transactional_id = "tx";
  request.v3_and_below_producer_id = producer.producer_id;
  request.v3_and_below_producer_epoch = producer.producer_epoch;
  auto& known = request.v3_and_below_topics.emplace_back();
  known.name = "orders";
  known.partitions = {1, 7};
  auto& unknown = request.v3_and_below_topics.emplace_back();
  unknown.name = "nope";
  unknown.partitions = {0};
  auto response = call<p::AddPartitionsToTxnResponse>(request, 3);
  const auto& topics = response.results_by_topic_v3_and_below;
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].results_by_partition[0].partition_error_code,
            code(ErrorCode::kOperationNotAttempted));
  EXPECT_EQ(topics[0].results_by_partition[1].partition_error_code,
            code(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(topics[1].results_by_partition[0].partition_error_code,
            code(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(describe("tx").transaction_state, "Empty");
}

TEST_F(TxnApiTest, NewProducerFencesTheOldOneAndOldVersionsSeeInvalidEpoch) {
  create_topic("orders", 1);
  const auto old_producer = init("tx");
  add("tx", old_producer, "orders", {0});
  EXPECT_EQ(produce_txn("orders", 0, old_producer, 0), kNone);
  EXPECT_EQ(init("tx").error_code, code(ErrorCode::kConcurrentTransactions));
  EXPECT_EQ(last_stable_offset("orders", 0), 2) << "aborted: the ABORT marker closed it";
  const auto new_producer = init("tx");
  ASSERT_EQ(new_producer.error_code, kNone);
  EXPECT_EQ(new_producer.producer_id, old_producer.producer_id);
  EXPECT_EQ(new_producer.producer_epoch, old_producer.producer_epoch + 2);
  EXPECT_EQ(end("tx", old_producer, true, 3), code(ErrorCode::kProducerFenced));
  EXPECT_EQ(end("tx", old_producer, true, 1), code(ErrorCode::kInvalidProducerEpoch));
  auto added = add("tx", old_producer, "orders", {0}, 1);
  EXPECT_EQ(added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
            code(ErrorCode::kInvalidProducerEpoch));
}

TEST_F(TxnApiTest, InitProducerIdChecksTimeoutAndKip360Fields) {
  EXPECT_EQ(init("tx", 0).error_code, code(ErrorCode::kInvalidTransactionTimeout));
  EXPECT_EQ(init("tx", 900001).error_code, code(ErrorCode::kInvalidTransactionTimeout));
  const auto first = init("tx");
  EXPECT_EQ(init("tx", 60000, 4, first.producer_id, -1).error_code,
            code(ErrorCode::kInvalidRequest));
  EXPECT_EQ(init("tx", 60000, 4, first.producer_id + 100, 0).error_code,
            code(ErrorCode::kProducerFenced));
  EXPECT_EQ(init("tx", 60000, 3, first.producer_id + 100, 0).error_code,
            code(ErrorCode::kInvalidProducerEpoch));
  const auto bumped = init("tx", 60000, 4, first.producer_id, first.producer_epoch);
  EXPECT_EQ(bumped.error_code, kNone);
  EXPECT_EQ(bumped.producer_epoch, first.producer_epoch + 1);
}

TEST_F(TxnApiTest, AddOffsetsAddsTheGroupsOffsetsPartition) {
  const auto producer = init("tx");
  p::AddOffsetsToTxnRequest request;
  request.transactional_id = "tx";
  request.producer_id = producer.producer_id;
  request.producer_epoch = producer.producer_epoch;
  request.group_id = "my-group";
  EXPECT_EQ(call<p::AddOffsetsToTxnResponse>(request, 3).error_code, kNone);
  const auto state = describe("tx");
  ASSERT_EQ(state.topics.size(), 1u);
  EXPECT_EQ(state.topics[0].topic, std::string(kOffsetsTopic));
  EXPECT_EQ(state.topics[0].partitions,
            std::vector<int32_t>{groups::offsets_partition_for("my-group", 4)});
  EXPECT_EQ(end("tx", producer, false), kNone);
  EXPECT_EQ(describe("tx").transaction_state, "CompleteAbort");
}

TEST_F(TxnApiTest, TimedOutTransactionIsAbortedByTheTick) {
  create_topic("orders", 1);
  const auto producer = init("tx", 1);
  add("tx", producer, "orders", {0});
  EXPECT_EQ(produce_txn("orders", 0, producer, 0), kNone);
  // Past the 1 ms timeout (waiting is not asserted on: the abort is).
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  tick_all(txn_config_.abort_check_interval_ms);
  // The abort is written in the background: wait for it to complete.
  for (int i = 0; i < 500 && describe("tx").transaction_state != "CompleteAbort"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto state = describe("tx");
  EXPECT_EQ(state.transaction_state, "CompleteAbort");
  EXPECT_EQ(state.producer_epoch, producer.producer_epoch + 1);
  EXPECT_EQ(last_stable_offset("orders", 0), 2);
  EXPECT_EQ(end("tx", producer, true), code(ErrorCode::kProducerFenced));
}

TEST_F(TxnApiTest, StateSurvivesARestart) {
  create_topic("orders", 1);
  const auto producer = init("tx");
  add("tx", producer, "orders", {0});
  stop();
  start();
  const auto state = describe("tx");
  EXPECT_EQ(state.error_code, kNone);
  EXPECT_EQ(state.transaction_state, "Ongoing");
  EXPECT_EQ(state.producer_id, producer.producer_id);
  EXPECT_EQ(end("tx", producer, true), kNone);
  const auto next = init("tx");
  EXPECT_EQ(next.producer_id, producer.producer_id);
  EXPECT_EQ(next.producer_epoch, producer.producer_epoch + 1);
  EXPECT_GT(init(std::nullopt).producer_id, producer.producer_id)
      << "producer ids are not handed out twice across restarts";
}

TEST_F(TxnApiTest, ListTransactionsFilters) {
  create_topic("orders", 1);
  const auto a = init("a");
  const auto b = init("b");
  add("b", b, "orders", {0});
  p::ListTransactionsRequest request;
  auto all = call<p::ListTransactionsResponse>(request, 1);
  EXPECT_EQ(all.transaction_states.size(), 2u);
  request.state_filters = {"Ongoing", "Bogus"};
  auto ongoing = call<p::ListTransactionsResponse>(request, 1);
  ASSERT_EQ(ongoing.transaction_states.size(), 1u);
  EXPECT_EQ(ongoing.transaction_states[0].transactional_id, "b");
  EXPECT_EQ(ongoing.unknown_state_filters, std::vector<std::string>{"Bogus"});
  request.state_filters = {"Bogus"};
  EXPECT_TRUE(call<p::ListTransactionsResponse>(request, 1).transaction_states.empty());
  request.state_filters = {};
  request.producer_id_filters = {a.producer_id};
  auto by_id = call<p::ListTransactionsResponse>(request, 0);
  ASSERT_EQ(by_id.transaction_states.size(), 1u);
  EXPECT_EQ(by_id.transaction_states[0].transactional_id, "a");
  EXPECT_EQ(describe("zzz").error_code, code(ErrorCode::kTransactionalIdNotFound));
}

TEST_F(TxnApiTest, DescribeProducersShowsTheOpenTransaction) {
  create_topic("orders", 1);
  const auto producer = init("tx");
  add("tx", producer, "orders", {0});
  EXPECT_EQ(produce_txn("orders", 0, producer, 0), kNone);
  p::DescribeProducersRequest request;
  auto& topic = request.topics.emplace_back();
  topic.name = "orders";
  topic.partition_indexes = {0, 9};
  auto response = call<p::DescribeProducersResponse>(request, 0);
  const auto& partitions = response.topics.at(0).partitions;
  ASSERT_EQ(partitions.size(), 2u);
  EXPECT_EQ(partitions[0].error_code, kNone);
  ASSERT_EQ(partitions[0].active_producers.size(), 1u);
  EXPECT_EQ(partitions[0].active_producers[0].producer_id, producer.producer_id);
  EXPECT_EQ(partitions[0].active_producers[0].last_sequence, 0);
  EXPECT_EQ(partitions[0].active_producers[0].current_txn_start_offset, 0);
  EXPECT_EQ(partitions[1].error_code, code(ErrorCode::kUnknownTopicOrPartition));
}

TEST_F(TxnApiTest, WriteTxnMarkersWritesTheMarkersAskedFor) {
  create_topic("orders", 1);
  const auto producer = init("tx");
  add("tx", producer, "orders", {0});
  EXPECT_EQ(produce_txn("orders", 0, producer, 0), kNone);
  p::WriteTxnMarkersRequest request;
  auto& marker = request.markers.emplace_back();
  marker.producer_id = producer.producer_id;
  marker.producer_epoch = producer.producer_epoch;
  marker.transaction_result = false;
  auto& topic = marker.topics.emplace_back();
  topic.name = "orders";
  topic.partition_indexes = {0};
  auto& missing = marker.topics.emplace_back();
  missing.name = "nope";
  missing.partition_indexes = {3};
  auto response = call<p::WriteTxnMarkersResponse>(request, 1);
  ASSERT_EQ(response.markers.size(), 1u);
  EXPECT_EQ(response.markers[0].topics[0].partitions[0].error_code, kNone);
  EXPECT_EQ(response.markers[0].topics[1].partitions[0].error_code,
            code(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(last_stable_offset("orders", 0), 2);
}

}  // namespace
}  // namespace fjord::broker
