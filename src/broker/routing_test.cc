// Routing in a cluster: the brokers and partition leaders the metadata image
// names (cluster_view.h), and the answers of a node for partitions it does not
// lead. Brokers are registered through the controller, as the active controller
// does for BrokerRegistration, so the image is the one a cluster produces.
#include <gtest/gtest.h>

#include "broker/cluster_view.h"
#include "broker/test_broker.h"
#include "protocol/generated/create_topics_request.h"
#include "protocol/generated/create_topics_response.h"
#include "protocol/generated/fetch_request.h"
#include "protocol/generated/fetch_response.h"
#include "protocol/generated/list_offsets_request.h"
#include "protocol/generated/list_offsets_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/produce_request.h"
#include "protocol/generated/produce_response.h"
#include "records/builder.h"

namespace fjord::broker {
namespace {

namespace p = protocol;

metadata::BrokerInfo broker_info(int32_t id, bool fenced) {
  metadata::BrokerInfo broker;
  broker.id = id;
  broker.epoch = 10 + id;
  broker.fenced = fenced;
  broker.endpoints = {{"PLAINTEXT", "10.0.0." + std::to_string(id), 9092}};
  return broker;
}

// Topic "t": partition 0 led by broker 1, 1 by broker 2, 2 by broker 3 (fenced).
metadata::MetadataImage three_brokers() {
  metadata::MetadataImage image;
  image.brokers = {
      {1, broker_info(1, false)}, {2, broker_info(2, false)}, {3, broker_info(3, true)}};
  image.brokers[2].rack = "rack-b";
  auto topic = std::make_shared<metadata::TopicInfo>();
  topic->name = "t";
  topic->partition_count = 3;
  for (int32_t leader = 1; leader <= 3; ++leader) {
    metadata::PartitionInfo partition;
    partition.replicas = {leader};
    partition.isr = {leader};
    partition.leader = leader;
    partition.leader_epoch = leader * 2;
    topic->partitions.push_back(partition);
  }
  image.put(topic);
  return image;
}

const BrokerAddress kSelf{1, "127.0.0.1", 9092, std::nullopt};

TEST(ClusterView, LiveBrokersAreTheUnfencedRegisteredOnes) {
  const auto image = three_brokers();
  const auto live = live_brokers(image, kSelf);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].id, 1);
  EXPECT_EQ(live[0].host, "10.0.0.1");  // as registered, not this node's own idea
  EXPECT_EQ(live[1].id, 2);
  EXPECT_EQ(live[1].rack, "rack-b");
}

TEST(ClusterView, PlacementComesFromTheImageAndAFencedLeaderIsNone) {
  const auto image = three_brokers();
  const auto& topic = *image.find("t");
  EXPECT_EQ(leader_of(image, topic, 0, 1), 1);
  EXPECT_EQ(leader_of(image, topic, 1, 1), 2);
  EXPECT_EQ(leader_of(image, topic, 2, 1), -1);
  const PartitionPlacement second = placement_of(image, topic, 1, 1);
  EXPECT_EQ(second.leader, 2);
  EXPECT_EQ(second.leader_epoch, 4);
  EXPECT_EQ(second.replicas, std::vector<int32_t>{2});
  const PartitionPlacement fenced = placement_of(image, topic, 2, 1);
  EXPECT_EQ(fenced.leader, -1);
  EXPECT_EQ(fenced.replicas, std::vector<int32_t>{3});  // still its replica
}

TEST(ClusterView, WithoutRegistrationsThisNodeIsTheCluster) {
  auto image = three_brokers();
  image.brokers.clear();
  const auto& topic = *image.find("t");
  EXPECT_EQ(leader_of(image, topic, 1, 7), 7);
  EXPECT_EQ(placement_of(image, topic, 2, 7).replicas, std::vector<int32_t>{7});
  const auto live = live_brokers(image, kSelf);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].host, "127.0.0.1");
}

TEST(ClusterView, EveryBrokerFencedLeavesThisNodeToAskAgain) {
  auto image = three_brokers();
  for (auto& [id, broker] : image.brokers) broker.fenced = true;
  const auto live = live_brokers(image, kSelf);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].id, 1);
  EXPECT_EQ(leader_of(image, *image.find("t"), 0, 1), -1);
}

