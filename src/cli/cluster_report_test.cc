#include "cli/cluster_report.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

namespace p = fjord::protocol;

constexpr int64_t kNowMs = 1709294400000;

p::DescribeQuorumResponse three_voters() {
  p::DescribeQuorumResponse response;
  p::DescribeQuorumResponse::PartitionData partition;
  partition.partition_index = 0;
  partition.leader_id = 1;
  partition.leader_epoch = 4;
  partition.high_watermark = 120;
  // Out of order on purpose: the report sorts by node id.
  partition.current_voters = {{3, {}, 40, kNowMs - 5000, kNowMs - 61000, {}},
                              {1, {}, 130, -1, kNowMs, {}},
                              {2, {}, 130, kNowMs - 20, kNowMs - 20, {}}};
  partition.observers = {{4, {}, -1, -1, -1, {}}};
  p::DescribeQuorumResponse::TopicData topic;
  topic.topic_name = "__cluster_metadata";
  topic.partitions.push_back(partition);
  response.topics.push_back(topic);
  p::DescribeQuorumResponse::Node node;
  node.node_id = 2;
  node.listeners.push_back({"CONTROLLER", "127.0.0.1", 19093, {}});
  response.nodes.push_back(node);
  return response;
}

TEST(QuorumOf, ReadsTheMetadataPartitionSortedWithObserversLast) {
  auto quorum = quorum_of(three_voters());
  ASSERT_TRUE(quorum.ok()) << quorum.error().message;
  EXPECT_EQ(quorum->leader_id, 1);
  EXPECT_EQ(quorum->leader_epoch, 4);
  EXPECT_EQ(quorum->high_watermark, 120);
  ASSERT_EQ(quorum->members.size(), 4u);
  EXPECT_EQ(quorum->members[0].node_id, 1);
  EXPECT_EQ(quorum->members[2].node_id, 3);
  EXPECT_FALSE(quorum->members[3].voter);
  EXPECT_EQ(quorum->members[1].raft_address, "127.0.0.1:19093");
  EXPECT_EQ(quorum->members[0].raft_address, "");
}

TEST(QuorumOf, LagIsBehindTheLeadersLogEnd) {
  auto quorum = quorum_of(three_voters());
  ASSERT_TRUE(quorum.ok());
  EXPECT_EQ(lag_of(*quorum, quorum->members[0]), 0);   // the leader
  EXPECT_EQ(lag_of(*quorum, quorum->members[1]), 0);   // caught up
  EXPECT_EQ(lag_of(*quorum, quorum->members[2]), 90);  // 130 - 40, not 120 - 40
  EXPECT_EQ(lag_of(*quorum, quorum->members[3]), -1);  // unknown
}

TEST(QuorumOf, ErrorsCarryTheCodeAndMessage) {
  auto response = three_voters();
  response.topics[0].partitions[0].error_code = 6;
  response.topics[0].partitions[0].error_message = "ask node 2";
  auto not_leader = quorum_of(response);
  ASSERT_FALSE(not_leader.ok());
  EXPECT_EQ(not_leader.code(), ErrorCode::kNotLeaderOrFollower);
  EXPECT_NE(not_leader.error().message.find("ask node 2"), std::string::npos);

  response.error_code = 35;
  EXPECT_EQ(quorum_of(response).code(), ErrorCode::kUnsupportedVersion);

  p::DescribeQuorumResponse empty;
  EXPECT_EQ(quorum_of(empty).code(), ErrorCode::kUnknownServerError);
}

ClusterDescription described() {
  p::MetadataResponse metadata;
  metadata.cluster_id = "fjord-\"test\"";
  metadata.controller_id = 1;
  metadata.brokers.push_back({2, "127.0.0.1", 9093, std::nullopt, {}});
  metadata.brokers.push_back({1, "::1", 9092, std::string("rack-a"), {}});
  ClusterDescription cluster = cluster_of(metadata);
  cluster.quorum = *quorum_of(three_voters());
  return cluster;
}

TEST(FormatClusterStatus, ShowsLeaderEpochLagAndLastContact) {
  const std::string text = format_cluster_status(described(), kNowMs);
  EXPECT_NE(text.find("Controller:     node 1"), std::string::npos) << text;
  EXPECT_NE(text.find("Quorum leader:  node 1, epoch 4, high watermark 120"), std::string::npos)
      << text;
  // Node 3: 90 behind, heard from 5 s ago, last caught up 1m01s ago.
  EXPECT_NE(text.find("3     follower  40              90   5s ago        1m01s ago"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("4     observer  -               -    -"), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.0.1:19093"), std::string::npos) << text;
  EXPECT_NE(text.find("[::1]:9092"), std::string::npos) << text;  // brokers sorted, v6 bracketed
  EXPECT_LT(text.find("[::1]:9092"), text.find("127.0.0.1:9093")) << text;
}

TEST(FormatClusterStatus, JsonHasAbsoluteTimesAndEscapedStrings) {
  const std::string json = format_cluster_status_json(described());
  EXPECT_NE(json.find("\"cluster_id\":\"fjord-\\\"test\\\"\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"controller_id\":1"), std::string::npos) << json;
  EXPECT_NE(json.find("{\"node_id\":3,\"role\":\"follower\",\"log_end_offset\":40,\"lag\":90,"
                      "\"last_fetch_timestamp_ms\":1709294395000"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"rack\":\"rack-a\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"raft_address\":null"), std::string::npos) << json;
  EXPECT_EQ(json.back(), '\n');
}

}  // namespace
}  // namespace fjord::cli
