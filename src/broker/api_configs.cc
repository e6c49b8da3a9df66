// Configuration APIs: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs.
// Topic configs are dynamic (stored in the metadata log); broker configs are
// static (server.properties / flags) and described read-only.
#include <fmt/core.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "broker/admin_calls.h"
#include "broker/broker.h"
#include "protocol/generated/alter_configs_request.h"
#include "protocol/generated/alter_configs_response.h"
#include "protocol/generated/describe_configs_request.h"
#include "protocol/generated/describe_configs_response.h"
#include "protocol/generated/incremental_alter_configs_request.h"
#include "protocol/generated/incremental_alter_configs_response.h"

namespace fjord::broker {

namespace p = protocol;

namespace {

constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;

using DescribedConfig = p::DescribeConfigsResponse::DescribeConfigsResourceResult;

bool wanted(const std::optional<std::vector<std::string>>& keys, std::string_view name) {
  if (!keys.has_value() || keys->empty()) return true;
  for (const auto& key : *keys) {
    if (key == name) return true;
  }
  return false;
}

DescribedConfig describe_entry(std::string_view name, std::string value,
                               metadata::ConfigSource source, metadata::ConfigType type,
                               std::string_view doc, bool read_only,
                               const p::DescribeConfigsRequest& request) {
  DescribedConfig entry;
  entry.name = std::string(name);
  entry.value = value;
  entry.read_only = read_only;
  entry.is_default = source == metadata::ConfigSource::kDefault;
  entry.config_source = static_cast<int8_t>(source);
  entry.is_sensitive = false;
  entry.config_type = static_cast<int8_t>(type);
  if (request.include_documentation) entry.documentation = std::string(doc);
  if (request.include_synonyms) {
    p::DescribeConfigsResponse::DescribeConfigsSynonym synonym;
    synonym.name = std::string(name);
    synonym.value = std::move(value);
    synonym.source = static_cast<int8_t>(source);
    entry.synonyms.push_back(std::move(synonym));
  }
  return entry;
}

struct BrokerSetting {
  std::string name;
  std::string value;
  metadata::ConfigType type;
};

std::vector<BrokerSetting> broker_settings(const NodeConfig& config) {
  using T = metadata::ConfigType;
  return {
      {"node.id", std::to_string(config.node_id), T::kInt},
      {"log.dirs", config.data_dir, T::kString},
      {"num.partitions", std::to_string(config.num_partitions), T::kInt},
      {"auto.create.topics.enable", config.auto_create_topics ? "true" : "false", T::kBoolean},
      {"default.replication.factor", std::to_string(config.default_replication_factor), T::kInt},
      {"socket.request.max.bytes", std::to_string(config.max_request_bytes), T::kInt},
      {"connections.max.idle.ms", std::to_string(config.connections_max_idle_ms), T::kLong},
      {"log.retention.check.interval.ms", std::to_string(config.log_retention_check_interval_ms),
       T::kLong},
  };
}

}  // namespace

boost::asio::awaitable<p::DescribeConfigsResponse> Broker::describe_configs(
    const RequestContext& context, p::DescribeConfigsRequest& request) {
  p::DescribeConfigsResponse response;
  const auto image = controller_.image();
  for (const auto& resource : request.resources) {
    p::DescribeConfigsResponse::DescribeConfigsResult result;
    result.resource_type = resource.resource_type;
    result.resource_name = resource.resource_name;
    if (resource.resource_type == kTopicResource) {
      const metadata::TopicInfo* topic = image->find(resource.resource_name);
      if (topic == nullptr) {
        result.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
        result.error_message = fmt::format("no topic '{}'", resource.resource_name);
      } else {
        for (const auto& def : metadata::topic_config_defs()) {
          if (!wanted(resource.configuration_keys, def.name)) continue;
          auto effective =
              metadata::effective_topic_config(def, topic->configs, partitions_.broker_defaults());
          result.configs.push_back(describe_entry(def.name, effective.value, effective.source,
                                                  def.type, def.doc, false, request));
        }
      }
    } else if (resource.resource_type == kBrokerResource &&
               (resource.resource_name.empty() ||
                resource.resource_name == std::to_string(config_.node_id))) {
      for (const auto& setting : broker_settings(config_)) {
        if (!wanted(resource.configuration_keys, setting.name)) continue;
        result.configs.push_back(describe_entry(setting.name, setting.value,
                                                metadata::ConfigSource::kStaticBroker, setting.type,
                                                "", true, request));
      }
    } else {
      result.error_code = to_wire(ErrorCode::kInvalidRequest);
      result.error_message = fmt::format("cannot describe resource type {} named '{}'",
                                         resource.resource_type, resource.resource_name);
    }
    response.results.push_back(std::move(result));
  }
  co_return response;
}

namespace {

template <typename ResponseEntry>
ResponseEntry alter_result(int8_t type, const std::string& name, const Status& status) {
  ResponseEntry entry;
  entry.resource_type = type;
  entry.resource_name = name;
  if (!status) {
    entry.error_code = to_wire(status.error().code);
    entry.error_message = status.error().message;
  }
  return entry;
}

Status check_alterable(int8_t type) {
  if (type == kTopicResource) return {};
  if (type == kBrokerResource) {
    return Error{ErrorCode::kInvalidRequest,
                 "broker configs are static: set them in server.properties or with --set"};
  }
  return Error{ErrorCode::kInvalidRequest, fmt::format("cannot alter resource type {}", type)};
}

}  // namespace

boost::asio::awaitable<p::AlterConfigsResponse> Broker::alter_configs(
    const RequestContext& context, p::AlterConfigsRequest& request) {
  p::AlterConfigsResponse response;
  for (const auto& resource : request.resources) {
    Status status = check_alterable(resource.resource_type);
    if (status) status = require_active_controller();
    if (status) {
      metadata::ConfigMap configs;
      for (const auto& c : resource.configs) {
        if (c.value) configs[c.name] = *c.value;
      }
      status =
          co_await boost::asio::co_spawn(admin_calls_,
                                         admin::replace_configs(controller_, resource.resource_name,
                                                                configs, request.validate_only),
                                         boost::asio::use_awaitable);
    }
    if (status && !request.validate_only) {
      co_await partitions_.reconfigure_topic(
          controller_.image()->topics.at(resource.resource_name));
    }
    response.responses.push_back(
        alter_result<p::AlterConfigsResponse::AlterConfigsResourceResponse>(
            resource.resource_type, resource.resource_name, status));
  }
  co_return response;
}

boost::asio::awaitable<p::IncrementalAlterConfigsResponse> Broker::incremental_alter_configs(
    const RequestContext& context, p::IncrementalAlterConfigsRequest& request) {
  p::IncrementalAlterConfigsResponse response;
  for (const auto& resource : request.resources) {
    Status status = check_alterable(resource.resource_type);
    if (status) status = require_active_controller();
    if (status) {
      std::vector<metadata::ConfigAlteration> changes;
      for (const auto& c : resource.configs) {
        if (c.config_operation < 0 || c.config_operation > 3) {
          status = Error{ErrorCode::kInvalidRequest,
                         fmt::format("unknown config operation {}", c.config_operation)};
          break;
        }
        changes.push_back({c.name, c.value, static_cast<metadata::AlterOp>(c.config_operation)});
      }
      if (status) {
        status =
            co_await boost::asio::co_spawn(admin_calls_,
                                           admin::alter_configs(controller_, resource.resource_name,
                                                                changes, request.validate_only),
                                           boost::asio::use_awaitable);
      }
    }
    if (status && !request.validate_only) {
      co_await partitions_.reconfigure_topic(
          controller_.image()->topics.at(resource.resource_name));
    }
    response.responses.push_back(
        alter_result<p::IncrementalAlterConfigsResponse::AlterConfigsResourceResponse>(
            resource.resource_type, resource.resource_name, status));
  }
  co_return response;
}

}  // namespace fjord::broker
