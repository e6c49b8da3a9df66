#include "client/broker_connection.h"

#include <gtest/gtest.h>

#include "cli/fake_kafka_server.h"
#include "protocol/generated/list_transactions_request.h"
#include "protocol/generated/list_transactions_response.h"

namespace fjord::cli {
namespace {

namespace p = fjord::protocol;
using client::BrokerConnection;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A server whose ListTransactions echoes the state filter back as one transaction.
void serve_list_transactions(testing::FakeKafkaServer& server) {
  server.serve(p::ListTransactionsRequest::kApiKey, 0, 1,
               [](int16_t version, p::Reader& body, p::Writer& out) {
                 p::ListTransactionsRequest request;
                 request.decode(body, version);
                 p::ListTransactionsResponse response;
                 p::ListTransactionsResponse::TransactionState state;
                 state.transactional_id = "app-" + std::to_string(version);
                 state.producer_id = 4000;
                 state.transaction_state =
                     request.state_filters.empty() ? "?" : request.state_filters.front();
                 response.transaction_states.push_back(state);
                 response.encode(out, version);
                 return true;
               });
}

TEST(BrokerConnection, SendsAtTheHighestCommonVersionAndDecodesTheAnswer) {
  testing::FakeKafkaServer server;
  serve_list_transactions(server);
  server.start();
  auto connection = BrokerConnection::open(server.address(), 5000);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  p::ListTransactionsRequest request;
  request.state_filters = {"Ongoing"};
  auto response = (*connection)->call<p::ListTransactionsResponse>(request, "ListTransactions");
  ASSERT_TRUE(response.ok()) << response.error().message;
  ASSERT_EQ(response->transaction_states.size(), 1u);
  EXPECT_EQ(response->transaction_states[0].transactional_id, "app-1");
  EXPECT_EQ(response->transaction_states[0].producer_id, 4000);
  EXPECT_EQ(response->transaction_states[0].transaction_state, "Ongoing");
  // A second request on the same connection (correlation ids advance).
  auto again = (*connection)->call<p::ListTransactionsResponse>(request, "ListTransactions");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(server.requests_seen(), (std::vector<int16_t>{18, p::ListTransactionsRequest::kApiKey,
                                                          p::ListTransactionsRequest::kApiKey}));
}

TEST(BrokerConnection, NamesAnApiTheServerDoesNotSupport) {
  testing::FakeKafkaServer server;
  server.start();
  auto connection = BrokerConnection::open(server.address(), 5000);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  auto response =
      (*connection)
          ->call<p::ListTransactionsResponse>(p::ListTransactionsRequest{}, "ListTransactions");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kUnsupportedVersion);
  EXPECT_TRUE(contains(response.error().message, "does not support ListTransactions"))
      << response.error().message;
}

TEST(BrokerConnection, RefusesAResponseToAnotherRequest) {
  testing::FakeKafkaServer server;
  server.answer_with_correlation_id(77);
  server.start();
  auto connection = BrokerConnection::open(server.address(), 5000);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().code, ErrorCode::kCorruptMessage);
  EXPECT_TRUE(contains(connection.error().message, "correlation id 77"))
      << connection.error().message;
}

TEST(BrokerConnection, GivesUpOnAServerThatDoesNotAnswer) {
  testing::FakeKafkaServer server;
  server.serve(p::ListTransactionsRequest::kApiKey, 0, 1,
               [](int16_t, p::Reader&, p::Writer&) { return false; });
  server.start();
  auto connection = BrokerConnection::open(server.address(), 300);
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  auto response =
      (*connection)
          ->call<p::ListTransactionsResponse>(p::ListTransactionsRequest{}, "ListTransactions");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kRequestTimedOut);
  EXPECT_TRUE(contains(response.error().message, "no answer from " + server.address()))
      << response.error().message;
}

TEST(BrokerConnection, SaysWhenNothingListens) {
  int port = 0;
  {
    testing::FakeKafkaServer closed;  // a port that was free a moment ago
    port = closed.port();
  }
  auto connection = BrokerConnection::open("127.0.0.1:" + std::to_string(port), 5000);
  ASSERT_FALSE(connection.ok());
  EXPECT_TRUE(contains(connection.error().message, "connection refused"))
      << connection.error().message;
  EXPECT_TRUE(contains(connection.error().message, "is the server running?"))
      << connection.error().message;
}

TEST(BrokerConnection, RejectsAnAddressWithoutAPort) {
  auto connection = BrokerConnection::open("localhost", 5000);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().code, ErrorCode::kInvalidConfig);
}

}  // namespace
}  // namespace fjord::cli
