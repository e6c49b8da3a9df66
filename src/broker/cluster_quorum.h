// ClusterQuorum: the broker's view of the metadata quorum on a node of a
// cluster, over cluster::MetadataQuorum (the metadata log as a Raft group).
#pragma once

#include <cstdint>

#include "broker/quorum.h"
#include "cluster/metadata_quorum.h"

namespace fjord::broker {

class ClusterQuorum final : public Quorum {
 public:
  ClusterQuorum(int32_t node_id, cluster::MetadataQuorum& quorum);

  int32_t controller_id() const override { return quorum_.state().leader_id; }
  bool is_active_controller() const override { return quorum_.is_active_controller(); }
  Result<QuorumStatus> describe() const override;
  Status add_voter(int32_t id, const HostPort& endpoint) override;
  Status remove_voter(int32_t id) override;

 private:
  int32_t node_id_;
  cluster::MetadataQuorum& quorum_;
};

}  // namespace fjord::broker
