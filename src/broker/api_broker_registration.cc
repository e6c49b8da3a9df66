// BrokerRegistration and BrokerHeartbeat: the nodes of a cluster register with
// the active controller and heartbeat (cluster/broker_lifecycle.h is the other
// side). Only the active controller answers them; the others say
// NOT_CONTROLLER, as Kafka's controllers do.
#include <fmt/core.h>

#include "broker/broker.h"
#include "protocol/generated/broker_heartbeat_request.h"
#include "protocol/generated/broker_heartbeat_response.h"
#include "protocol/generated/broker_registration_request.h"
#include "protocol/generated/broker_registration_response.h"

namespace fjord::broker {

namespace p = protocol;

boost::asio::awaitable<p::BrokerRegistrationResponse> Broker::broker_registration(
    const RequestContext& /*context*/, p::BrokerRegistrationRequest& request) {
  p::BrokerRegistrationResponse response;
  if (!quorum_.is_active_controller()) {
    response.error_code = to_wire(ErrorCode::kNotController);
    co_return response;
  }
  if (request.cluster_id != controller_.image()->cluster_id) {
    response.error_code = to_wire(ErrorCode::kInconsistentClusterId);
    co_return response;
  }
  std::vector<metadata::BrokerEndpoint> endpoints;
  for (const auto& listener : request.listeners) {
    endpoints.push_back({listener.name, listener.host, listener.port});
  }
  auto epoch = controller_.register_broker(request.broker_id, request.incarnation_id,
                                           std::move(endpoints), request.rack, wall_clock_ms());
  if (!epoch) {
    response.error_code = to_wire(epoch.code());
    co_return response;
  }
  response.broker_epoch = *epoch;
  co_return response;
}

boost::asio::awaitable<p::BrokerHeartbeatResponse> Broker::broker_heartbeat(
    const RequestContext& /*context*/, p::BrokerHeartbeatRequest& request) {
  p::BrokerHeartbeatResponse response;
  if (!quorum_.is_active_controller()) {
    response.error_code = to_wire(ErrorCode::kNotController);
    co_return response;
  }
  auto result = controller_.broker_heartbeat(request.broker_id, request.broker_epoch,
                                             request.want_fence, request.want_shut_down,
                                             wall_clock_ms());
  if (!result) {
    response.error_code = to_wire(result.code());
    co_return response;
  }
  response.is_caught_up = true;
  response.is_fenced = result->fenced;
  response.should_shut_down = result->should_shut_down;
  co_return response;
}

}  // namespace fjord::broker
