// The Controller's brokers of a cluster: registration, heartbeats, fencing, and
// the placement of partitions over the live brokers (run here over the local
// metadata log; on a cluster the same records go through Raft).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include "metadata/controller.h"

namespace fjord::metadata {
namespace {

protocol::Uuid incarnation(uint64_t n) { return protocol::Uuid{n, n}; }

class BrokersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fjord-brokers-" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(dir_);
    options_.data_dir = dir_;
    reopen();
  }
  void TearDown() override {
    if (controller_) (void)controller_->close();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    if (controller_) {
      ASSERT_TRUE(controller_->close().ok());
    }
    controller_.reset();
    auto opened = Controller::open(options_, 1000);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    controller_ = std::move(*opened);
  }
  int64_t register_live(int32_t id) {
    auto epoch = controller_->register_broker(
        id, incarnation(static_cast<uint64_t>(id)),
        {{"PLAINTEXT", "127.0.0.1", static_cast<uint16_t>(9091 + id)}}, std::nullopt, 1000);
    EXPECT_TRUE(epoch.ok());
    auto beat = controller_->broker_heartbeat(id, *epoch, false, false, 1000);
    EXPECT_TRUE(beat.ok());
    EXPECT_FALSE(beat->fenced);
    return *epoch;
  }

  std::filesystem::path dir_;
  ControllerOptions options_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(BrokersTest, RegisteredBrokersAreFencedUntilTheirFirstHeartbeat) {
  auto epoch = controller_->register_broker(2, incarnation(2), {{"PLAINTEXT", "h2", 9093}},
                                            std::string("rack-a"), 1000);
  ASSERT_TRUE(epoch.ok());
  const BrokerInfo& registered = controller_->image()->brokers.at(2);
  EXPECT_TRUE(registered.fenced);
  EXPECT_EQ(registered.epoch, *epoch);
  ASSERT_EQ(registered.endpoints.size(), 1u);
  EXPECT_EQ(registered.endpoints[0].host, "h2");
  EXPECT_EQ(registered.endpoints[0].port, 9093);
  EXPECT_EQ(registered.rack, std::optional<std::string>("rack-a"));

  auto beat = controller_->broker_heartbeat(2, *epoch, false, false, 1100);
  ASSERT_TRUE(beat.ok());
  EXPECT_FALSE(beat->fenced);
  EXPECT_FALSE(controller_->image()->brokers.at(2).fenced);
}

TEST_F(BrokersTest, TheSameIncarnationKeepsItsEpochAndANewOneGetsALaterEpoch) {
  auto first = controller_->register_broker(1, incarnation(7), {}, std::nullopt, 1000);
  auto retried = controller_->register_broker(1, incarnation(7), {}, std::nullopt, 1000);
  ASSERT_TRUE(first.ok() && retried.ok());
  EXPECT_EQ(*first, *retried);
  auto restarted = controller_->register_broker(1, incarnation(8), {}, std::nullopt, 1000);
  ASSERT_TRUE(restarted.ok());
  EXPECT_GT(*restarted, *first);
  // The old incarnation's heartbeats are refused from now on.
  EXPECT_EQ(controller_->broker_heartbeat(1, *first, false, false, 1000).code(),
            ErrorCode::kStaleBrokerEpoch);
  EXPECT_EQ(controller_->broker_heartbeat(9, 0, false, false, 1000).code(),
            ErrorCode::kBrokerIdNotRegistered);
}

TEST_F(BrokersTest, PartitionsAreStripedOverTheLiveBrokers) {
  for (int32_t id = 1; id <= 3; ++id) register_live(id);
  auto topic = controller_->create_topic("orders", 6, 1, {}, false, 1000);
  ASSERT_TRUE(topic.ok()) << topic.error().message;
  const auto image = controller_->image();
  const TopicInfo& info = *image->find("orders");
  ASSERT_EQ(info.partitions.size(), 6u);
  std::map<int32_t, int> led;
  for (int32_t p = 0; p < 6; ++p) {
    const PartitionInfo& partition = info.partitions[static_cast<size_t>(p)];
    ASSERT_EQ(partition.replicas.size(), 1u);
    EXPECT_EQ(partition.isr, partition.replicas);
    EXPECT_EQ(partition.leader, partition.replicas[0]);
    EXPECT_EQ(image->leader_of(info, p), partition.leader);
    ++led[partition.leader];
  }
  EXPECT_EQ(led, (std::map<int32_t, int>{{1, 2}, {2, 2}, {3, 2}}));

  ASSERT_TRUE(controller_->create_partitions("orders", 9, false, 1000).ok());
  const TopicInfo& grown = *controller_->image()->find("orders");
  ASSERT_EQ(grown.partitions.size(), 9u);
  std::set<int32_t> new_leaders;
  for (size_t p = 6; p < 9; ++p) new_leaders.insert(grown.partitions[p].leader);
  EXPECT_EQ(new_leaders, (std::set<int32_t>{1, 2, 3}));
}

TEST_F(BrokersTest, FencedBrokersGetNoNewPartitionsAndLeadNothing) {
  for (int32_t id = 1; id <= 3; ++id) register_live(id);
  ASSERT_TRUE(controller_->create_topic("before", 3, 1, {}, false, 1000).ok());
  controller_->reset_heartbeats(1000);
  ASSERT_TRUE(controller_->broker_heartbeat(1, controller_->image()->brokers.at(1).epoch, false,
                                            false, 9000)
                  .ok());
  ASSERT_TRUE(controller_->fence_expired_brokers(11000, 9000).ok());  // 2 and 3: 10 s silent
  auto image = controller_->image();
  EXPECT_FALSE(image->brokers.at(1).fenced);
  EXPECT_TRUE(image->brokers.at(2).fenced);
  EXPECT_TRUE(image->brokers.at(3).fenced);
  const TopicInfo& before = *image->find("before");
  for (int32_t p = 0; p < 3; ++p) {
    const int32_t placed = before.partitions[static_cast<size_t>(p)].leader;
    EXPECT_EQ(image->leader_of(before, p), placed == 1 ? 1 : -1) << "partition " << p;
  }
  auto after = controller_->create_topic("after", 4, 1, {}, false, 11000);
  ASSERT_TRUE(after.ok());
  for (const PartitionInfo& partition : (*after)->partitions) EXPECT_EQ(partition.leader, 1);

  // Back: a heartbeat unfences it and its partitions have their leader again.
  const int64_t epoch2 = image->brokers.at(2).epoch;
  ASSERT_TRUE(controller_->broker_heartbeat(2, epoch2, false, false, 11500).ok());
  image = controller_->image();
  for (int32_t p = 0; p < 3; ++p) {
    const int32_t placed = before.partitions[static_cast<size_t>(p)].leader;
    if (placed == 2) {
      EXPECT_EQ(image->leader_of(*image->find("before"), p), 2);
    }
  }
}

TEST_F(BrokersTest, ABrokerShuttingDownIsFencedAtOnce) {
  const int64_t epoch = register_live(1);
  register_live(2);
  auto beat = controller_->broker_heartbeat(1, epoch, false, true, 2000);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->fenced);
  EXPECT_TRUE(beat->should_shut_down);
  EXPECT_TRUE(controller_->image()->brokers.at(1).fenced);
}

