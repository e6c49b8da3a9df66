// The topic-level configuration keys Fjord accepts (Kafka's names), their types,
// defaults, validation and documentation. Topic configs are kept as strings in
// the metadata log (as Kafka's ConfigRecord does) and checked here on the way in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord::metadata {

// Kafka's DescribeConfigs ConfigType values.
enum class ConfigType : int8_t {
  kBoolean = 1, kString = 2, kInt = 3, kShort = 4, kLong = 5, kDouble = 6, kList = 7,
};

struct TopicConfigDef {
  std::string_view name;
  ConfigType type;
  std::string_view default_value;  // Fjord's default when neither topic nor broker sets it
  std::string_view doc;
};

using ConfigMap = std::map<std::string, std::string>;

// Every key Fjord accepts for a topic, in name order.
std::span<const TopicConfigDef> topic_config_defs();
const TopicConfigDef* find_topic_config(std::string_view name);

// Checks one key/value: known key, parsable, in range. kInvalidConfig with a
// message naming the key and what is expected otherwise.
Status validate_topic_config(std::string_view name, std::string_view value);
Status validate_topic_configs(const ConfigMap& configs);

// Where an effective value comes from (DescribeConfigs ConfigSource values).
enum class ConfigSource : int8_t { kTopic = 1, kStaticBroker = 4, kDefault = 5 };

struct EffectiveConfig {
  std::string value;
  ConfigSource source;
};

// The value of `name` for a topic: its own setting, else the broker's default
// (`broker_defaults`, topic-level key names), else Fjord's default.
EffectiveConfig effective_topic_config(const TopicConfigDef& def, const ConfigMap& topic,
                                       const ConfigMap& broker_defaults);

// Parses integers/doubles as validate_topic_config accepted them.
int64_t config_long(std::string_view value);
double config_double(std::string_view value);

}  // namespace fjord::metadata
