#include "metadata/topic_config.h"

#include <gtest/gtest.h>

namespace fjord::metadata {
namespace {

TEST(TopicConfig, AcceptsTheKeysKafkaUsersSet) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"retention.ms", "86400000"},
           {"retention.ms", "-1"},
           {"retention.bytes", "1073741824"},
           {"segment.bytes", "1048576"},
           {"cleanup.policy", "compact"},
           {"cleanup.policy", "compact,delete"},
           {"max.message.bytes", "2000000"},
           {"min.insync.replicas", "1"},
           {"message.timestamp.type", "LogAppendTime"},
           {"min.cleanable.dirty.ratio", "0.1"},
           {"flush.messages", "10000"}}) {
    EXPECT_TRUE(validate_topic_config(key, value).ok()) << key << "=" << value;
  }
}

TEST(TopicConfig, RejectsBadValuesWithInvalidConfigNamingTheKey) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"retention.ms", "soon"},
           {"retention.ms", "-2"},
           {"segment.bytes", "10"},
           {"segment.bytes", "99999999999"},
           {"cleanup.policy", "forever"},
           {"cleanup.policy", ""},
           {"min.insync.replicas", "0"},
           {"message.timestamp.type", "Now"},
           {"min.cleanable.dirty.ratio", "1.5"},
           {"flush.messages", "0"},
           {"retention.ms", "12abc"}}) {
    Status s = validate_topic_config(key, value);
    ASSERT_FALSE(s.ok()) << key << "=" << value;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidConfig);
    EXPECT_NE(s.error().message.find(key), std::string::npos) << s.error().message;
  }
}

TEST(TopicConfig, RejectsUnknownKeys) {
  Status s = validate_topic_config("retention.mss", "1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidConfig);
  EXPECT_NE(s.error().message.find("unknown"), std::string::npos);
}

TEST(TopicConfig, EffectiveValuePrefersTopicThenBrokerThenDefault) {
  const TopicConfigDef* def = find_topic_config("retention.ms");
  ASSERT_NE(def, nullptr);
  ConfigMap topic{{"retention.ms", "1000"}};
  ConfigMap broker{{"retention.ms", "2000"}};
  EXPECT_EQ(effective_topic_config(*def, topic, broker).value, "1000");
  EXPECT_EQ(effective_topic_config(*def, topic, broker).source, ConfigSource::kTopic);
  EXPECT_EQ(effective_topic_config(*def, {}, broker).value, "2000");
  EXPECT_EQ(effective_topic_config(*def, {}, broker).source, ConfigSource::kStaticBroker);
  EXPECT_EQ(effective_topic_config(*def, {}, {}).value, "604800000");
  EXPECT_EQ(effective_topic_config(*def, {}, {}).source, ConfigSource::kDefault);
}

TEST(TopicConfig, DefinitionsAreSortedForLookup) {
  auto defs = topic_config_defs();
  for (size_t i = 1; i < defs.size(); ++i) EXPECT_LT(defs[i - 1].name, defs[i].name);
  for (const auto& def : defs) {
    EXPECT_EQ(find_topic_config(def.name), &def);
    EXPECT_TRUE(validate_topic_config(def.name, def.default_value).ok()) << def.name;
  }
}

}  // namespace
}  // namespace fjord::metadata
