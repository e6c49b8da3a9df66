#include "metadata/controller.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace fjord::metadata {
namespace {

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fjord-controller-" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(dir_);
    options_.data_dir = dir_;
    options_.default_partitions = 3;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Controller> open() {
    auto c = Controller::open(options_, 1000);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return c.ok() ? std::move(*c) : nullptr;
  }

  std::filesystem::path dir_;
  ControllerOptions options_;
};

TEST_F(ControllerTest, CreatesTopicsWithDefaultsAndKeepsThemAcrossRestarts) {
  std::string cluster_id;
  protocol::Uuid orders_id;
  {
    auto c = open();
    cluster_id = c->image()->cluster_id;
    EXPECT_EQ(cluster_id.size(), 22u);
    auto orders = c->create_topic("orders", 6, 1, {{"retention.ms", "1000"}}, false, 1);
    ASSERT_TRUE(orders.ok());
    orders_id = (*orders)->id;
    auto defaults = c->create_topic("events", -1, -1, {}, false, 1);
    ASSERT_TRUE(defaults.ok());
    EXPECT_EQ((*defaults)->partition_count, 3);
    ASSERT_TRUE(c->close().ok());
  }
  auto c = open();
  auto image = c->image();
  EXPECT_EQ(image->cluster_id, cluster_id);
  ASSERT_NE(image->find("orders"), nullptr);
  EXPECT_EQ(image->find("orders")->partition_count, 6);
  EXPECT_EQ(image->find("orders")->configs.at("retention.ms"), "1000");
  EXPECT_EQ(image->find(orders_id), image->find("orders"));
  EXPECT_EQ(image->find("events")->partition_count, 3);
}

TEST_F(ControllerTest, RefusesDuplicatesBadNamesBadConfigsAndReplication) {
  auto c = open();
  ASSERT_TRUE(c->create_topic("t", 1, 1, {}, false, 1).ok());
  EXPECT_EQ(c->create_topic("t", 1, 1, {}, false, 1).error().code, ErrorCode::kTopicAlreadyExists);
  EXPECT_EQ(c->create_topic("bad name", 1, 1, {}, false, 1).error().code,
            ErrorCode::kInvalidTopicException);
  EXPECT_EQ(c->create_topic("..", 1, 1, {}, false, 1).error().code,
            ErrorCode::kInvalidTopicException);
  EXPECT_EQ(c->create_topic(std::string(250, 'a'), 1, 1, {}, false, 1).error().code,
            ErrorCode::kInvalidTopicException);
  EXPECT_EQ(c->create_topic("u", 1, 1, {{"retention.ms", "x"}}, false, 1).error().code,
            ErrorCode::kInvalidConfig);
  EXPECT_EQ(c->create_topic("u", 0, 1, {}, false, 1).error().code, ErrorCode::kInvalidPartitions);
  EXPECT_EQ(c->create_topic("u", 1, 3, {}, false, 1).error().code,
            ErrorCode::kInvalidReplicationFactor);
  EXPECT_EQ(c->image()->find("u"), nullptr);
}

TEST_F(ControllerTest, ValidateOnlyChangesNothing) {
  auto c = open();
  ASSERT_TRUE(c->create_topic("t", 2, 1, {}, true, 1).ok());
  EXPECT_EQ(c->image()->find("t"), nullptr);
}

TEST_F(ControllerTest, DeletesTopicsDurably) {
  {
    auto c = open();
    ASSERT_TRUE(c->create_topic("gone", 1, 1, {}, false, 1).ok());
    ASSERT_TRUE(c->create_topic("kept", 1, 1, {}, false, 1).ok());
    ASSERT_TRUE(c->delete_topic("gone", 1).ok());
    EXPECT_EQ(c->delete_topic("gone", 1).error().code, ErrorCode::kUnknownTopicOrPartition);
    ASSERT_TRUE(c->close().ok());
  }
  auto c = open();
  EXPECT_EQ(c->image()->find("gone"), nullptr);
  EXPECT_NE(c->image()->find("kept"), nullptr);
  // The name can be used again, with a new id.
  ASSERT_TRUE(c->create_topic("gone", 2, 1, {}, false, 1).ok());
  EXPECT_EQ(c->image()->find("gone")->partition_count, 2);
}

TEST_F(ControllerTest, AddsPartitionsOnlyUpwards) {
  auto c = open();
  ASSERT_TRUE(c->create_topic("t", 2, 1, {}, false, 1).ok());
  EXPECT_EQ(c->create_partitions("t", 2, false, 1).code(), ErrorCode::kInvalidPartitions);
  EXPECT_EQ(c->create_partitions("t", 1, false, 1).code(), ErrorCode::kInvalidPartitions);
  EXPECT_EQ(c->create_partitions("nope", 4, false, 1).code(), ErrorCode::kUnknownTopicOrPartition);
  ASSERT_TRUE(c->create_partitions("t", 5, false, 1).ok());
  EXPECT_EQ(c->image()->find("t")->partition_count, 5);
}

TEST_F(ControllerTest, AltersConfigsIncrementallyAndByReplacement) {
  {
    auto c = open();
    ASSERT_TRUE(c->create_topic("t", 1, 1, {{"retention.ms", "1000"}}, false, 1).ok());
    ASSERT_TRUE(c->alter_configs("t",
                                 {{"segment.bytes", "1048576", AlterOp::kSet},
                                  {"retention.ms", std::nullopt, AlterOp::kDelete},
                                  {"cleanup.policy", "compact", AlterOp::kAppend}},
                                 false, 1)
                    .ok());
    auto configs = c->image()->find("t")->configs;
    EXPECT_EQ(configs.at("segment.bytes"), "1048576");
    EXPECT_FALSE(configs.contains("retention.ms"));
    EXPECT_EQ(configs.at("cleanup.policy"), "delete,compact");
    EXPECT_EQ(c->alter_configs("t", {{"segment.bytes", "1", AlterOp::kSet}}, false, 1).code(),
              ErrorCode::kInvalidConfig);
    EXPECT_EQ(c->image()->find("t")->configs.at("segment.bytes"), "1048576");
    ASSERT_TRUE(c->close().ok());
  }
  auto c = open();
  EXPECT_EQ(c->image()->find("t")->configs.at("cleanup.policy"), "delete,compact");
  ASSERT_TRUE(c->replace_configs("t", {{"retention.bytes", "5"}}, false, 1).ok());
  EXPECT_EQ(c->image()->find("t")->configs, (ConfigMap{{"retention.bytes", "5"}}));
}

TEST_F(ControllerTest, ProducerIdBlocksNeverOverlapAcrossRestarts) {
  int64_t first_block = 0;
  int64_t second_block = 0;
  {
    auto c = open();
    auto a = c->allocate_producer_ids(1000, 1);
    ASSERT_TRUE(a.ok());
    auto b = c->allocate_producer_ids(10, 2);
    ASSERT_TRUE(b.ok());
    first_block = *a;
    second_block = *b;
    EXPECT_EQ(second_block, first_block + 1000);
    EXPECT_FALSE(c->allocate_producer_ids(0, 3).ok());
    ASSERT_TRUE(c->close().ok());
  }
  auto c = open();
  auto after_restart = c->allocate_producer_ids(5, 4);
  ASSERT_TRUE(after_restart.ok());
  EXPECT_EQ(*after_restart, second_block + 10);
}

}  // namespace
}  // namespace fjord::metadata
