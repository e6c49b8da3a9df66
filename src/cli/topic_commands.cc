// `fjord topic create|list|describe|alter|delete` over librdkafka's admin API.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/server_config.h"

namespace fjord::cli {
namespace {

// An admin client that is known to reach the cluster.
Result<std::unique_ptr<KafkaClient>> connect_admin(const ClientOptions& options) {
  auto client = KafkaClient::create(KafkaClient::Kind::kProducer, options,
                                    {{"allow.auto.create.topics", "false"}});
  if (!client.ok()) return client.error();
  Status reachable = (*client)->await_cluster();
  if (!reachable.ok()) return reachable.error();
  return client;
}

int fail_with(const Error& error) {
  return fail(error.code == ErrorCode::kInvalidConfig ? kExitUsage : kExitFailure, error.message);
}

Result<std::vector<ConfigSetting>> parse_settings(const std::vector<std::string>& arguments) {
  std::vector<ConfigSetting> settings;
  for (const std::string& argument : arguments) {
    auto setting = parse_setting_argument(argument, "--config");
    if (!setting.ok()) return setting.error();
    settings.push_back(std::move(*setting));
  }
  return settings;
}

// The advice for a per-topic admin error.
std::string topic_error_message(const std::string& topic, rd_kafka_resp_err_t error,
                                const char* detail) {
  const std::string reason = detail != nullptr && *detail != '\0'
                                 ? std::string(detail)
                                 : std::string(rd_kafka_err2str(error));
  switch (error) {
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return fmt::format("topic '{}' already exists: see it with 'fjord topic describe {}'", topic,
                         topic);
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return unknown_topic_error(topic).message;
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
      return fmt::format("topic '{}': invalid partition count: {}", topic, reason);
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
      return fmt::format("topic '{}': invalid replication factor: {}", topic, reason);
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
      return fmt::format("topic '{}': invalid config: {}", topic, reason);
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
      return fmt::format("invalid topic name '{}': {}", topic, reason);
    default:
      return fmt::format("topic '{}': {} ({})", topic, reason, kafka_error_name(error));
  }
}

Status check_topic_results(const rd_kafka_topic_result_t** results, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t error = rd_kafka_topic_result_error(results[i]);
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    return Error{ErrorCode::kUnknownServerError,
                 topic_error_message(rd_kafka_topic_result_name(results[i]), error,
                                     rd_kafka_topic_result_error_string(results[i]))};
  }
  return {};
}

struct ConfigValue {
  std::string value;
  rd_kafka_ConfigSource_t source = RD_KAFKA_CONFIG_SOURCE_UNKNOWN_CONFIG;
  bool sensitive = false;
};

Result<std::map<std::string, ConfigValue>> describe_configs(KafkaClient& client,
                                                            const std::string& topic) {
  AdminRequest request(client);
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_DescribeConfigs(client.handle(), &resource, 1, request.options(), request.queue());
  rd_kafka_ConfigResource_destroy(resource);
  auto event = request.wait("DescribeConfigs");
  if (!event.ok()) return event.error();
  size_t count = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(event->get()), &count);
  std::map<std::string, ConfigValue> configs;
  for (size_t r = 0; r < count; ++r) {
    const rd_kafka_resp_err_t error = rd_kafka_ConfigResource_error(resources[r]);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{
          ErrorCode::kUnknownServerError,
          topic_error_message(topic, error, rd_kafka_ConfigResource_error_string(resources[r]))};
    }
    size_t entry_count = 0;
    const rd_kafka_ConfigEntry_t** entries =
        rd_kafka_ConfigResource_configs(resources[r], &entry_count);
    for (size_t e = 0; e < entry_count; ++e) {
      const char* value = rd_kafka_ConfigEntry_value(entries[e]);
      configs[rd_kafka_ConfigEntry_name(entries[e])] =
          ConfigValue{value != nullptr ? value : "", rd_kafka_ConfigEntry_source(entries[e]),
                      rd_kafka_ConfigEntry_is_sensitive(entries[e]) != 0};
    }
  }
  return configs;
}

