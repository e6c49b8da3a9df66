#include "metadata/topic_config.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace fjord::metadata {
namespace {

using T = ConfigType;

// Sorted by name. Defaults are Kafka's except flush.messages: Fjord fsyncs every
// acknowledged write by default (one node, no replicas to lean on).
constexpr std::array kDefs = {
    TopicConfigDef{"cleanup.policy", T::kList, "delete",
                   "delete (drop old segments), compact (keep the latest value per key), or both"},
    TopicConfigDef{"delete.retention.ms", T::kLong, "86400000",
                   "how long tombstones are kept after compaction reaches them"},
    TopicConfigDef{"flush.messages", T::kLong, "1",
                   "fsync after this many messages; 1 = every acknowledged write is on disk"},
    TopicConfigDef{"flush.ms", T::kLong, "9223372036854775807",
                   "fsync at least this often (ms)"},
    TopicConfigDef{"index.interval.bytes", T::kInt, "4096",
                   "bytes of log between two offset index entries"},
    TopicConfigDef{"max.message.bytes", T::kInt, "1048588",
                   "largest record batch the topic accepts"},
    TopicConfigDef{"message.timestamp.type", T::kString, "CreateTime",
                   "CreateTime (producer's timestamp) or LogAppendTime (broker's clock)"},
    TopicConfigDef{"min.cleanable.dirty.ratio", T::kDouble, "0.5",
                   "share of uncompacted log that triggers compaction"},
    TopicConfigDef{"min.compaction.lag.ms", T::kLong, "0",
                   "minimum age of a record before compaction may remove it"},
    TopicConfigDef{"min.insync.replicas", T::kInt, "1",
                   "replicas that must have a write for acks=all to succeed"},
    TopicConfigDef{"retention.bytes", T::kLong, "-1",
                   "largest size of a partition before old segments are deleted; -1 = no limit"},
    TopicConfigDef{"retention.ms", T::kLong, "604800000",
                   "age after which segments are deleted; -1 = no limit"},
    TopicConfigDef{"segment.bytes", T::kInt, "1073741824", "size of one log segment file"},
    TopicConfigDef{"segment.index.bytes", T::kInt, "10485760",
                   "largest offset index of one segment"},
    TopicConfigDef{"segment.ms", T::kLong, "604800000",
                   "age after which the active segment is rolled"},
};

struct Range {
  int64_t min;
  int64_t max;
};

std::optional<Range> range_of(std::string_view name) {
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();
  if (name == "delete.retention.ms" || name == "min.compaction.lag.ms" || name == "flush.ms")
    return Range{0, kLongMax};
  if (name == "flush.messages" || name == "segment.ms") return Range{1, kLongMax};
  if (name == "index.interval.bytes" || name == "max.message.bytes") return Range{0, kIntMax};
  if (name == "min.insync.replicas") return Range{1, kIntMax};
  if (name == "retention.bytes" || name == "retention.ms") return Range{-1, kLongMax};
  if (name == "segment.bytes") return Range{14, kIntMax};
  if (name == "segment.index.bytes") return Range{4, kIntMax};
  return std::nullopt;
}

Status invalid(std::string_view name, std::string_view value, std::string_view expected) {
  return Error{ErrorCode::kInvalidConfig,
               fmt::format("invalid value '{}' for config '{}': expected {}", value, name, expected)};
}

Status validate_list(std::string_view name, std::string_view value) {
  // cleanup.policy: comma-separated subset of {delete, compact}, not empty.
  if (value.empty()) return invalid(name, value, "delete, compact or compact,delete");
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = value.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item != "delete" && item != "compact") {
      return invalid(name, value, "delete, compact or compact,delete");
    }
    start = comma + 1;
  }
  return {};
}

}  // namespace

std::span<const TopicConfigDef> topic_config_defs() { return kDefs; }

const TopicConfigDef* find_topic_config(std::string_view name) {
  auto it = std::lower_bound(kDefs.begin(), kDefs.end(), name,
                             [](const TopicConfigDef& d, std::string_view n) { return d.name < n; });
  return (it != kDefs.end() && it->name == name) ? &*it : nullptr;
}

int64_t config_long(std::string_view value) {
  int64_t v = 0;
  std::from_chars(value.data(), value.data() + value.size(), v);
  return v;
}

double config_double(std::string_view value) {
  return std::strtod(std::string(value).c_str(), nullptr);
}

Status validate_topic_config(std::string_view name, std::string_view value) {
  const TopicConfigDef* def = find_topic_config(name);
  if (def == nullptr) {
    return Error{ErrorCode::kInvalidConfig, fmt::format("unknown topic config '{}'", name)};
  }
  switch (def->type) {
    case T::kList:
      return validate_list(name, value);
    case T::kString:
      if (value == "CreateTime" || value == "LogAppendTime") return {};
      return invalid(name, value, "CreateTime or LogAppendTime");
    case T::kDouble: {
      char* end = nullptr;
      std::string copy(value);
      double d = std::strtod(copy.c_str(), &end);
      if (copy.empty() || *end != '\0' || !(d >= 0.0 && d <= 1.0)) {
        return invalid(name, value, "a number between 0 and 1");
      }
      return {};
    }
    case T::kInt:
    case T::kLong:
    case T::kShort:
    case T::kBoolean: {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      Range r = range_of(name).value_or(Range{std::numeric_limits<int64_t>::min(),
                                              std::numeric_limits<int64_t>::max()});
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() ||
          v < r.min || v > r.max) {
        return invalid(name, value, fmt::format("an integer in [{}, {}]", r.min, r.max));
      }
      return {};
    }
  }
  return {};
}

Status validate_topic_configs(const ConfigMap& configs) {
  for (const auto& [name, value] : configs) {
    if (Status s = validate_topic_config(name, value); !s) return s;
  }
  return {};
}

EffectiveConfig effective_topic_config(const TopicConfigDef& def, const ConfigMap& topic,
                                       const ConfigMap& broker_defaults) {
  std::string key(def.name);
  if (auto it = topic.find(key); it != topic.end()) return {it->second, ConfigSource::kTopic};
  if (auto it = broker_defaults.find(key); it != broker_defaults.end()) {
    return {it->second, ConfigSource::kStaticBroker};
  }
  return {std::string(def.default_value), ConfigSource::kDefault};
}

}  // namespace fjord::metadata
