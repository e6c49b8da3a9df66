// Topic administration and cluster metadata: Metadata, CreateTopics,
// DeleteTopics, CreatePartitions.
#include <fmt/core.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "broker/admin_calls.h"
#include "broker/broker.h"
#include "protocol/generated/create_partitions_request.h"
#include "protocol/generated/create_partitions_response.h"
#include "protocol/generated/create_topics_request.h"
#include "protocol/generated/create_topics_response.h"
#include "protocol/generated/delete_topics_request.h"
#include "protocol/generated/delete_topics_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"

namespace fjord::broker {

namespace p = protocol;

boost::asio::awaitable<Result<std::shared_ptr<const metadata::TopicInfo>>> Broker::create_topic(
    const std::string& name, int32_t partitions, int16_t replication_factor,
    const metadata::ConfigMap& configs, bool validate_only) {
  if (partitions_.is_cluster_node() && !validate_only && !quorum_.is_active_controller()) {
    Status forwarded = co_await forward_create_topic(name, partitions, replication_factor, configs);
    if (!forwarded) {
      co_return forwarded.error();
    }
    const auto image = controller_.image();
    auto topic = image->topics.find(name);
    if (topic == image->topics.end()) {
      // Created on the controller; this node applies it a moment later.
      co_return Error{ErrorCode::kLeaderNotAvailable, name + " is being created"};
    }
    co_return topic->second;
  }
  auto created = co_await boost::asio::co_spawn(
      admin_calls_,
      admin::create_topic(controller_, name, partitions, replication_factor, configs,
                          validate_only),
      boost::asio::use_awaitable);
  if (!created || validate_only) {
    co_return created;
  }
  Status opened = co_await partitions_.open_topic(*created);
  if (!opened) {
    co_return opened.error();
  }
  co_return created;
}

// Internal topics (__consumer_offsets, __transaction_state) are created on first
// use, as Kafka does, so that a node without groups or transactions does not carry
// 50 empty partitions. Another request may have created the topic and still be
// opening its partitions: opening is idempotent, so every one is opened here
// before anyone is told this node coordinates.
boost::asio::awaitable<Result<int32_t>> Broker::open_internal_topic(const std::string& name,
                                                                    int32_t partitions,
                                                                    int32_t segment_bytes) {
  const Error unavailable{ErrorCode::kCoordinatorNotAvailable, name + " is not available"};
  if (controller_.image()->find(name) == nullptr) {
    metadata::ConfigMap configs = {
        {"cleanup.policy", "compact"},
        {"segment.bytes", std::to_string(segment_bytes)},
        {"max.message.bytes", std::to_string(segment_bytes)},
        {"flush.messages", "1"},
    };
    auto created = co_await create_topic(name, partitions, 1, configs, false);
    const ErrorCode code = created ? ErrorCode::kNone : created.error().code;
    if (code != ErrorCode::kNone && code != ErrorCode::kTopicAlreadyExists) {
      if (code != ErrorCode::kLeaderNotAvailable && code != ErrorCode::kNotController) {
        fmt::print(stderr, "fjord: cannot create {}: {}\n", name, created.error().message);
      }
      co_return unavailable;
    }
  }
  auto image = controller_.image();
  auto topic = image->topics.find(name);
  if (topic == image->topics.end()) {
    co_return unavailable;
  }
  const std::shared_ptr<const metadata::TopicInfo> info = topic->second;
  Status opened = co_await partitions_.open_topic(info);
  if (!opened) {
    fmt::print(stderr, "fjord: cannot open {}: {}\n", name, opened.error().message);
    co_return unavailable;
  }
  co_return info->partition_count;
}

namespace {

void add_topic(p::MetadataResponse& response, const metadata::MetadataImage& image,
               const metadata::TopicInfo& topic, int32_t self_id) {
  p::MetadataResponse::MetadataResponseTopic entry;
  entry.error_code = 0;
  entry.name = topic.name;
  entry.topic_id = topic.id;
  entry.is_internal = topic.name == kOffsetsTopic || topic.name == kTransactionStateTopic;
  for (int32_t i = 0; i < topic.partition_count; ++i) {
    PartitionPlacement placement = placement_of(image, topic, i, self_id);
    p::MetadataResponse::MetadataResponsePartition partition;
    // A partition whose leader is fenced has none until it is back (Kafka's answer).
    partition.error_code =
        to_wire(placement.leader < 0 ? ErrorCode::kLeaderNotAvailable : ErrorCode::kNone);
    partition.partition_index = i;
    partition.leader_id = placement.leader;
    partition.leader_epoch = placement.leader_epoch;
    partition.replica_nodes = std::move(placement.replicas);
    partition.isr_nodes = std::move(placement.isr);
    entry.partitions.push_back(std::move(partition));
  }
  response.topics.push_back(std::move(entry));
}

void add_topic_error(p::MetadataResponse& response, std::optional<std::string> name, p::Uuid id,
                     ErrorCode error) {
  p::MetadataResponse::MetadataResponseTopic entry;
  entry.error_code = to_wire(error);
  entry.name = std::move(name);
  entry.topic_id = id;
  response.topics.push_back(std::move(entry));
}

}  // namespace

boost::asio::awaitable<p::MetadataResponse> Broker::metadata(const RequestContext& context,
                                                             p::MetadataRequest& request) {
  const int16_t version = context.api_version;
  p::MetadataResponse response;
  auto image = controller_.image();
  for (BrokerAddress& broker : live_brokers(*image, self_address())) {
    p::MetadataResponse::MetadataResponseBroker entry;
    entry.node_id = broker.id;
    entry.host = std::move(broker.host);
    entry.port = broker.port;
    entry.rack = std::move(broker.rack);
    response.brokers.push_back(std::move(entry));
  }
  response.cluster_id = image->cluster_id;
  response.controller_id = quorum_.controller_id();

  // v0: an empty list means every topic; v1+: null means every topic.
  const bool all_topics = !request.topics.has_value() || (version == 0 && request.topics->empty());
  if (all_topics) {
    for (const auto& [name, topic] : image->topics) {
      add_topic(response, *image, *topic, config_.node_id);
    }
    co_return response;
  }
  const bool may_create =
      config_.auto_create_topics && (version < 4 || request.allow_auto_topic_creation);
  for (const auto& wanted : *request.topics) {
    if (!wanted.name.has_value()) {
      const metadata::TopicInfo* topic = image->find(wanted.topic_id);
      if (topic == nullptr) {
        add_topic_error(response, std::nullopt, wanted.topic_id, ErrorCode::kUnknownTopicId);
      } else {
        add_topic(response, *image, *topic, config_.node_id);
      }
      continue;
    }
    const std::string& name = *wanted.name;
    if (const metadata::TopicInfo* topic = image->find(name)) {
      add_topic(response, *image, *topic, config_.node_id);
      continue;
    }
    if (Status valid = metadata::validate_topic_name(name); !valid) {
      add_topic_error(response, name, {}, ErrorCode::kInvalidTopicException);
      continue;
    }
    if (!may_create) {
      add_topic_error(response, name, {}, ErrorCode::kUnknownTopicOrPartition);
      continue;
    }
    auto created = co_await create_topic(name, -1, -1, {}, false);
    if (created) {
      add_topic(response, *controller_.image(), **created, config_.node_id);
    } else if (created.error().code == ErrorCode::kTopicAlreadyExists) {
      // Another request created it meanwhile.
      const auto fresh = controller_.image();
      if (const auto* topic = fresh->find(name)) {
        add_topic(response, *fresh, *topic, config_.node_id);
      }
    } else if (created.error().code == ErrorCode::kNotController) {
      // Only the active controller creates topics; clients retry LEADER_NOT_AVAILABLE
      // and ask other brokers for metadata, the controller among them.
      add_topic_error(response, name, {}, ErrorCode::kLeaderNotAvailable);
    } else {
      add_topic_error(response, name, {}, created.error().code);
    }
  }
  co_return response;
}

boost::asio::awaitable<p::CreateTopicsResponse> Broker::create_topics(
    const RequestContext& context, p::CreateTopicsRequest& request) {
  p::CreateTopicsResponse response;
  std::map<std::string, int> occurrences;
  for (const auto& topic : request.topics) ++occurrences[topic.name];
  for (const auto& topic : request.topics) {
    p::CreateTopicsResponse::CreatableTopicResult result;
    result.name = topic.name;
    auto fail = [&](ErrorCode code, std::string message) {
      result.error_code = to_wire(code);
      result.error_message = std::move(message);
      response.topics.push_back(std::move(result));
    };
    if (Status controller = require_active_controller(); !controller) {
      fail(controller.error().code, controller.error().message);
      continue;
    }
    if (occurrences[topic.name] > 1) {
      fail(ErrorCode::kInvalidRequest,
           fmt::format("topic '{}' appears more than once", topic.name));
      continue;
    }
    int32_t partitions = topic.num_partitions;
    int16_t replication = topic.replication_factor;
    if (!topic.assignments.empty()) {
      if (partitions != -1 || replication != -1) {
        fail(ErrorCode::kInvalidRequest,
             "give either replica assignments or a partition count and replication factor");
        continue;
      }
      bool valid = true;
      for (size_t i = 0; i < topic.assignments.size(); ++i) {
        const auto& a = topic.assignments[i];
        valid = valid && a.partition_index == static_cast<int32_t>(i) &&
                a.broker_ids == std::vector<int32_t>{config_.node_id};
      }
      if (!valid) {
        fail(ErrorCode::kInvalidReplicaAssignment,
             fmt::format("replica assignments must name partitions 0..n-1 on broker {}",
                         config_.node_id));
        continue;
      }
      partitions = static_cast<int32_t>(topic.assignments.size());
      replication = 1;
    }
    metadata::ConfigMap configs;
    bool null_config = false;
    for (const auto& c : topic.configs) {
      if (!c.value)
        null_config = true;
      else
        configs[c.name] = *c.value;
    }
    if (null_config) {
      fail(ErrorCode::kInvalidConfig, "topic config values may not be null");
      continue;
    }
    auto created =
        co_await create_topic(topic.name, partitions, replication, configs, request.validate_only);
    if (!created) {
      fail(created.error().code, created.error().message);
      continue;
    }
    const metadata::TopicInfo& info = **created;
    result.error_code = 0;
    result.topic_id = info.id;
    result.num_partitions = info.partition_count;
    result.replication_factor = 1;
    std::vector<p::CreateTopicsResponse::CreatableTopicConfigs> described;
    for (const auto& def : metadata::topic_config_defs()) {
      auto effective =
          metadata::effective_topic_config(def, info.configs, partitions_.broker_defaults());
      p::CreateTopicsResponse::CreatableTopicConfigs entry;
      entry.name = std::string(def.name);
      entry.value = effective.value;
      entry.read_only = false;
      entry.config_source = static_cast<int8_t>(effective.source);
      entry.is_sensitive = false;
      described.push_back(std::move(entry));
    }
    result.configs = std::move(described);
    response.topics.push_back(std::move(result));
  }
  co_return response;
}

boost::asio::awaitable<p::DeleteTopicsResponse> Broker::delete_topics(
    const RequestContext& context, p::DeleteTopicsRequest& request) {
  p::DeleteTopicsResponse response;
  // v0-5 name topics; v6 names or ids.
  std::vector<std::pair<std::optional<std::string>, p::Uuid>> wanted;
  for (const auto& name : request.topic_names) wanted.emplace_back(name, p::Uuid{});
  for (const auto& topic : request.topics) wanted.emplace_back(topic.name, topic.topic_id);
  for (const auto& [name, id] : wanted) {
    p::DeleteTopicsResponse::DeletableTopicResult result;
    result.name = name;
    result.topic_id = id;
    if (Status controller = require_active_controller(); !controller) {
      result.error_code = to_wire(controller.error().code);
      result.error_message = controller.error().message;
      response.responses.push_back(std::move(result));
      continue;
    }
    std::string target;
    if (name) {
      target = *name;
    } else if (const auto* topic = controller_.image()->find(id)) {
      target = topic->name;
    } else {
      result.error_code = to_wire(ErrorCode::kUnknownTopicId);
      response.responses.push_back(std::move(result));
      continue;
    }
    if (target == kOffsetsTopic || target == kTransactionStateTopic) {
      // The groups' committed offsets (the transactions' states) live there;
      // deleting it would lose them all.
      result.error_code = to_wire(ErrorCode::kInvalidRequest);
      result.error_message = fmt::format("{} is internal and cannot be deleted", target);
      response.responses.push_back(std::move(result));
      continue;
    }
    auto deleted = co_await boost::asio::co_spawn(
        admin_calls_, admin::delete_topic(controller_, target), boost::asio::use_awaitable);
    if (!deleted) {
      result.error_code = to_wire(deleted.error().code);
      result.error_message = deleted.error().message;
    } else {
      result.name = target;
      result.topic_id = (*deleted)->id;
      co_await partitions_.remove_topic(*deleted);
    }
    response.responses.push_back(std::move(result));
  }
  co_return response;
}

boost::asio::awaitable<p::CreatePartitionsResponse> Broker::create_partitions(
    const RequestContext& context, p::CreatePartitionsRequest& request) {
  p::CreatePartitionsResponse response;
  for (const auto& topic : request.topics) {
    p::CreatePartitionsResponse::CreatePartitionsTopicResult result;
    result.name = topic.name;
    if (Status controller = require_active_controller(); !controller) {
      result.error_code = to_wire(controller.error().code);
      result.error_message = controller.error().message;
      response.results.push_back(std::move(result));
      continue;
    }
    if (topic.name == kOffsetsTopic || topic.name == kTransactionStateTopic) {
      // A group's (transactional id's) partition is its hash modulo the count:
      // changing the count would lose every group's offsets (id's state).
      result.error_code = to_wire(ErrorCode::kInvalidRequest);
      result.error_message =
          fmt::format("{} is internal; its partition count cannot change", topic.name);
      response.results.push_back(std::move(result));
      continue;
    }
    Status status = co_await boost::asio::co_spawn(
        admin_calls_,
        admin::create_partitions(controller_, topic.name, topic.count, request.validate_only),
        boost::asio::use_awaitable);
    if (status && !request.validate_only) {
      if (const auto* info = controller_.image()->find(topic.name)) {
        status = co_await partitions_.open_topic(controller_.image()->topics.at(info->name));
      }
    }
    if (!status) {
      result.error_code = to_wire(status.error().code);
      result.error_message = status.error().message;
    }
    response.results.push_back(std::move(result));
  }
  co_return response;
}

}  // namespace fjord::broker
