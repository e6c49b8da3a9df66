#include "cli/txn_admin.h"

#include <gtest/gtest.h>

#include "cli/fake_kafka_server.h"
#include "protocol/generated/describe_producers_request.h"
#include "protocol/generated/describe_producers_response.h"
#include "protocol/generated/describe_transactions_request.h"
#include "protocol/generated/describe_transactions_response.h"
#include "protocol/generated/find_coordinator_request.h"
#include "protocol/generated/find_coordinator_response.h"
#include "protocol/generated/list_transactions_request.h"
#include "protocol/generated/list_transactions_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"

namespace fjord::cli {
namespace {

namespace p = fjord::protocol;

// One broker (node 1, itself) hosting topic "orders" with `partitions` partitions.
void serve_metadata(testing::FakeKafkaServer& server, int32_t partitions) {
  const int port = server.port();
  server.serve(p::MetadataRequest::kApiKey, 0, 12,
               [port, partitions](int16_t version, p::Reader& body, p::Writer& out) {
                 p::MetadataRequest request;
                 request.decode(body, version);
                 p::MetadataResponse response;
                 response.brokers.push_back({1, "127.0.0.1", port, std::nullopt, {}});
                 for (const auto& wanted : request.topics.value_or(
                          std::vector<p::MetadataRequest::MetadataRequestTopic>{})) {
                   p::MetadataResponse::MetadataResponseTopic topic;
                   topic.name = wanted.name;
                   if (wanted.name != "orders") topic.error_code = 3;
                   for (int32_t i = 0; wanted.name == "orders" && i < partitions; ++i) {
                     p::MetadataResponse::MetadataResponsePartition partition;
                     partition.partition_index = i;
                     partition.leader_id = 1;
                     topic.partitions.push_back(partition);
                   }
                   response.topics.push_back(topic);
                 }
                 response.encode(out, version);
                 return true;
               });
}

TEST(ListTransactions, PassesTheFiltersAndMergesTheAnswer) {
  testing::FakeKafkaServer server;
  serve_metadata(server, 1);
  p::ListTransactionsRequest seen;
  server.serve(p::ListTransactionsRequest::kApiKey, 0, 1,
               [&seen](int16_t version, p::Reader& body, p::Writer& out) {
                 seen.decode(body, version);
                 p::ListTransactionsResponse response;
                 response.transaction_states.push_back({"app", 7, "Ongoing", {}});
                 response.encode(out, version);
                 return true;
               });
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  auto listed = list_transactions(options, {{"Ongoing"}, {7}});
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].transactional_id, "app");
  EXPECT_EQ((*listed)[0].producer_id, 7);
  EXPECT_EQ((*listed)[0].state, "Ongoing");
  EXPECT_EQ(seen.state_filters, std::vector<std::string>{"Ongoing"});
  EXPECT_EQ(seen.producer_id_filters, std::vector<int64_t>{7});
}

// FindCoordinator answers "node 1, this server"; DescribeTransactions knows only "app".
void serve_transactions(testing::FakeKafkaServer& server, int16_t find_coordinator_max) {
  const int port = server.port();
  server.serve(p::FindCoordinatorRequest::kApiKey, 0, find_coordinator_max,
               [port](int16_t version, p::Reader& body, p::Writer& out) {
                 p::FindCoordinatorRequest request;
                 request.decode(body, version);
                 EXPECT_EQ(request.key_type, 1);
                 p::FindCoordinatorResponse response;
                 response.node_id = 1;
                 response.host = "127.0.0.1";
                 response.port = port;
                 for (const std::string& key : request.coordinator_keys) {
                   response.coordinators.push_back({key, 1, "127.0.0.1", port, 0, "", {}});
                 }
                 response.encode(out, version);
                 return true;
               });
  server.serve(p::DescribeTransactionsRequest::kApiKey, 0, 0,
               [](int16_t version, p::Reader& body, p::Writer& out) {
                 p::DescribeTransactionsRequest request;
                 request.decode(body, version);
                 p::DescribeTransactionsResponse response;
                 for (const std::string& id : request.transactional_ids) {
                   p::DescribeTransactionsResponse::TransactionState state;
                   state.transactional_id = id;
                   if (id == "app") {
                     state.transaction_state = "Ongoing";
                     state.producer_id = 7;
                     state.producer_epoch = 2;
                     state.transaction_timeout_ms = 60000;
                     state.transaction_start_time_ms = 1000;
                     state.topics.push_back({"orders", {1, 0}, {}});
                   } else {
                     state.error_code = 105;
                   }
                   response.transaction_states.push_back(state);
                 }
                 response.encode(out, version);
                 return true;
               });
}

class DescribeTransactions : public ::testing::TestWithParam<int16_t> {};

