// ClusterMembership: what makes a node part of a cluster (controller.quorum.voters
// set): the metadata quorum whose committed log every node applies, the
// broker's registration and heartbeats with the active controller, and, while
// this node is the active controller, the fencing of brokers whose heartbeats
// stopped. node.cc assembles it; a single node has none of it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "broker/cluster_quorum.h"
#include "broker/node.h"
#include "cluster/broker_lifecycle.h"
#include "cluster/metadata_quorum.h"
#include "common/host_port.h"
#include "metadata/controller.h"
#include "metadata/state_machine.h"

namespace fjord::broker {

class PartitionReconciler;

class ClusterMembership {
 public:
  // Opens the metadata group's storage and starts its Raft runtime (the node
  // serves Kafka clients meanwhile; nothing waits for the quorum to form).
  static Result<std::unique_ptr<ClusterMembership>> join(const NodeConfig& config,
                                                         const metadata::ControllerOptions& options);
  ~ClusterMembership();
  ClusterMembership(const ClusterMembership&) = delete;
  ClusterMembership& operator=(const ClusterMembership&) = delete;

  // The Controller over the quorum: changes are proposed through the Raft
  // leader and are visible in image() once applied on this node.
  Result<std::unique_ptr<metadata::Controller>> make_controller(
      const metadata::ControllerOptions& options);

  cluster::MetadataQuorum& quorum() { return *quorum_; }
  // The quorum as the Kafka API sees it (Metadata's ControllerId, DescribeQuorum).
  Quorum& broker_quorum() { return *broker_quorum_; }
  bool caught_up() const { return quorum_->caught_up(); }
  // Where the active controller's Kafka listener is, if known.
  std::optional<HostPort> controller_endpoint() const;

  // Feeds new images to `reconciler`, registers this broker and heartbeats, and
  // runs the active controller's fencing duty.
  void start_broker(metadata::Controller& controller, PartitionReconciler& reconciler,
                    uint16_t advertised_port);
  // Controlled shutdown: the controller fences this broker at once.
  void stop_broker();
  void stop_quorum();

 private:
  explicit ClusterMembership(const NodeConfig& config);
  void controller_duties();

  NodeConfig config_;
  HostPort advertised_;
  std::unique_ptr<metadata::MetadataStateMachine> machine_;
  std::unique_ptr<cluster::MetadataQuorum> quorum_;
  std::unique_ptr<ClusterQuorum> broker_quorum_;
  std::unique_ptr<cluster::BrokerLifecycle> lifecycle_;
  metadata::Controller* controller_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread duties_;
};

}  // namespace fjord::broker
