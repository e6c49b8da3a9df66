#include "cli/txn_abort.h"

#include <gtest/gtest.h>

#include "cli/fake_kafka_server.h"
#include "cli/txn_admin.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/write_txn_markers_request.h"
#include "protocol/generated/write_txn_markers_response.h"

namespace fjord::cli {
namespace {

namespace p = fjord::protocol;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// orders:1 with an idle producer 5, producer 7 (epoch 2) whose transaction
// starts at 42 and producer 8 (epoch 0) whose transaction starts at 40.
PartitionProducers orders_1() {
  PartitionProducers partition;
  partition.partition = {"orders", 1};
  partition.producers.push_back({5, 0, 3, 1000, -1, -1});
  partition.producers.push_back({7, 2, 10, 2000, -1, 42});
  partition.producers.push_back({8, 0, 0, 3000, 4, 40});
  return partition;
}

TEST(ChooseTransactionToAbort, FindsTheProducerWhoseTransactionStartsAtTheOffset) {
  AbortSelector selector;
  selector.start_offset = 42;
  auto target = choose_transaction_to_abort(orders_1(), selector);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->partition, (TopicPartitionId{"orders", 1}));
  EXPECT_EQ(target->producer_id, 7);
  EXPECT_EQ(target->producer_epoch, 2);
  EXPECT_EQ(target->start_offset, 42);
  EXPECT_EQ(target->coordinator_epoch, 0);  // the broker keeps none (-1): 0
}

TEST(ChooseTransactionToAbort, TakesTheProducersCoordinatorEpochUnlessOneIsGiven) {
  AbortSelector selector;
  selector.start_offset = 40;
  auto target = choose_transaction_to_abort(orders_1(), selector);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->producer_id, 8);
  EXPECT_EQ(target->coordinator_epoch, 4);
  selector.coordinator_epoch = 9;
  target = choose_transaction_to_abort(orders_1(), selector);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->coordinator_epoch, 9);
}

TEST(ChooseTransactionToAbort, AnOffsetWhereNoTransactionStartsListsTheOpenOnes) {
  AbortSelector selector;
  selector.start_offset = 41;
  auto target = choose_transaction_to_abort(orders_1(), selector);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.error().code, ErrorCode::kInvalidTxnState);
  const std::string& message = target.error().message;
  EXPECT_TRUE(contains(message, "no open transaction starts at offset 41 on orders:1")) << message;
  EXPECT_TRUE(
      contains(message, "transactions are open at offsets 40 (producer 8), 42 (producer 7)"))
      << message;
  EXPECT_TRUE(contains(message, "fjord txn producers --topic orders --partition 1")) << message;
}

TEST(ChooseTransactionToAbort, SaysSoWhenNoTransactionIsOpen) {
  PartitionProducers idle;
  idle.partition = {"orders", 0};
  idle.producers.push_back({5, 0, 3, 1000, -1, -1});
  AbortSelector selector;
  selector.start_offset = 3;
  auto target = choose_transaction_to_abort(idle, selector);
  ASSERT_FALSE(target.ok());
  EXPECT_TRUE(contains(target.error().message, "no transaction is open there"))
      << target.error().message;
}

TEST(ChooseTransactionToAbort, ByProducerIdChecksTheEpochAndTheOpenTransaction) {
  AbortSelector selector;
  selector.producer_id = 7;
  selector.producer_epoch = 2;
  auto target = choose_transaction_to_abort(orders_1(), selector);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->start_offset, 42);

  selector.producer_epoch = 1;
  target = choose_transaction_to_abort(orders_1(), selector);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.error().code, ErrorCode::kInvalidProducerEpoch);
  EXPECT_TRUE(contains(target.error().message, "producer 7 has epoch 2 on orders:1, not 1"))
      << target.error().message;

  selector.producer_id = 5;  // known, but idle
  selector.producer_epoch = 0;
  target = choose_transaction_to_abort(orders_1(), selector);
  ASSERT_FALSE(target.ok());
  EXPECT_TRUE(contains(target.error().message, "producer 5 has no open transaction on orders:1"))
      << target.error().message;

  selector.producer_id = 99;  // unknown
  target = choose_transaction_to_abort(orders_1(), selector);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.error().code, ErrorCode::kInvalidTxnState);
}

TEST(ChooseTransactionToAbort, APartitionErrorIsReported) {
  PartitionProducers failed;
  failed.partition = {"orders", 3};
  failed.error = 6;  // NOT_LEADER_OR_FOLLOWER
  AbortSelector selector;
  selector.start_offset = 0;
  auto target = choose_transaction_to_abort(failed, selector);
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.error().code, ErrorCode::kNotLeaderOrFollower);
  EXPECT_TRUE(contains(target.error().message, "producers of orders:3: NOT_LEADER_OR_FOLLOWER"))
      << target.error().message;
}

