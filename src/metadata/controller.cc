#include "metadata/controller.h"

#include <fmt/core.h>
#include <openssl/rand.h>

#include <algorithm>
#include <fstream>

#include "protocol/generated/metadata/config_record.h"
#include "protocol/generated/metadata/partition_record.h"
#include "protocol/generated/metadata/producer_ids_record.h"
#include "protocol/generated/metadata/remove_topic_record.h"
#include "protocol/generated/metadata/topic_record.h"

namespace fjord::metadata {
namespace {

namespace pm = protocol::metadata;
constexpr int32_t kLocalNodeId = 1;

protocol::Uuid random_uuid() {
  protocol::Uuid id;
  do {
    RAND_bytes(reinterpret_cast<unsigned char*>(&id.hi), sizeof(id.hi));
    RAND_bytes(reinterpret_cast<unsigned char*>(&id.lo), sizeof(id.lo));
  } while (id.hi == 0 && id.lo == 0);
  return id;
}

// meta.properties records which cluster a data dir belongs to (as Kafka's does).
Result<std::string> load_or_create_cluster_id(const std::filesystem::path& data_dir,
                                              const std::string& wanted) {
  const auto path = data_dir / "meta.properties";
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cluster.id=", 0) == 0) return line.substr(11);
  }
  std::string cluster_id = wanted.empty() ? random_uuid().to_string() : wanted;
  const auto tmp = data_dir / "meta.properties.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "version=1\ncluster.id=" << cluster_id << "\n";
    if (!out.flush()) {
      return Error{ErrorCode::kKafkaStorageError, fmt::format("cannot write {}", tmp.string())};
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Error{ErrorCode::kKafkaStorageError, ec.message()};
  return cluster_id;
}

std::vector<uint8_t> topic_record(const TopicInfo& topic) {
  pm::TopicRecord r;
  r.name = topic.name;
  r.topic_id = topic.id;
  return frame_metadata_record(r, 0);
}

std::vector<uint8_t> partition_record(const protocol::Uuid& topic_id, int32_t partition) {
  pm::PartitionRecord r;
  r.partition_id = partition;
  r.topic_id = topic_id;
  r.replicas = {kLocalNodeId};
  r.isr = {kLocalNodeId};
  r.leader = kLocalNodeId;
  r.leader_epoch = 0;
  r.partition_epoch = 0;
  return frame_metadata_record(r, 0);
}

std::vector<uint8_t> config_record(const std::string& topic, const std::string& name,
                                   std::optional<std::string> value) {
  pm::ConfigRecord r;
  r.resource_type = kTopicResourceType;
  r.resource_name = topic;
  r.name = name;
  r.value = std::move(value);
  return frame_metadata_record(r, 0);
}

Status check_partition_count(int32_t count, int32_t max) {
  if (count < 1 || count > max) {
    return Error{ErrorCode::kInvalidPartitions,
                 fmt::format("partition count {} must be between 1 and {}", count, max)};
  }
  return {};
}

// APPEND adds `item` to a comma-separated list unless present; SUBTRACT removes it.
std::string edit_list(const std::string& list, const std::string& item, bool append) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string entry = list.substr(start, comma - start);
    if (!entry.empty() && (append || entry != item)) items.push_back(entry);
    start = comma + 1;
  }
  if (append && std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
  std::string joined;
  for (const auto& entry : items) joined += (joined.empty() ? "" : ",") + entry;
  return joined;
}

}  // namespace

Status validate_topic_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") {
    return Error{ErrorCode::kInvalidTopicException, fmt::format("illegal topic name '{}'", name)};
  }
  if (name == kMetadataTopic) {
    return Error{ErrorCode::kInvalidTopicException,
                 fmt::format("'{}' is reserved for the cluster metadata", name)};
  }
  if (name.size() > 249) {
    return Error{ErrorCode::kInvalidTopicException, "topic name is longer than 249 characters"};
  }
  for (char c : name) {
    bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
    if (!legal) {
      return Error{ErrorCode::kInvalidTopicException,
                   fmt::format("topic name '{}' may contain only ASCII letters, digits, '.', '_' "
                               "and '-'",
                               name)};
    }
  }
  return {};
}

Controller::Controller(ControllerOptions options, MetadataStateMachine& state_machine,
                       MetadataCommitter& committer)
    : options_(std::move(options)), state_machine_(state_machine), committer_(committer) {}