std::string join_ids(const std::vector<int32_t>& ids) {
  return fmt::format("{}", fmt::join(ids, ","));
}

Status create_partitions(KafkaClient& client, const std::string& topic, int32_t total) {
  char reason[512];
  rd_kafka_NewPartitions_t* partitions =
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(total), reason, sizeof(reason));
  if (partitions == nullptr) {
    return Error{ErrorCode::kInvalidConfig, fmt::format("--partitions {}: {}", total, reason)};
  }
  AdminRequest request(client);
  rd_kafka_CreatePartitions(client.handle(), &partitions, 1, request.options(), request.queue());
  rd_kafka_NewPartitions_destroy(partitions);
  auto event = request.wait("CreatePartitions");
  if (!event.ok()) return event.error();
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreatePartitions_result_topics(
      rd_kafka_event_CreatePartitions_result(event->get()), &count);
  return check_topic_results(results, count);
}

// librdkafka 2.0.2 has no IncrementalAlterConfigs, and AlterConfigs replaces a
// topic's whole override set: read the current overrides, apply the change,
// and send the complete set.
Status alter_configs(KafkaClient& client, const TopicAlterOptions& options,
                     const std::vector<ConfigSetting>& updates) {
  auto current = describe_configs(client, options.name);
  if (!current.ok()) return current.error();
  std::map<std::string, std::string> overrides;
  for (const auto& [key, config] : *current) {
    if (config.source == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG) overrides[key] = config.value;
  }
  for (const ConfigSetting& update : updates) overrides[update.key] = update.value;
  for (const std::string& key : options.delete_configs) overrides.erase(key);

  AdminRequest request(client);
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, options.name.c_str());
  for (const auto& [key, value] : overrides) {
    rd_kafka_ConfigResource_set_config(resource, key.c_str(), value.c_str());
  }
  rd_kafka_AlterConfigs(client.handle(), &resource, 1, request.options(), request.queue());
  rd_kafka_ConfigResource_destroy(resource);
  auto event = request.wait("AlterConfigs");
  if (!event.ok()) return event.error();
  size_t count = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_AlterConfigs_result_resources(
      rd_kafka_event_AlterConfigs_result(event->get()), &count);
  for (size_t r = 0; r < count; ++r) {
    const rd_kafka_resp_err_t error = rd_kafka_ConfigResource_error(resources[r]);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{ErrorCode::kUnknownServerError,
                   topic_error_message(options.name, error,
                                       rd_kafka_ConfigResource_error_string(resources[r]))};
    }
  }
  return {};
}

}  // namespace

int topic_create(const ClientOptions& client_options, const TopicCreateOptions& options) {
  auto settings = parse_settings(options.configs);
  if (!settings.ok()) return fail_with(settings.error());
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  KafkaClient& admin = **client;

  char reason[512];
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(
      options.name.c_str(), options.partitions, options.replication_factor, reason, sizeof(reason));
  if (topic == nullptr)
    return fail(kExitUsage, fmt::format("topic '{}': {}", options.name, reason));
  for (const ConfigSetting& setting : *settings) {
    rd_kafka_NewTopic_set_config(topic, setting.key.c_str(), setting.value.c_str());
  }
  AdminRequest request(admin);
  rd_kafka_CreateTopics(admin.handle(), &topic, 1, request.options(), request.queue());
  rd_kafka_NewTopic_destroy(topic);
  auto event = request.wait("CreateTopics");
  if (!event.ok()) return fail_with(event.error());
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event->get()), &count);
  Status status = check_topic_results(results, count);
  if (!status.ok()) return fail_with(status.error());
  fmt::print("created topic '{}'\n", options.name);
  return kExitOk;
}