TEST_F(BrokersTest, ReplicationAboveOneAndAboveTheLiveBrokersIsRefusedWithAReason) {
  register_live(1);
  register_live(2);
  auto too_many = controller_->create_topic("t", 1, 3, {}, false, 1000);
  EXPECT_EQ(too_many.code(), ErrorCode::kInvalidReplicationFactor);
  EXPECT_NE(too_many.error().message.find("2 available brokers"), std::string::npos);
  auto replicated = controller_->create_topic("t", 1, 2, {}, false, 1000);
  EXPECT_EQ(replicated.code(), ErrorCode::kInvalidReplicationFactor);
  EXPECT_NE(replicated.error().message.find("not supported yet"), std::string::npos);
}

TEST_F(BrokersTest, BrokersAndPlacementSurviveARestart) {
  for (int32_t id = 1; id <= 3; ++id) register_live(id);
  ASSERT_TRUE(controller_->create_topic("orders", 3, 1, {}, false, 1000).ok());
  const auto before = controller_->image();
  reopen();
  const auto after = controller_->image();
  EXPECT_EQ(after->brokers, before->brokers);
  EXPECT_EQ(after->find("orders")->partitions, before->find("orders")->partitions);
}

TEST_F(BrokersTest, ASingleNodePlacesEverythingOnItself) {
  options_.node_id = 5;
  reopen();
  auto topic = controller_->create_topic("solo", 2, 1, {}, false, 1000);
  ASSERT_TRUE(topic.ok());
  for (const PartitionInfo& partition : (*topic)->partitions) {
    EXPECT_EQ(partition.replicas, std::vector<int32_t>{5});
    EXPECT_EQ(partition.leader, 5);
  }
}

}  // namespace
}  // namespace fjord::metadata
