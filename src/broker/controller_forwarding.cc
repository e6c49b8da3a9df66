// What a cluster node that is not the active controller sends it: topic
// creations it needs itself (auto-created topics, the internal topics of the
// coordinators) and requests for blocks of producer ids (AllocateProducerIds),
// which the controller serves here too. Clients' own admin requests are not forwarded: they go to
// the ControllerId of the Metadata response and retry on NOT_CONTROLLER.
#include <fmt/core.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "broker/broker.h"
#include "client/broker_connection.h"
#include "protocol/generated/allocate_producer_ids_request.h"
#include "protocol/generated/allocate_producer_ids_response.h"
#include "protocol/generated/create_topics_request.h"
#include "protocol/generated/create_topics_response.h"

namespace fjord::broker {
namespace {

namespace p = protocol;

constexpr int kForwardTimeoutMs = 10000;
constexpr int16_t kCreateTopicsVersion = 5;

Status create_on(const HostPort& controller, const p::CreateTopicsRequest& request) {
  auto connection = client::BrokerConnection::open(
      fmt::format("{}:{}", controller.host, controller.port), kForwardTimeoutMs);
  if (!connection) return Error{ErrorCode::kNotController, connection.error().message};
  auto response =
      (*connection)
          ->call_at<p::CreateTopicsResponse>(request, kCreateTopicsVersion, "CreateTopics");
  if (!response) return Error{ErrorCode::kNotController, response.error().message};
  if (response->topics.empty()) return Error{ErrorCode::kUnknownServerError, "empty answer"};
  const auto& result = response->topics.front();
  if (result.error_code == 0) return {};
  return Error{static_cast<ErrorCode>(result.error_code), result.error_message.value_or("")};
}

// Runs on the blocking pool; its arguments live in the suspended caller's frame
// (a lambda with captures here would be hit by g++ 12's coroutine bugs).
boost::asio::awaitable<Status> create_on_pool(const HostPort& controller,
                                              const p::CreateTopicsRequest& request) {
  co_return create_on(controller, request);
}

// Blocks its pool thread for one metadata commit.
boost::asio::awaitable<Result<int64_t>> allocate_on_pool(metadata::Controller& controller,
                                                         int32_t count) {
  co_return controller.allocate_producer_ids(count, wall_clock_ms());
}

}  // namespace

std::optional<HostPort> Broker::controller_endpoint() const {
  const int32_t id = quorum_.controller_id();
  if (id < 0) return std::nullopt;
  if (id == config_.node_id) return HostPort{advertised_host_, advertised_port_};
  const auto image = controller_.image();
  auto broker = image->brokers.find(id);
  if (broker == image->brokers.end() || broker->second.endpoints.empty()) return std::nullopt;
  const auto& endpoint = broker->second.endpoints.front();
  return HostPort{endpoint.host, endpoint.port};
}

boost::asio::awaitable<Status> Broker::forward_create_topic(const std::string& name,
                                                            int32_t partitions,
                                                            int16_t replication_factor,
                                                            const metadata::ConfigMap& configs) {
  const std::optional<HostPort> controller = controller_endpoint();
  if (!controller) {
    co_return Status{ErrorCode::kNotController, "there is no active controller yet"};
  }
  p::CreateTopicsRequest request;
  request.timeout_ms = kForwardTimeoutMs;
  p::CreateTopicsRequest::CreatableTopic topic;
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = replication_factor;
  for (const auto& [key, value] : configs) {
    p::CreateTopicsRequest::CreatableTopicConfig config;
    config.name = key;
    config.value = value;
    topic.configs.push_back(std::move(config));
  }
  request.topics.push_back(std::move(topic));
  const HostPort target = *controller;
  Status result = co_await boost::asio::co_spawn(quorum_calls_, create_on_pool(target, request),
                                                 boost::asio::use_awaitable);
  co_return result;
}

Result<int64_t> Broker::allocate_producer_ids_at_controller(int32_t count) {
  const std::optional<HostPort> controller = controller_endpoint();
  if (!controller) {
    return Error{ErrorCode::kCoordinatorNotAvailable, "there is no active controller yet"};
  }
  auto connection = client::BrokerConnection::open(
      fmt::format("{}:{}", controller->host, controller->port), kForwardTimeoutMs);
  if (!connection) return Error{ErrorCode::kCoordinatorNotAvailable, connection.error().message};
  p::AllocateProducerIdsRequest request;
  request.broker_id = config_.node_id;
  request.broker_epoch = -1;  // not checked: any live node may take a block
  auto response =
      (*connection)->call<p::AllocateProducerIdsResponse>(request, "AllocateProducerIds");
  if (!response) return Error{ErrorCode::kCoordinatorNotAvailable, response.error().message};
  if (response->error_code != 0) {
    return Error{static_cast<ErrorCode>(response->error_code),
                 "the controller refused a block of producer ids"};
  }
  if (response->producer_id_len < count) {
    return Error{ErrorCode::kUnknownServerError,
                 fmt::format("the controller gave {} producer ids, not {}",
                             response->producer_id_len, count)};
  }
  return response->producer_id_start;
}

// The active controller hands out a block of producer ids, durably (a
// ProducerIdsRecord), to a node that asks.
boost::asio::awaitable<p::AllocateProducerIdsResponse> Broker::allocate_producer_ids(
    const RequestContext&, p::AllocateProducerIdsRequest&) {
  p::AllocateProducerIdsResponse response;
  if (!quorum_.is_active_controller()) {
    response.error_code = to_wire(ErrorCode::kNotController);
    co_return response;
  }
  auto first = co_await boost::asio::co_spawn(
      quorum_calls_, allocate_on_pool(controller_, ProducerIdSource::kBlockSize),
      boost::asio::use_awaitable);
  if (!first) {
    response.error_code = to_wire(first.code());
    co_return response;
  }
  response.producer_id_start = *first;
  response.producer_id_len = ProducerIdSource::kBlockSize;
  co_return response;
}

}  // namespace fjord::broker
