#include "metadata/state_machine.h"

#include <gtest/gtest.h>

#include "metadata/controller_registration.h"
#include "protocol/generated/metadata/config_record.h"
#include "protocol/generated/metadata/partition_record.h"
#include "protocol/generated/metadata/producer_ids_record.h"
#include "protocol/generated/metadata/remove_topic_record.h"
#include "protocol/generated/metadata/topic_record.h"

namespace fjord::metadata {
namespace {

namespace pm = protocol::metadata;
using Records = std::vector<std::vector<uint8_t>>;

protocol::Uuid id_of(uint64_t n) { return protocol::Uuid{n, n}; }

std::vector<uint8_t> topic(const std::string& name, uint64_t id) {
  pm::TopicRecord r;
  r.name = name;
  r.topic_id = id_of(id);
  return frame_metadata_record(r, 0);
}

std::vector<uint8_t> partition(uint64_t topic_id, int32_t index) {
  pm::PartitionRecord r;
  r.topic_id = id_of(topic_id);
  r.partition_id = index;
  r.replicas = {1};
  r.isr = {1};
  r.leader = 1;
  r.leader_epoch = 0;
  r.partition_epoch = 0;
  return frame_metadata_record(r, 0);
}

std::vector<uint8_t> config(const std::string& topic, const std::string& key,
                            std::optional<std::string> value) {
  pm::ConfigRecord r;
  r.resource_type = kTopicResourceType;
  r.resource_name = topic;
  r.name = key;
  r.value = std::move(value);
  return frame_metadata_record(r, 0);
}

std::vector<uint8_t> remove_topic(uint64_t id) {
  pm::RemoveTopicRecord r;
  r.topic_id = id_of(id);
  return frame_metadata_record(r, 0);
}

MetadataStateMachine empty_machine() {
  return MetadataStateMachine(std::make_shared<MetadataImage>());
}

TEST(StateMachineTest, AppliesTopicPartitionConfigAndRemoveRecords) {
  auto sm = empty_machine();
  Records batch{topic("a", 1), partition(1, 0), partition(1, 1), config("a", "retention.ms", "5")};
  ASSERT_TRUE(sm.apply_batch(0, batch).ok());
  EXPECT_EQ(sm.image()->find("a"), nullptr) << "visible only after publish";
  EXPECT_EQ(sm.applied_offset(), 3);
  sm.publish();
  const TopicInfo* a = sm.image()->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->partition_count, 2);
  EXPECT_EQ(a->configs.at("retention.ms"), "5");
  EXPECT_EQ(sm.image()->find(id_of(1)), a);
  EXPECT_EQ(sm.image()->last_applied_offset, 3);

  ASSERT_TRUE(sm.apply_batch(4, Records{config("a", "retention.ms", std::nullopt)}).ok());
  ASSERT_TRUE(sm.apply_batch(5, Records{remove_topic(1), partition(1, 2)}).ok());
  sm.publish();
  EXPECT_EQ(sm.image()->find("a"), nullptr);
  EXPECT_EQ(sm.image()->find(id_of(1)), nullptr);
  EXPECT_EQ(sm.image()->last_applied_offset, 6);
}

TEST(StateMachineTest, ProducerIdsOnlyMoveForward) {
  auto sm = empty_machine();
  pm::ProducerIdsRecord r;
  r.next_producer_id = 1000;
  ASSERT_TRUE(sm.apply_batch(0, Records{frame_metadata_record(r, 0)}).ok());
  r.next_producer_id = 10;
  ASSERT_TRUE(sm.apply_batch(1, Records{frame_metadata_record(r, 0)}).ok());
  sm.publish();
  EXPECT_EQ(sm.image()->next_producer_id, 1000);
}

TEST(StateMachineTest, ControllerRegistrationsKeepTheNewestAddressPerId) {
  auto sm = empty_machine();
  ASSERT_TRUE(sm.apply_batch(0, Records{framed_register_controller({4, "h4", 19095}),
                                        framed_register_controller({5, "h5", 19096}),
                                        framed_register_controller({4, "h4b", 29095})})
                  .ok());
  sm.publish();
  const std::map<int32_t, ControllerInfo> expected{{4, {4, "h4b", 29095}}, {5, {5, "h5", 19096}}};
  EXPECT_EQ(sm.image()->controllers, expected);

  pm::RegisterControllerRecord without_endpoint;
  without_endpoint.controller_id = 6;
  auto bad = sm.apply_batch(3, Records{frame_metadata_record(without_endpoint, 0)});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("controller 6"), std::string::npos) << bad.error().message;
}

TEST(StateMachineTest, PublishingSharesUnchangedTopicsAndLeavesOldImagesAlone) {
  auto sm = empty_machine();
  ASSERT_TRUE(sm.apply_batch(0, Records{topic("a", 1), partition(1, 0), topic("b", 2)}).ok());
  sm.publish();
  auto before = sm.image();
  ASSERT_TRUE(sm.apply_batch(3, Records{partition(2, 0), partition(2, 1)}).ok());
  sm.publish();
  auto after = sm.image();
  EXPECT_EQ(before->topics.at("a"), after->topics.at("a")) << "unchanged topic is shared";
  EXPECT_NE(before->topics.at("b"), after->topics.at("b"));
  EXPECT_EQ(before->find("b")->partition_count, 0) << "a published image never changes";
  EXPECT_EQ(after->find("b")->partition_count, 2);
}

TEST(StateMachineTest, SameRecordsGiveTheSameImage) {
  Records log{topic("a", 1), partition(1, 0), config("a", "segment.bytes", "1048576"),
              topic("b", 2), remove_topic(1)};
  auto one = empty_machine();
  auto two = empty_machine();
  ASSERT_TRUE(one.apply_batch(0, log).ok());
  for (size_t i = 0; i < log.size(); ++i) {
    ASSERT_TRUE(two.apply_batch(static_cast<int64_t>(i), Records{log[i]}).ok());
    two.publish();
  }
  one.publish();
  ASSERT_EQ(one.image()->topics.size(), two.image()->topics.size());
  for (const auto& [name, info] : one.image()->topics) {
    const TopicInfo* other = two.image()->find(name);
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(info->id, other->id);
    EXPECT_EQ(info->partition_count, other->partition_count);
    EXPECT_EQ(info->configs, other->configs);
  }
}

TEST(StateMachineTest, ABadRecordIsAnErrorNamingItsOffset) {
  auto sm = empty_machine();
  std::vector<uint8_t> truncated = topic("a", 1);
  truncated.resize(truncated.size() - 5);
  auto applied = sm.apply_batch(7, Records{truncated});
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.code(), ErrorCode::kCorruptMessage);
  auto bad_frame = sm.apply_batch(9, Records{std::vector<uint8_t>{9}});
  ASSERT_FALSE(bad_frame.ok());
  EXPECT_NE(bad_frame.error().message.find("offset 9"), std::string::npos);
}

}  // namespace
}  // namespace fjord::metadata