TEST_P(DescribeTransactions, AsksTheCoordinatorOfEachIdInOrder) {
  testing::FakeKafkaServer server;
  serve_transactions(server, GetParam());
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  auto lookups = describe_transactions(options, {"missing", "app"});
  ASSERT_TRUE(lookups.ok()) << lookups.error().message;
  ASSERT_EQ(lookups->size(), 2u);
  EXPECT_EQ((*lookups)[0].description.transactional_id, "missing");
  EXPECT_EQ((*lookups)[0].error, 105);
  const TransactionLookup& app = (*lookups)[1];
  EXPECT_EQ(app.error, 0);
  EXPECT_EQ(app.description.transactional_id, "app");
  EXPECT_EQ(app.description.state, "Ongoing");
  EXPECT_EQ(app.description.producer_id, 7);
  EXPECT_EQ(app.description.producer_epoch, 2);
  EXPECT_EQ(app.description.timeout_ms, 60000);
  EXPECT_EQ(app.description.start_time_ms, 1000);
  EXPECT_EQ(app.description.coordinator, 1);
  EXPECT_EQ(app.description.partitions,
            (std::vector<TopicPartitionId>{{"orders", 1}, {"orders", 0}}));
}

// FindCoordinator v3 carries one key; v4+ a list of keys.
INSTANTIATE_TEST_SUITE_P(FindCoordinatorVersions, DescribeTransactions, ::testing::Values(3, 6));

TEST(DescribeTransactionsRetry, AsksAgainWhileTheCoordinatorIsLoading) {
  testing::FakeKafkaServer server;
  const int port = server.port();
  server.serve(p::FindCoordinatorRequest::kApiKey, 0, 3,
               [port](int16_t version, p::Reader& body, p::Writer& out) {
                 p::FindCoordinatorRequest request;
                 request.decode(body, version);
                 p::FindCoordinatorResponse response;
                 response.node_id = 1;
                 response.host = "127.0.0.1";
                 response.port = port;
                 response.encode(out, version);
                 return true;
               });
  int calls = 0;
  server.serve(p::DescribeTransactionsRequest::kApiKey, 0, 0,
               [&calls](int16_t version, p::Reader& body, p::Writer& out) {
                 p::DescribeTransactionsRequest request;
                 request.decode(body, version);
                 p::DescribeTransactionsResponse::TransactionState state;
                 state.transactional_id = request.transactional_ids.at(0);
                 state.transaction_state = "Empty";
                 state.error_code = ++calls < 3 ? 14 : 0;  // COORDINATOR_LOAD_IN_PROGRESS
                 p::DescribeTransactionsResponse response;
                 response.transaction_states.push_back(state);
                 response.encode(out, version);
                 return true;
               });
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  auto lookups = describe_transactions(options, {"app"});
  ASSERT_TRUE(lookups.ok()) << lookups.error().message;
  EXPECT_EQ(lookups->at(0).error, 0);
  EXPECT_EQ(lookups->at(0).description.state, "Empty");
  EXPECT_EQ(calls, 3);
}

void serve_producers(testing::FakeKafkaServer& server, std::vector<int32_t>& asked) {
  server.serve(p::DescribeProducersRequest::kApiKey, 0, 0,
               [&asked](int16_t version, p::Reader& body, p::Writer& out) {
                 p::DescribeProducersRequest request;
                 request.decode(body, version);
                 p::DescribeProducersResponse response;
                 for (const auto& topic : request.topics) {
                   p::DescribeProducersResponse::TopicResponse answered;
                   answered.name = topic.name;
                   for (int32_t index : topic.partition_indexes) {
                     asked.push_back(index);
                     p::DescribeProducersResponse::PartitionResponse partition;
                     partition.partition_index = index;
                     partition.active_producers.push_back({7, 2, 41, 5000, 0, 10 * index, {}});
                     answered.partitions.push_back(partition);
                   }
                   response.topics.push_back(answered);
                 }
                 response.encode(out, version);
                 return true;
               });
}

TEST(DescribeProducers, AsksForEveryPartitionOrJustTheOneNamed) {
  testing::FakeKafkaServer server;
  serve_metadata(server, 3);
  std::vector<int32_t> asked;
  serve_producers(server, asked);
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  auto all = describe_producers(options, "orders", std::nullopt);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].partition, (TopicPartitionId{"orders", 2}));
  ASSERT_EQ((*all)[2].producers.size(), 1u);
  EXPECT_EQ((*all)[2].producers[0].txn_start_offset, 20);
  EXPECT_EQ((*all)[2].producers[0].last_sequence, 41);
  auto one = describe_producers(options, "orders", 1);
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().partition.partition, 1);
  EXPECT_EQ(asked, (std::vector<int32_t>{0, 1, 2, 1}));
}

TEST(DescribeProducers, ExplainsAnUnknownTopicOrPartition) {
  testing::FakeKafkaServer server;
  serve_metadata(server, 2);
  std::vector<int32_t> asked;
  serve_producers(server, asked);
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  auto unknown = describe_producers(options, "payments", std::nullopt);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("topic 'payments' does not exist"), std::string::npos)
      << unknown.error().message;
  auto beyond = describe_producers(options, "orders", 5);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, ErrorCode::kInvalidConfig);
  EXPECT_NE(beyond.error().message.find("has no partition 5: it has 2 (0 to 1)"), std::string::npos)
      << beyond.error().message;
  EXPECT_TRUE(asked.empty());
}

}  // namespace
}  // namespace fjord::cli
