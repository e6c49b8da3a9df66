#include "broker/cluster_membership.h"

#include <fmt/core.h>
#include <openssl/sha.h>

#include <algorithm>
#include <chrono>

#include "broker/broker.h"
#include "broker/partition_reconciler.h"

namespace fjord::broker {
namespace {

// How often the active controller looks for brokers whose session expired.
constexpr auto kFencingCheckInterval = std::chrono::milliseconds(250);

// Without cluster.id, every node derives the same id from the voters, so a
// cluster started from one voters setting needs no formatting step.
std::string cluster_id_for(const NodeConfig& config) {
  if (!config.cluster_id.empty()) return config.cluster_id;
  std::string voters;
  for (const QuorumVoter& voter : config.quorum_voters) {
    voters += fmt::format("{}@{}:{},", voter.id, voter.host, voter.port);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(voters.data()), voters.size(), digest);
  protocol::Uuid id;
  for (int i = 0; i < 8; ++i) {
    id.hi = (id.hi << 8) | digest[i];
    id.lo = (id.lo << 8) | digest[8 + i];
  }
  return id.to_string();
}

}  // namespace

ClusterMembership::ClusterMembership(const NodeConfig& config) : config_(config) {}

ClusterMembership::~ClusterMembership() {
  stop_broker();
  stop_quorum();
}

Result<std::unique_ptr<ClusterMembership>> ClusterMembership::join(
    const NodeConfig& config, const metadata::ControllerOptions& /*options*/) {
  std::unique_ptr<ClusterMembership> membership(new ClusterMembership(config));
  auto initial = std::make_shared<metadata::MetadataImage>();
  initial->cluster_id = cluster_id_for(config);
  membership->machine_ = std::make_unique<metadata::MetadataStateMachine>(initial);

  cluster::MetadataQuorumOptions quorum;
  quorum.node_id = config.node_id;
  for (const QuorumVoter& voter : config.quorum_voters) {
    quorum.voters.push_back({voter.id, HostPort{voter.host, voter.port}});
  }
  quorum.listener = *config.raft_address();  // checked by check_cluster_settings
  quorum.data_dir = config.data_dir;
  quorum.cluster_id = initial->cluster_id;
  quorum.election_timeout_ms = config.quorum_election_timeout_ms;
  quorum.snapshot_after_bytes = config.metadata_snapshot_after_bytes;
  auto started = cluster::MetadataQuorum::start(quorum, *membership->machine_);
  if (!started) return started.error();
  membership->quorum_ = std::move(*started);
  membership->broker_quorum_ =
      std::make_unique<ClusterQuorum>(config.node_id, *membership->quorum_);
  return membership;
}

Result<std::unique_ptr<metadata::Controller>> ClusterMembership::make_controller(
    const metadata::ControllerOptions& options) {
  metadata::ControllerOptions cluster_options = options;
  cluster_options.cluster_id = machine_->image()->cluster_id;
  return metadata::Controller::create(cluster_options, *machine_, *quorum_);
}

std::optional<HostPort> ClusterMembership::controller_endpoint() const {
  const int32_t leader = quorum_->state().leader_id;
  if (leader < 0) return std::nullopt;
  if (leader == config_.node_id) return advertised_;
  const auto image = machine_->image();
  auto broker = image->brokers.find(leader);
  if (broker == image->brokers.end() || broker->second.endpoints.empty()) return std::nullopt;
  const auto& endpoint = broker->second.endpoints.front();
  return HostPort{endpoint.host, endpoint.port};
}

void ClusterMembership::start_broker(metadata::Controller& controller,
                                     PartitionReconciler& reconciler, uint16_t advertised_port) {
  controller_ = &controller;
  advertised_ =
      HostPort{config_.advertised_host.empty() ? config_.listen_host : config_.advertised_host,
               advertised_port};
  metadata::MetadataStateMachine* machine = machine_.get();
  quorum_->set_listener([machine, &reconciler] { reconciler.image_changed(machine->image()); });
  reconciler.start(machine->image());

  cluster::BrokerLifecycleOptions lifecycle;
  lifecycle.node_id = config_.node_id;
  lifecycle.cluster_id = machine->image()->cluster_id;
  lifecycle.advertised = advertised_;
  lifecycle.heartbeat_interval_ms = config_.broker_heartbeat_interval_ms;
  lifecycle.controller_endpoint = [this] { return controller_endpoint(); };
  lifecycle.applied_metadata_offset = [machine] { return machine->applied_offset(); };
  lifecycle_ = std::make_unique<cluster::BrokerLifecycle>(lifecycle);
  lifecycle_->start();
  duties_ = std::thread([this] { controller_duties(); });
}

// While active: brokers whose last heartbeat is older than the session timeout
// are fenced. Heartbeat times live in the active controller's memory (as in
// Kafka), so a new controller starts every session afresh.
void ClusterMembership::controller_duties() {
  bool was_active = false;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, kFencingCheckInterval, [this] { return stopping_; })) {
    lock.unlock();
    const bool active = quorum_->is_active_controller();
    const int64_t now_ms = wall_clock_ms();
    if (active && !was_active) controller_->reset_heartbeats(now_ms);
    if (active) {
      Status fenced = controller_->fence_expired_brokers(now_ms, config_.broker_session_timeout_ms);
      if (!fenced && fenced.code() != ErrorCode::kNotController) {
        fmt::print(stderr, "fjord: fencing expired brokers: {}\n", fenced.error().message);
      }
    }
    was_active = active;
    lock.lock();
  }
}

void ClusterMembership::stop_broker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (duties_.joinable()) duties_.join();
  if (lifecycle_) lifecycle_->stop();
}

void ClusterMembership::stop_quorum() {
  if (quorum_) quorum_->stop();
}

}  // namespace fjord::broker