class RoutingTest : public InProcessBrokerTest {
 protected:
  void SetUp() override {
    use_temp_dir("fjord-routing-");
    config_.node_id = 1;
    start();
    // This node and node 2 registered and live: new partitions are striped over both.
    for (int32_t id : {1, 2}) {
      const p::Uuid incarnation{0, static_cast<uint64_t>(id)};
      auto epoch = controller_->register_broker(
          id, incarnation, {{"PLAINTEXT", "127.0.0.1", static_cast<uint16_t>(9091 + id)}},
          std::nullopt, wall_clock_ms());
      ASSERT_TRUE(epoch.ok()) << epoch.error().message;
      auto heartbeat = controller_->broker_heartbeat(id, *epoch, false, false, wall_clock_ms());
      ASSERT_TRUE(heartbeat.ok()) << heartbeat.error().message;
      ASSERT_FALSE(heartbeat->fenced);
    }
    p::CreateTopicsRequest request;
    p::CreateTopicsRequest::CreatableTopic topic;
    topic.name = "orders";
    topic.num_partitions = 4;
    topic.replication_factor = 1;
    request.topics.push_back(topic);
    ASSERT_EQ(call<p::CreateTopicsResponse>(request, 5).topics[0].error_code, 0);
    const auto image = controller_->image();
    for (int32_t i = 0; i < 4; ++i) {
      const int32_t leader = image->leader_of(*image->find("orders"), i);
      (leader == 1 ? mine_ : theirs_) = i;
    }
    ASSERT_GE(mine_, 0);
    ASSERT_GE(theirs_, 0);
  }

  int32_t mine_ = -1;    // a partition this node leads
  int32_t theirs_ = -1;  // a partition node 2 leads
};

TEST_F(RoutingTest, MetadataListsTheLiveBrokersAndEachPartitionsLeader) {
  p::MetadataRequest request;
  request.topics = std::nullopt;
  auto response = call<p::MetadataResponse>(request, 12);
  ASSERT_EQ(response.brokers.size(), 2u);
  EXPECT_EQ(response.brokers[1].node_id, 2);
  EXPECT_EQ(response.brokers[1].port, 9093);
  ASSERT_EQ(response.topics.size(), 1u);
  EXPECT_EQ(response.topics[0].partitions[mine_].leader_id, 1);
  EXPECT_EQ(response.topics[0].partitions[theirs_].leader_id, 2);
  EXPECT_EQ(response.topics[0].partitions[theirs_].replica_nodes, std::vector<int32_t>{2});
}

TEST_F(RoutingTest, PartitionsLedElsewhereAnswerNotLeaderOrFollower) {
  const int16_t not_leader = to_wire(ErrorCode::kNotLeaderOrFollower);
  for (int32_t partition : {mine_, theirs_}) {
    const int16_t expected = partition == theirs_ ? not_leader : 0;

    records::BatchBuilder builder;
    ASSERT_TRUE(builder.append(1000, records::as_bytes("k"), records::as_bytes("v")).ok());
    auto built = builder.build();
    ASSERT_TRUE(built.ok());
    std::vector<uint8_t> batch(built->begin(), built->end());
    p::ProduceRequest produce;
    produce.acks = -1;
    produce.timeout_ms = 30000;
    p::ProduceRequest::TopicProduceData data;
    data.name = "orders";
    p::ProduceRequest::PartitionProduceData part;
    part.index = partition;
    part.records = p::Records::from_bytes(batch);
    data.partition_data.push_back(part);
    produce.topic_data.push_back(data);
    auto produced = call<p::ProduceResponse>(produce, 7);
    EXPECT_EQ(produced.responses[0].partition_responses[0].error_code, expected) << partition;

    p::FetchRequest fetch;
    fetch.max_bytes = 1 << 20;
    p::FetchRequest::FetchTopic topic;
    topic.topic = "orders";
    p::FetchRequest::FetchPartition wanted;
    wanted.partition = partition;
    wanted.partition_max_bytes = 1 << 20;
    topic.partitions.push_back(wanted);
    fetch.topics.push_back(topic);
    auto fetched = call<p::FetchResponse>(fetch, 11);
    EXPECT_EQ(fetched.responses[0].partitions[0].error_code, expected) << partition;

    p::ListOffsetsRequest list;
    p::ListOffsetsRequest::ListOffsetsTopic offsets_topic;
    offsets_topic.name = "orders";
    p::ListOffsetsRequest::ListOffsetsPartition offsets_partition;
    offsets_partition.partition_index = partition;
    offsets_partition.timestamp = -1;
    offsets_topic.partitions.push_back(offsets_partition);
    list.topics.push_back(offsets_topic);
    auto listed = call<p::ListOffsetsResponse>(list, 7);
    EXPECT_EQ(listed.topics[0].partitions[0].error_code, expected) << partition;
  }
}

}  // namespace
}  // namespace fjord::broker
