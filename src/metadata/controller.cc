#include "metadata/controller.h"

#include <fmt/core.h>
#include <openssl/rand.h>

#include <algorithm>
#include <fstream>

#include "protocol/generated/metadata/config_record.h"
#include "protocol/generated/metadata/fence_broker_record.h"
#include "protocol/generated/metadata/register_broker_record.h"
#include "protocol/generated/metadata/unfence_broker_record.h"
#include "protocol/generated/metadata/partition_record.h"
#include "protocol/generated/metadata/producer_ids_record.h"
#include "protocol/generated/metadata/remove_topic_record.h"
#include "protocol/generated/metadata/topic_record.h"

namespace fjord::metadata {
namespace {

namespace pm = protocol::metadata;

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

std::vector<uint8_t> partition_record(const protocol::Uuid& topic_id, int32_t partition,
                                      const std::vector<int32_t>& replicas) {
  pm::PartitionRecord r;
  r.partition_id = partition;
  r.topic_id = topic_id;
  r.replicas = replicas;
  r.isr = replicas;
  r.leader = replicas.front();
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
  LocalCommitterOptions log_options;
  log_options.snapshot_after_bytes = options.snapshot_after_bytes;
  auto committer = LocalCommitter::open(options.data_dir / (std::string(kMetadataTopic) + "-0"),
                                        *state_machine, log_options, now_ms);
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
  if (Status s = validate_topic_configs(configs); !s) return s.error();

  std::lock_guard lock(write_mutex_);
  const auto current = image();
  if (current->find(name) != nullptr) {
    return Error{ErrorCode::kTopicAlreadyExists, fmt::format("topic '{}' already exists", name)};
  }
  auto placement = place_partitions(*current, partitions, replication_factor);
  if (!placement) return placement.error();
  auto topic = std::make_shared<TopicInfo>();
  topic->name = name;
  topic->id = random_uuid();
  topic->partition_count = partitions;
  topic->configs = configs;
  if (validate_only) return std::shared_ptr<const TopicInfo>(topic);

  std::vector<std::vector<uint8_t>> records;
  records.push_back(topic_record(*topic));
  for (int32_t p = 0; p < partitions; ++p) {
    records.push_back(partition_record(topic->id, p, (*placement)[static_cast<size_t>(p)]));
  }
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
  const auto replication_factor = static_cast<int16_t>(
      topic->partitions.empty() ? 1 : topic->partitions.front().replicas.size());
  auto placement =
      place_partitions(*current, total_count - topic->partition_count, replication_factor);
  if (!placement) return placement.error();
  if (validate_only) return {};
  std::vector<std::vector<uint8_t>> records;
  for (int32_t p = topic->partition_count; p < total_count; ++p) {
    records.push_back(partition_record(
        topic->id, p, (*placement)[static_cast<size_t>(p - topic->partition_count)]));
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

// --- Brokers of a cluster -------------------------------------------------------

Result<std::vector<std::vector<int32_t>>> Controller::place_partitions(
    const MetadataImage& image, int32_t count, int16_t replication_factor) const {
  std::vector<int32_t> live;
  for (const auto& [id, broker] : image.brokers) {
    if (!broker.fenced) live.push_back(id);
  }
  if (image.brokers.empty()) live.push_back(options_.node_id);  // a single node
  if (replication_factor < 1 || static_cast<size_t>(replication_factor) > live.size()) {
    return Error{ErrorCode::kInvalidReplicationFactor,
                 fmt::format("replication factor {} is larger than the {} available broker{}",
                             replication_factor, live.size(), live.size() == 1 ? "" : "s")};
  }
  if (replication_factor > 1) {
    return Error{ErrorCode::kInvalidReplicationFactor,
                 "replication factor above 1 is not supported yet: partitions are not "
                 "replicated between brokers (only the cluster metadata is)"};
  }
  // A random start spreads the first partitions of many small topics.
  uint32_t start = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&start), sizeof(start));
  std::vector<std::vector<int32_t>> placement(static_cast<size_t>(count));
  for (size_t p = 0; p < placement.size(); ++p) {
    for (size_t r = 0; r < static_cast<size_t>(replication_factor); ++r) {
      placement[p].push_back(live[(start + p + r) % live.size()]);
    }
  }
  return placement;
}

Result<int64_t> Controller::register_broker(int32_t id, const protocol::Uuid& incarnation,
                                            std::vector<BrokerEndpoint> endpoints,
                                            const std::optional<std::string>& rack,
                                            int64_t now_ms) {
  if (id < 0) return Error{ErrorCode::kInvalidRequest, fmt::format("broker id {}", id)};
  std::lock_guard lock(write_mutex_);
  const auto current = image();
  auto known = current->brokers.find(id);
  if (known != current->brokers.end() && known->second.incarnation == incarnation) {
    last_heartbeat_ms_[id] = now_ms;
    return known->second.epoch;  // a retried registration
  }
  pm::RegisterBrokerRecord r;
  r.broker_id = id;
  r.incarnation_id = incarnation;
  // Unique and increasing: later than anything this image has applied.
  r.broker_epoch = current->last_applied_offset + 1;
  for (auto& endpoint : endpoints) {
    pm::RegisterBrokerRecord::BrokerEndpoint wire;
    wire.name = std::move(endpoint.listener);
    wire.host = std::move(endpoint.host);
    wire.port = endpoint.port;
    r.end_points.push_back(std::move(wire));
  }
  r.rack = rack;
  r.fenced = true;
  if (Status s = commit({frame_metadata_record(r, 0)}, now_ms); !s) return s.error();
  last_heartbeat_ms_[id] = now_ms;
  return r.broker_epoch;
}

Status Controller::fence(const BrokerInfo& broker, int64_t now_ms) {
  pm::FenceBrokerRecord r;
  r.id = broker.id;
  r.epoch = broker.epoch;
  return commit({frame_metadata_record(r, 0)}, now_ms);
}

Result<BrokerHeartbeatResult> Controller::broker_heartbeat(int32_t id, int64_t epoch,
                                                           bool want_fence, bool want_shut_down,
                                                           int64_t now_ms) {
  std::lock_guard lock(write_mutex_);
  const auto current = image();
  auto known = current->brokers.find(id);
  if (known == current->brokers.end()) {
    return Error{ErrorCode::kBrokerIdNotRegistered, fmt::format("broker {} is not registered", id)};
  }
  const BrokerInfo& broker = known->second;
  if (broker.epoch != epoch) {
    return Error{ErrorCode::kStaleBrokerEpoch,
                 fmt::format("broker {} has epoch {}, not {}", id, broker.epoch, epoch)};
  }
  last_heartbeat_ms_[id] = now_ms;
  BrokerHeartbeatResult result;
  result.should_shut_down = want_shut_down;
  if (want_shut_down || want_fence) {
    if (!broker.fenced) {
      if (Status s = fence(broker, now_ms); !s) return s.error();
    }
    result.fenced = true;
    return result;
  }
  if (broker.fenced) {
    pm::UnfenceBrokerRecord r;
    r.id = id;
    r.epoch = epoch;
    if (Status s = commit({frame_metadata_record(r, 0)}, now_ms); !s) return s.error();
  }
  result.fenced = false;
  return result;
}

Status Controller::fence_expired_brokers(int64_t now_ms, int64_t session_timeout_ms) {
  std::lock_guard lock(write_mutex_);
  const auto current = image();
  for (const auto& [id, broker] : current->brokers) {
    if (broker.fenced) continue;
    auto [last, inserted] = last_heartbeat_ms_.try_emplace(id, now_ms);
    if (inserted || now_ms - last->second <= session_timeout_ms) continue;
    if (Status s = fence(broker, now_ms); !s) return s;
  }
  return {};
}

void Controller::reset_heartbeats(int64_t now_ms) {
  std::lock_guard lock(write_mutex_);
  last_heartbeat_ms_.clear();
  for (const auto& [id, broker] : image()->brokers) last_heartbeat_ms_[id] = now_ms;
}

}  // namespace fjord::metadata
