#include "raft/transport/peers.h"

#include <charconv>
#include <set>

#include "common/host_port.h"

namespace fjord::raft::transport {
namespace {

Error bad_entry(std::string_view entry, std::string_view why) {
  return Error{ErrorCode::kInvalidConfig, "controller.quorum.voters: entry '" + std::string(entry) +
                                              "' " + std::string(why) + " (expected id@host:port)"};
}

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc{} && end == text.data() + text.size();
}

Result<PeerAddress> parse_entry(std::string_view entry) {
  const size_t at = entry.find('@');
  if (at == std::string_view::npos) return bad_entry(entry, "has no '@'");
  PeerAddress address;
  if (!parse_int(entry.substr(0, at), address.node) || address.node < 0) {
    return bad_entry(entry, "has no valid node id");
  }
  auto host_port = parse_host_port(entry.substr(at + 1));
  if (!host_port.ok()) return bad_entry(entry, "has no valid host:port");
  if (host_port->port == 0) return bad_entry(entry, "has port 0");
  address.host = std::move(host_port->host);
  address.port = host_port->port;
  return address;
}

}  // namespace

Result<std::vector<PeerAddress>> parse_quorum_voters(std::string_view text) {
  std::vector<PeerAddress> peers;
  std::set<NodeId> seen;
  if (text.empty()) return Error{ErrorCode::kInvalidConfig, "controller.quorum.voters is empty"};
  bool more = true;
  while (more) {
    const size_t comma = text.find(',');
    std::string_view entry = text.substr(0, comma);
    more = comma != std::string_view::npos;
    text = more ? text.substr(comma + 1) : std::string_view{};
    auto peer = parse_entry(entry);
    if (!peer.ok()) return peer.error();
    if (!seen.insert(peer->node).second) return bad_entry(entry, "repeats a node id");
    peers.push_back(std::move(peer).value());
  }
  return peers;
}

}  // namespace fjord::raft::transport