int topic_list(const ClientOptions& client_options, bool include_internal) {
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  auto topics = fetch_topics(**client, "");
  if (!topics.ok()) return fail_with(topics.error());
  for (const TopicInfo& topic : *topics) {
    if (!include_internal && topic.name.rfind("__", 0) == 0) continue;
    fmt::print("{}\n", topic.name);
  }
  return kExitOk;
}

int topic_describe(const ClientOptions& client_options, const std::string& name) {
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  auto topic = fetch_topic(**client, name);
  if (!topic.ok()) return fail_with(topic.error());
  const size_t replication_factor =
      topic->partitions.empty() ? 0 : topic->partitions.front().replicas.size();
  fmt::print("Topic: {}\tPartitionCount: {}\tReplicationFactor: {}\n", name,
             topic->partitions.size(), replication_factor);
  for (const PartitionInfo& partition : topic->partitions) {
    fmt::print("\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}", partition.id,
               partition.leader < 0 ? std::string("none") : std::to_string(partition.leader),
               join_ids(partition.replicas), join_ids(partition.isr));
    if (partition.error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fmt::print("\tError: {}", kafka_error_name(partition.error));
    }
    fmt::print("\n");
  }
  auto configs = describe_configs(**client, name);
  if (!configs.ok()) {
    fmt::print("Configs: unavailable ({})\n", configs.error().message);
    return kExitOk;
  }
  fmt::print("Configs:\n");
  for (const auto& [key, config] : *configs) {
    const bool overridden = config.source == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
    fmt::print("\t{}={}{}\n", key, config.sensitive ? "(hidden)" : config.value,
               overridden ? "\t(set on topic)" : "");
  }
  return kExitOk;
}

int topic_alter(const ClientOptions& client_options, const TopicAlterOptions& options) {
  if (!options.partitions && options.configs.empty() && options.delete_configs.empty()) {
    return fail(kExitUsage,
                "nothing to alter: give --partitions, --config key=value or --delete-config key");
  }
  auto updates = parse_settings(options.configs);
  if (!updates.ok()) return fail_with(updates.error());
  for (const ConfigSetting& update : *updates) {
    for (const std::string& removed : options.delete_configs) {
      if (update.key == removed) {
        return fail(kExitUsage, fmt::format("config '{}' is both set and deleted", removed));
      }
    }
  }
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  auto topic = fetch_topic(**client, options.name);
  if (!topic.ok()) return fail_with(topic.error());
  if (options.partitions) {
    const auto current = static_cast<int32_t>(topic->partitions.size());
    if (*options.partitions <= current) {
      return fail(kExitUsage, fmt::format("topic '{}' has {} partitions: --partitions must be "
                                          "larger (partitions cannot be removed)",
                                          options.name, current));
    }
    Status status = create_partitions(**client, options.name, *options.partitions);
    if (!status.ok()) return fail_with(status.error());
    fmt::print("topic '{}' now has {} partitions\n", options.name, *options.partitions);
  }
  if (!updates->empty() || !options.delete_configs.empty()) {
    Status status = alter_configs(**client, options, *updates);
    if (!status.ok()) return fail_with(status.error());
    fmt::print("altered configs of topic '{}'\n", options.name);
  }
  return kExitOk;
}

int topic_delete(const ClientOptions& client_options, const std::string& name) {
  auto client = connect_admin(client_options);
  if (!client.ok()) return fail_with(client.error());
  KafkaClient& admin = **client;
  rd_kafka_DeleteTopic_t* topic = rd_kafka_DeleteTopic_new(name.c_str());
  AdminRequest request(admin);
  rd_kafka_DeleteTopics(admin.handle(), &topic, 1, request.options(), request.queue());
  rd_kafka_DeleteTopic_destroy(topic);
  auto event = request.wait("DeleteTopics");
  if (!event.ok()) return fail_with(event.error());
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event->get()), &count);
  Status status = check_topic_results(results, count);
  if (!status.ok()) return fail_with(status.error());
  fmt::print("deleted topic '{}'\n", name);
  return kExitOk;
}

}  // namespace fjord::cli
