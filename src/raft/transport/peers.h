// Where a peer node's Raft transport listens: one entry of
// `controller.quorum.voters` (parsed by the server configuration,
// src/cli/quorum_config.h, into broker::QuorumVoter).
#pragma once

#include <cstdint>
#include <string>

#include "raft/message.h"

namespace fjord::raft::transport {

struct PeerAddress {
  NodeId node = kNoNode;
  std::string host;
  uint16_t port = 0;
  bool operator==(const PeerAddress&) const = default;
};

}  // namespace fjord::raft::transport
