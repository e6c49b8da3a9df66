#include "cli/cluster_admin.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <atomic>

#include "cli/fake_kafka_server.h"
#include "protocol/generated/add_raft_voter_request.h"
#include "protocol/generated/add_raft_voter_response.h"
#include "protocol/generated/describe_quorum_request.h"
#include "protocol/generated/describe_quorum_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/remove_raft_voter_request.h"
#include "protocol/generated/remove_raft_voter_response.h"

namespace fjord::cli {
namespace {

namespace p = fjord::protocol;

// Metadata naming node `controller_id` (at `controller_port`) the controller;
// the server itself is node `self_id`.
void serve_metadata(testing::FakeKafkaServer& server, int32_t self_id, int32_t controller_id,
                    int controller_port) {
  const int port = server.port();
  server.serve(p::MetadataRequest::kApiKey, 0, 12,
               [=](int16_t version, p::Reader& body, p::Writer& out) {
                 p::MetadataRequest request;
                 request.decode(body, version);
                 p::MetadataResponse response;
                 response.cluster_id = "test-cluster";
                 response.controller_id = controller_id;
                 response.brokers.push_back({self_id, "127.0.0.1", port, std::nullopt, {}});
                 if (controller_id != self_id) {
                   response.brokers.push_back(
                       {controller_id, "127.0.0.1", controller_port, std::nullopt, {}});
                 }
                 response.encode(out, version);
                 return true;
               });
}

// DescribeQuorum answered as node `self_id` would: NOT_LEADER_OR_FOLLOWER for
// the first `refusals` requests, then as the leader of voters 1-3.
void serve_describe_quorum(testing::FakeKafkaServer& server, int32_t self_id,
                           std::atomic<int>& refusals) {
  server.serve(p::DescribeQuorumRequest::kApiKey, 0, 2,
               [self_id, &refusals](int16_t version, p::Reader& body, p::Writer& out) {
                 p::DescribeQuorumRequest request;
                 request.decode(body, version);
                 EXPECT_EQ(request.topics.at(0).topic_name, "__cluster_metadata");
                 p::DescribeQuorumResponse::PartitionData partition;
                 partition.leader_id = self_id;
                 partition.leader_epoch = 3;
                 partition.high_watermark = 50;
                 if (refusals.fetch_sub(1) > 0) {
                   partition.error_code = 6;
                   partition.leader_id = -1;
                 } else {
                   for (int32_t id = 1; id <= 3; ++id) {
                     partition.current_voters.push_back({id, {}, 50, -1, -1, {}});
                   }
                 }
                 p::DescribeQuorumResponse response;
                 response.topics.push_back({"__cluster_metadata", {partition}, {}});
                 response.encode(out, version);
                 return true;
               });
}

TEST(DescribeCluster, AsksTheControllerNamedInMetadata) {
  testing::FakeKafkaServer controller;
  std::atomic<int> no_refusals{0};
  serve_metadata(controller, 1, 1, 0);
  serve_describe_quorum(controller, 1, no_refusals);
  controller.start();
  testing::FakeKafkaServer bootstrap;  // node 2: no DescribeQuorum here
  serve_metadata(bootstrap, 2, 1, controller.port());
  bootstrap.start();

  ClientOptions options;
  options.bootstrap = bootstrap.address();
  auto cluster = describe_cluster(options);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message;
  EXPECT_EQ(cluster->cluster_id, "test-cluster");
  EXPECT_EQ(cluster->controller_id, 1);
  EXPECT_EQ(cluster->brokers.size(), 2u);
  EXPECT_EQ(cluster->quorum.leader_id, 1);
  EXPECT_EQ(cluster->quorum.members.size(), 3u);
  const auto seen = controller.requests_seen();
  EXPECT_NE(std::find(seen.begin(), seen.end(), p::DescribeQuorumRequest::kApiKey), seen.end());
}

TEST(DescribeCluster, TriesEachBootstrapServerOfTheList) {
  testing::FakeKafkaServer server;
  std::atomic<int> no_refusals{0};
  serve_metadata(server, 1, 1, 0);
  serve_describe_quorum(server, 1, no_refusals);
  server.start();
  int unused_port = 0;
  {
    testing::FakeKafkaServer closed;  // started and stopped: nothing listens there now
    closed.start();
    unused_port = closed.port();
  }
  ClientOptions options;
  options.bootstrap = fmt::format("127.0.0.1:{}, {}", unused_port, server.address());
  auto cluster = describe_cluster(options);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message;
  EXPECT_EQ(cluster->quorum.leader_id, 1);
}

TEST(DescribeCluster, RetriesWhileLeadershipMoves) {
  testing::FakeKafkaServer server;
  std::atomic<int> refusals{2};
  serve_metadata(server, 1, 1, 0);
  serve_describe_quorum(server, 1, refusals);
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  auto cluster = describe_cluster(options);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message;
  EXPECT_EQ(cluster->quorum.leader_epoch, 3);
}

TEST(DescribeCluster, GivesUpAtTheTimeoutNamingTheError) {
  testing::FakeKafkaServer server;
  std::atomic<int> refusals{1000000};
  serve_metadata(server, 1, 1, 0);
  serve_describe_quorum(server, 1, refusals);
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  options.timeout_ms = 500;
  auto cluster = describe_cluster(options);
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.code(), ErrorCode::kNotLeaderOrFollower);
  EXPECT_NE(cluster.error().message.find("cannot describe the metadata quorum"), std::string::npos)
      << cluster.error().message;
}

TEST(AddVoter, SendsTheNodeAndItsRaftListenerToTheController) {
  testing::FakeKafkaServer server;
  serve_metadata(server, 1, 1, 0);
  p::AddRaftVoterRequest seen;
  server.serve(p::AddRaftVoterRequest::kApiKey, 0, 0,
               [&seen](int16_t version, p::Reader& body, p::Writer& out) {
                 seen.decode(body, version);
                 p::AddRaftVoterResponse response;
                 if (seen.voter_id == 1) {
                   response.error_code = 126;
                   response.error_message = "node 1 is already a voter";
                 }
                 response.encode(out, version);
                 return true;
               });
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  ASSERT_TRUE(add_voter(options, 4, HostPort{"10.0.0.4", 19095}).ok());
  EXPECT_EQ(seen.voter_id, 4);
  EXPECT_EQ(seen.cluster_id, "test-cluster");
  ASSERT_EQ(seen.listeners.size(), 1u);
  EXPECT_EQ(seen.listeners[0].name, "CONTROLLER");
  EXPECT_EQ(seen.listeners[0].host, "10.0.0.4");
  EXPECT_EQ(seen.listeners[0].port, 19095);
  EXPECT_GT(seen.timeout_ms, 0);
  EXPECT_LT(seen.timeout_ms, options.timeout_ms);

  Status duplicate = add_voter(options, 1, HostPort{"127.0.0.1", 19092});
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.code(), ErrorCode::kDuplicateVoter);
  EXPECT_NE(duplicate.error().message.find("DUPLICATE_VOTER"), std::string::npos)
      << duplicate.error().message;
  EXPECT_NE(duplicate.error().message.find("already a voter"), std::string::npos);
}

TEST(RemoveVoter, SendsTheIdAndReportsTheAnswer) {
  testing::FakeKafkaServer server;
  serve_metadata(server, 1, 1, 0);
  std::atomic<int32_t> removed{-1};
  server.serve(p::RemoveRaftVoterRequest::kApiKey, 0, 0,
               [&removed](int16_t version, p::Reader& body, p::Writer& out) {
                 p::RemoveRaftVoterRequest request;
                 request.decode(body, version);
                 removed = request.voter_id;
                 p::RemoveRaftVoterResponse response;
                 if (request.voter_id == 9) response.error_code = 127;
                 response.encode(out, version);
                 return true;
               });
  server.start();
  ClientOptions options;
  options.bootstrap = server.address();
  ASSERT_TRUE(remove_voter(options, 3).ok());
  EXPECT_EQ(removed.load(), 3);
  EXPECT_EQ(remove_voter(options, 9).code(), ErrorCode::kVoterNotFound);
}

}  // namespace
}  // namespace fjord::cli