Controller::~Controller() = default;

std::unique_ptr<Controller> Controller::create(const ControllerOptions& options,
                                               MetadataStateMachine& state_machine,
                                               MetadataCommitter& committer) {
  return std::unique_ptr<Controller>(new Controller(options, state_machine, committer));
}

Result<std::unique_ptr<Controller>> Controller::open(const ControllerOptions& options,
                                                     int64_t now_ms) {
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return Error{
        ErrorCode::kKafkaStorageError,
        fmt::format("cannot create data dir {}: {}", options.data_dir.string(), ec.message())};
  }
  auto cluster_id = load_or_create_cluster_id(options.data_dir, options.cluster_id);
  if (!cluster_id) return cluster_id.error();
  auto initial = std::make_shared<MetadataImage>();
  initial->cluster_id = *cluster_id;
  auto state_machine = std::make_unique<MetadataStateMachine>(std::move(initial));
  auto committer = LocalCommitter::open(options.data_dir / (std::string(kMetadataTopic) + "-0"),
                                        *state_machine, now_ms);
  if (!committer) return committer.error();
  std::unique_ptr<Controller> controller(new Controller(options, *state_machine, **committer));
  controller->owned_state_machine_ = std::move(state_machine);
  controller->local_committer_ = std::move(*committer);
  return controller;
}

Status Controller::commit(const std::vector<std::vector<uint8_t>>& records, int64_t now_ms) {
  auto committed = committer_.commit(records, now_ms);
  if (!committed) return committed.error();
  return {};
}

Result<std::shared_ptr<const TopicInfo>> Controller::create_topic(
    const std::string& name, int32_t partitions, int16_t replication_factor,
    const ConfigMap& configs, bool validate_only, int64_t now_ms) {
  if (Status s = validate_topic_name(name); !s) return s.error();
  if (partitions == -1) partitions = options_.default_partitions;
  if (Status s = check_partition_count(partitions, options_.max_partitions_per_topic); !s) {
    return s.error();
  }
  if (replication_factor == -1) replication_factor = options_.default_replication_factor;
  if (replication_factor != 1) {
    return Error{ErrorCode::kInvalidReplicationFactor,
                 fmt::format("replication factor {} is larger than the 1 available broker",
                             replication_factor)};
  }
  if (Status s = validate_topic_configs(configs); !s) return s.error();

  std::lock_guard lock(write_mutex_);
  if (image()->find(name) != nullptr) {
    return Error{ErrorCode::kTopicAlreadyExists, fmt::format("topic '{}' already exists", name)};
  }
  auto topic = std::make_shared<TopicInfo>();
  topic->name = name;
  topic->id = random_uuid();
  topic->partition_count = partitions;
  topic->configs = configs;
  if (validate_only) return std::shared_ptr<const TopicInfo>(topic);

  std::vector<std::vector<uint8_t>> records;
  records.push_back(topic_record(*topic));
  for (int32_t p = 0; p < partitions; ++p) records.push_back(partition_record(topic->id, p));
  for (const auto& [key, value] : configs) records.push_back(config_record(name, key, value));
  if (Status s = commit(records, now_ms); !s) return s.error();
  return image()->topics.at(name);
}

Result<int64_t> Controller::allocate_producer_ids(int32_t count, int64_t now_ms) {
  if (count < 1) {
    return Error{ErrorCode::kInvalidRequest, fmt::format("cannot allocate {} producer ids", count)};
  }
  std::lock_guard lock(write_mutex_);
  const int64_t first = image()->next_producer_id;
  // Producer ids are int64 but clients treat negative ids as "none".
  if (first > INT64_MAX - count) {
    return Error{ErrorCode::kUnknownServerError, "producer ids are exhausted"};
  }
  pm::ProducerIdsRecord r;
  r.broker_id = 0;
  r.next_producer_id = first + count;
  if (Status s = commit({frame_metadata_record(r, 0)}, now_ms); !s) return s.error();
  return first;
}

