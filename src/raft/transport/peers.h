// The addresses of a quorum's nodes, from Kafka's `controller.quorum.voters`
// syntax: `1@127.0.0.1:9192,2@127.0.0.1:9193,3@[::1]:9194`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "raft/message.h"

namespace fjord::raft::transport {

struct PeerAddress {
  NodeId node = kNoNode;
  std::string host;
  uint16_t port = 0;
  bool operator==(const PeerAddress&) const = default;
};

// Ids >= 0, unique; ports 1-65535; an IPv6 host in brackets. kInvalidConfig
// with a message naming the bad entry otherwise.
Result<std::vector<PeerAddress>> parse_quorum_voters(std::string_view text);

}  // namespace fjord::raft::transport
