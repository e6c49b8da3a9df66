// BrokerLifecycle: this node's registration with the active controller and its
// heartbeats, as a KRaft broker does (BrokerRegistration, then BrokerHeartbeat
// every broker.heartbeat.interval.ms). The controller fences a broker whose
// heartbeats stop for broker.session.timeout.ms; its partitions are then
// reported leaderless until it heartbeats again. Runs on its own thread with a
// blocking client: a slow or dead controller never stalls a shard.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "client/broker_connection.h"
#include "common/host_port.h"
#include "protocol/wire.h"

namespace fjord::cluster {

struct BrokerLifecycleOptions {
  int32_t node_id = -1;
  std::string cluster_id;
  HostPort advertised;  // this node's Kafka listener, as clients should reach it
  int64_t heartbeat_interval_ms = 2000;
  int request_timeout_ms = 2000;
  // The Kafka listener of the active controller, when known (the quorum knows
  // the leader; the metadata image knows where registered brokers listen).
  std::function<std::optional<HostPort>()> controller_endpoint;
  // The metadata offset this node has applied (reported in heartbeats).
  std::function<int64_t()> applied_metadata_offset;
};

class BrokerLifecycle {
 public:
  explicit BrokerLifecycle(BrokerLifecycleOptions options);
  ~BrokerLifecycle();
  BrokerLifecycle(const BrokerLifecycle&) = delete;
  BrokerLifecycle& operator=(const BrokerLifecycle&) = delete;

  void start();
  // Tells the controller this broker is going away (a heartbeat with
  // want_shut_down, best effort), then stops the thread.
  void stop();

  int64_t broker_epoch() const { return broker_epoch_.load(); }
  bool fenced() const { return fenced_.load(); }

 private:
  void run();
  bool register_broker(const HostPort& controller);
  // The cached connection to `controller`, opened (again) if needed; nullptr if
  // it cannot be reached.
  client::BrokerConnection* connection_to(const HostPort& controller);
  bool heartbeat(const HostPort& controller, bool shutting_down);
  // Sleeps for `wait_ms` or until stop(); returns false when stopping.
  bool wait(int64_t wait_ms);

  BrokerLifecycleOptions options_;
  protocol::Uuid incarnation_id_;
  std::atomic<int64_t> broker_epoch_{-1};
  std::atomic<bool> fenced_{true};
  std::unique_ptr<client::BrokerConnection> connection_;  // the lifecycle thread's only
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace fjord::cluster