Result<std::shared_ptr<const TopicInfo>> Controller::delete_topic(const std::string& name,
                                                                  int64_t now_ms) {
  std::lock_guard lock(write_mutex_);
  auto current = image();
  auto it = current->topics.find(name);
  if (it == current->topics.end()) {
    return Error{ErrorCode::kUnknownTopicOrPartition, fmt::format("no topic '{}'", name)};
  }
  pm::RemoveTopicRecord r;
  r.topic_id = it->second->id;
  if (Status s = commit({frame_metadata_record(r, 0)}, now_ms); !s) return s.error();
  return it->second;
}

Status Controller::create_partitions(const std::string& name, int32_t total_count,
                                     bool validate_only, int64_t now_ms) {
  std::lock_guard lock(write_mutex_);
  const auto current = image();
  const TopicInfo* topic = current->find(name);
  if (topic == nullptr) {
    return Error{ErrorCode::kUnknownTopicOrPartition, fmt::format("no topic '{}'", name)};
  }
  if (total_count <= topic->partition_count) {
    return Error{ErrorCode::kInvalidPartitions,
                 fmt::format("topic '{}' has {} partitions; the new count must be larger", name,
                             topic->partition_count)};
  }
  if (Status s = check_partition_count(total_count, options_.max_partitions_per_topic); !s) {
    return s;
  }
  if (validate_only) return {};
  std::vector<std::vector<uint8_t>> records;
  for (int32_t p = topic->partition_count; p < total_count; ++p) {
    records.push_back(partition_record(topic->id, p));
  }
  return commit(records, now_ms);
}

Status Controller::commit_configs(const TopicInfo& topic, const ConfigMap& next, int64_t now_ms) {
  std::vector<std::vector<uint8_t>> records;
  for (const auto& [key, value] : topic.configs) {
    if (!next.contains(key)) records.push_back(config_record(topic.name, key, std::nullopt));
  }
  for (const auto& [key, value] : next) {
    auto it = topic.configs.find(key);
    if (it == topic.configs.end() || it->second != value) {
      records.push_back(config_record(topic.name, key, value));
    }
  }
  if (records.empty()) return {};
  return commit(records, now_ms);
}

Status Controller::replace_configs(const std::string& name, const ConfigMap& configs,
                                   bool validate_only, int64_t now_ms) {
  if (Status s = validate_topic_configs(configs); !s) return s;
  std::lock_guard lock(write_mutex_);
  const auto current = image();
  const TopicInfo* topic = current->find(name);
  if (topic == nullptr) {
    return Error{ErrorCode::kUnknownTopicOrPartition, fmt::format("no topic '{}'", name)};
  }
  if (validate_only) return {};
  return commit_configs(*topic, configs, now_ms);
}

Status Controller::alter_configs(const std::string& name,
                                 const std::vector<ConfigAlteration>& changes, bool validate_only,
                                 int64_t now_ms) {
  std::lock_guard lock(write_mutex_);
  const auto current = image();
  const TopicInfo* topic = current->find(name);
  if (topic == nullptr) {
    return Error{ErrorCode::kUnknownTopicOrPartition, fmt::format("no topic '{}'", name)};
  }
  ConfigMap next = topic->configs;
  for (const auto& change : changes) {
    const TopicConfigDef* def = find_topic_config(change.name);
    if (def == nullptr) {
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("unknown topic config '{}'", change.name)};
    }
    switch (change.op) {
      case AlterOp::kSet:
        if (!change.value) {
          return Error{ErrorCode::kInvalidRequest,
                       fmt::format("SET of '{}' needs a value", change.name)};
        }
        next[change.name] = *change.value;
        break;
      case AlterOp::kDelete:
        next.erase(change.name);
        break;
      case AlterOp::kAppend:
      case AlterOp::kSubtract: {
        if (def->type != ConfigType::kList || !change.value) {
          return Error{ErrorCode::kInvalidConfig,
                       fmt::format("APPEND/SUBTRACT need a value and apply only to list configs, "
                                   "not '{}'",
                                   change.name)};
        }
        auto current_value = effective_topic_config(*def, next, {}).value;
        next[change.name] = edit_list(current_value, *change.value, change.op == AlterOp::kAppend);
        break;
      }
    }
  }
  if (Status s = validate_topic_configs(next); !s) return s;
  if (validate_only) return {};
  return commit_configs(*topic, next, now_ms);
}

Status Controller::close() {
  if (local_committer_) return local_committer_->close();
  return {};
}

}  // namespace fjord::metadata
