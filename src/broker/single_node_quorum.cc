#include <fmt/core.h>

#include "broker/broker.h"
#include "broker/quorum.h"

namespace fjord::broker {

SingleNodeQuorum::SingleNodeQuorum(int32_t node_id, std::optional<HostPort> endpoint,
                                   std::function<int64_t()> log_end_offset)
    : node_id_(node_id),
      endpoint_(std::move(endpoint)),
      log_end_offset_(std::move(log_end_offset)) {}

Result<QuorumStatus> SingleNodeQuorum::describe() const {
  QuorumStatus status;
  status.leader_id = node_id_;
  status.leader_epoch = 0;
  // Every record of the local log is fsynced before it is applied: all committed.
  status.high_watermark = log_end_offset_();
  QuorumReplicaStatus self;
  self.id = node_id_;
  self.log_end_offset = status.high_watermark;
  self.last_caught_up_timestamp_ms = wall_clock_ms();
  status.voters.push_back(self);
  if (endpoint_) status.endpoints.push_back(QuorumEndpoint{node_id_, *endpoint_});
  return status;
}

Status SingleNodeQuorum::add_voter(int32_t id, const HostPort&) {
  if (id == node_id_) {
    return Error{ErrorCode::kDuplicateVoter,
                 fmt::format("node {} is already a voter (the only one)", id)};
  }
  return Error{ErrorCode::kUnsupportedVersion,
               fmt::format("node {} is a single-node metadata quorum, whose voters cannot "
                           "change (the nodes of a cluster are started with "
                           "controller.quorum.voters)",
                           node_id_)};
}

Status SingleNodeQuorum::remove_voter(int32_t id) {
  if (id != node_id_) {
    return Error{ErrorCode::kVoterNotFound,
                 fmt::format("node {} is not a voter; the only voter is node {}", id, node_id_)};
  }
  return Error{ErrorCode::kInvalidRequest,
               fmt::format("node {} is the only voter: a quorum cannot remove its last voter", id)};
}

std::unique_ptr<SingleNodeQuorum> make_single_node_quorum(const NodeConfig& config,
                                                          const metadata::Controller& controller) {
  const QuorumVoter* self = config.own_voter();
  std::optional<HostPort> endpoint;
  if (self != nullptr) endpoint = HostPort{self->host, self->port};
  return std::make_unique<SingleNodeQuorum>(config.node_id, endpoint, [&controller] {
    return controller.image()->last_applied_offset + 1;
  });
}

}  // namespace fjord::broker
