#include "cluster/broker_lifecycle.h"

#include <fmt/core.h>
#include <openssl/rand.h>

#include <chrono>

#include "client/broker_connection.h"
#include "protocol/generated/broker_heartbeat_request.h"
#include "protocol/generated/broker_heartbeat_response.h"
#include "protocol/generated/broker_registration_request.h"
#include "protocol/generated/broker_registration_response.h"

namespace fjord::cluster {
namespace {

namespace p = protocol;

// Versions every Fjord node speaks; the controller is a Fjord node too, so the
// ApiVersions negotiation is skipped (these APIs are not advertised to clients).
constexpr int16_t kRegistrationVersion = 0;
constexpr int16_t kHeartbeatVersion = 0;
// After a failed attempt (no controller yet, connection refused), retry soon:
// registration is what makes this broker appear in the cluster.
constexpr int64_t kRetryBackoffMs = 200;
constexpr int16_t kNotControllerWire = 41;

protocol::Uuid random_incarnation() {
  protocol::Uuid id;
  RAND_bytes(reinterpret_cast<unsigned char*>(&id.hi), sizeof(id.hi));
  RAND_bytes(reinterpret_cast<unsigned char*>(&id.lo), sizeof(id.lo));
  return id;
}

std::string address_of(const HostPort& endpoint) {
  return fmt::format("{}:{}", endpoint.host, endpoint.port);
}

}  // namespace

BrokerLifecycle::BrokerLifecycle(BrokerLifecycleOptions options)
    : options_(std::move(options)), incarnation_id_(random_incarnation()) {}

BrokerLifecycle::~BrokerLifecycle() { stop(); }

void BrokerLifecycle::start() { thread_ = std::thread([this] { run(); }); }

void BrokerLifecycle::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !thread_.joinable()) {
      stopping_ = true;
      return;
    }
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool BrokerLifecycle::wait(int64_t wait_ms) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_; });
  return !stopping_;
}

void BrokerLifecycle::run() {
  for (;;) {
    const bool registered = broker_epoch_.load() >= 0;
    const std::optional<HostPort> controller = options_.controller_endpoint();
    bool ok = false;
    if (controller) {
      ok = registered ? heartbeat(*controller, false) : register_broker(*controller);
    }
    const bool stay_fast = !ok || broker_epoch_.load() < 0 || fenced_.load();
    if (!wait(stay_fast ? kRetryBackoffMs : options_.heartbeat_interval_ms)) break;
  }
  // Controlled shutdown: the controller fences this broker at once instead of
  // after the session timeout, so clients move on sooner.
  if (broker_epoch_.load() >= 0) {
    if (auto controller = options_.controller_endpoint()) heartbeat(*controller, true);
  }
}

client::BrokerConnection* BrokerLifecycle::connection_to(const HostPort& controller) {
  const std::string address = address_of(controller);
  if (connection_ == nullptr || connection_->address() != address) {
    connection_.reset();
    auto opened = client::BrokerConnection::open(address, options_.request_timeout_ms);
    if (!opened.ok()) return nullptr;
    connection_ = std::move(*opened);
  }
  return connection_.get();
}

bool BrokerLifecycle::register_broker(const HostPort& controller) {
  client::BrokerConnection* connection = connection_to(controller);
  if (connection == nullptr) return false;
  p::BrokerRegistrationRequest request;
  request.broker_id = options_.node_id;
  request.cluster_id = options_.cluster_id;
  request.incarnation_id = incarnation_id_;
  p::BrokerRegistrationRequest::Listener listener;
  listener.name = "PLAINTEXT";
  listener.host = options_.advertised.host;
  listener.port = options_.advertised.port;
  listener.security_protocol = 0;  // PLAINTEXT
  request.listeners.push_back(listener);
  auto response = connection->call_at<p::BrokerRegistrationResponse>(
      request, kRegistrationVersion, "BrokerRegistration");
  if (!response.ok()) connection_.reset();  // a broken connection is not reused
  if (!response.ok() || response->error_code != 0) return false;
  broker_epoch_.store(response->broker_epoch);
  fenced_.store(true);  // unfenced by the first heartbeat that asks for it
  return true;
}

bool BrokerLifecycle::heartbeat(const HostPort& controller, bool shutting_down) {
  client::BrokerConnection* connection = connection_to(controller);
  if (connection == nullptr) return false;
  p::BrokerHeartbeatRequest request;
  request.broker_id = options_.node_id;
  request.broker_epoch = broker_epoch_.load();
  request.current_metadata_offset = options_.applied_metadata_offset();
  request.want_fence = false;
  request.want_shut_down = shutting_down;
  auto response = connection->call_at<p::BrokerHeartbeatResponse>(request, kHeartbeatVersion,
                                                                  "BrokerHeartbeat");
  if (!response.ok()) {
    connection_.reset();
    return false;
  }
  if (response->error_code == kNotControllerWire) return false;  // the leader moved: ask again
  if (response->error_code != 0) {
    // A new controller without our registration, a stale epoch after this
    // broker was unregistered: register again (a new epoch).
    broker_epoch_.store(-1);
    fenced_.store(true);
    return false;
  }
  fenced_.store(response->is_fenced);
  return true;
}

}  // namespace fjord::cluster