AbortTarget producer_7_on_orders_1() {
  AbortTarget target;
  target.partition = {"orders", 1};
  target.producer_id = 7;
  target.producer_epoch = 2;
  target.start_offset = 42;
  return target;
}

p::WriteTxnMarkersResponse marker_answer(int64_t producer_id, const std::string& topic,
                                         int32_t partition, int16_t error) {
  p::WriteTxnMarkersResponse response;
  auto& marker = response.markers.emplace_back();
  marker.producer_id = producer_id;
  auto& answered_topic = marker.topics.emplace_back();
  answered_topic.name = topic;
  auto& answered = answered_topic.partitions.emplace_back();
  answered.partition_index = partition;
  answered.error_code = error;
  return response;
}

TEST(AbortMarkerError, IsTheErrorOfTheTargetsPartition) {
  auto error = abort_marker_error(marker_answer(7, "orders", 1, 47), producer_7_on_orders_1());
  ASSERT_TRUE(error.ok()) << error.error().message;
  EXPECT_EQ(*error, 47);
}

TEST(AbortMarkerError, AnAnswerWithoutTheTargetIsMalformed) {
  for (const auto& answer : {marker_answer(8, "orders", 1, 0), marker_answer(7, "other", 1, 0),
                             marker_answer(7, "orders", 2, 0), p::WriteTxnMarkersResponse{}}) {
    auto error = abort_marker_error(answer, producer_7_on_orders_1());
    ASSERT_FALSE(error.ok());
    EXPECT_EQ(error.error().code, ErrorCode::kCorruptMessage);
  }
}

TEST(FormatAbort, NamesTheProducerThePartitionAndTheOffset) {
  EXPECT_EQ(format_abort(producer_7_on_orders_1()),
            "Aborted the transaction of producer 7 (epoch 2) on orders:1 that started at offset "
            "42 (ABORT marker written, coordinator epoch 0)\n");
}

// One broker (node 1, this server) leading both partitions of "orders".
void serve_metadata(testing::FakeKafkaServer& server) {
  const int port = server.port();
  server.serve(p::MetadataRequest::kApiKey, 0, 12,
               [port](int16_t version, p::Reader& body, p::Writer& out) {
                 p::MetadataRequest request;
                 request.decode(body, version);
                 p::MetadataResponse response;
                 response.brokers.push_back({1, "127.0.0.1", port, std::nullopt, {}});
                 p::MetadataResponse::MetadataResponseTopic topic;
                 topic.name = "orders";
                 for (int32_t i = 0; i < 2; ++i) {
                   p::MetadataResponse::MetadataResponsePartition partition;
                   partition.partition_index = i;
                   partition.leader_id = 1;
                   topic.partitions.push_back(partition);
                 }
                 response.topics.push_back(topic);
                 response.encode(out, version);
                 return true;
               });
}

TEST(WriteAbortMarker, SendsOneAbortMarkerToTheLeader) {
  testing::FakeKafkaServer server;
  serve_metadata(server);
  p::WriteTxnMarkersRequest seen;
  server.serve(p::WriteTxnMarkersRequest::kApiKey, 0, 1,
               [&seen](int16_t version, p::Reader& body, p::Writer& out) {
                 seen.decode(body, version);
                 marker_answer(7, "orders", 1, 0).encode(out, version);
                 return true;
               });
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  AbortTarget target = producer_7_on_orders_1();
  target.coordinator_epoch = 3;
  auto error = write_abort_marker(options, target);
  ASSERT_TRUE(error.ok()) << error.error().message;
  EXPECT_EQ(*error, 0);
  ASSERT_EQ(seen.markers.size(), 1u);
  const auto& marker = seen.markers[0];
  EXPECT_EQ(marker.producer_id, 7);
  EXPECT_EQ(marker.producer_epoch, 2);
  EXPECT_FALSE(marker.transaction_result);  // ABORT
  EXPECT_EQ(marker.coordinator_epoch, 3);
  ASSERT_EQ(marker.topics.size(), 1u);
  EXPECT_EQ(marker.topics[0].name, "orders");
  EXPECT_EQ(marker.topics[0].partition_indexes, std::vector<int32_t>{1});
}

TEST(WriteAbortMarker, APartitionBeyondTheTopicIsAUsageError) {
  testing::FakeKafkaServer server;
  serve_metadata(server);
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  AbortTarget target = producer_7_on_orders_1();
  target.partition.partition = 5;
  auto error = write_abort_marker(options, target);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().code, ErrorCode::kInvalidConfig);
  EXPECT_TRUE(contains(error.error().message, "topic 'orders' has no partition 5"))
      << error.error().message;
  EXPECT_EQ(server.requests_seen().size(), 2u);  // ApiVersions, Metadata: no marker
}

}  // namespace
}  // namespace fjord::cli
