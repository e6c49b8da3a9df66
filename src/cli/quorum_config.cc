#include "cli/quorum_config.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "cli/server_config.h"

namespace fjord::cli {
namespace {

// Kafka's quorum sizes are small; a bound keeps a typo from building a huge list.
constexpr size_t kMaxVoters = 64;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

Error bad_entry(std::string_view entry, std::string_view why) {
  return Error{ErrorCode::kInvalidConfig,
               fmt::format("invalid controller.quorum.voters entry '{}': {} (expected "
                           "ID@HOST:PORT, e.g. 1@127.0.0.1:19092)",
                           entry, why)};
}

Result<broker::QuorumVoter> parse_voter(std::string_view entry) {
  const size_t at = entry.find('@');
  if (at == std::string_view::npos)
    return bad_entry(entry, "no '@' between the id and the address");
  const std::string_view id_text = entry.substr(0, at);
  int64_t id = -1;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (id_text.empty() || ec != std::errc() || end != id_text.data() + id_text.size() || id < 0 ||
      id > std::numeric_limits<int32_t>::max()) {
    return bad_entry(entry, "the id is not an integer from 0 to 2147483647");
  }
  auto address = parse_host_port(entry.substr(at + 1));
  if (!address.ok()) return bad_entry(entry, "the address is not HOST:PORT");
  if (address->port == 0) return bad_entry(entry, "port 0 cannot be reached by the other nodes");
  return broker::QuorumVoter{static_cast<int32_t>(id), address->host, address->port};
}

bool same_address(const broker::QuorumVoter& a, const broker::QuorumVoter& b) {
  return a.host == b.host && a.port == b.port;
}

// 0.0.0.0 and :: bind every interface, so they collide with any host.
bool hosts_overlap(std::string_view a, std::string_view b) {
  const auto any = [](std::string_view host) { return host == "0.0.0.0" || host == "::"; };
  return a == b || any(a) || any(b);
}

}  // namespace

Result<std::vector<broker::QuorumVoter>> parse_quorum_voters(std::string_view text) {
  std::vector<broker::QuorumVoter> voters;
  text = trim(text);
  if (text.empty()) return voters;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view entry = trim(text.substr(0, comma));
    if (entry.empty()) return bad_entry(entry, "an empty entry (two commas, or a trailing one)");
    auto voter = parse_voter(entry);
    if (!voter.ok()) return voter.error();
    for (const broker::QuorumVoter& earlier : voters) {
      if (earlier.id == voter->id) {
        return bad_entry(entry, fmt::format("node id {} is listed twice", voter->id));
      }
      if (same_address(earlier, *voter)) {
        return bad_entry(
            entry, fmt::format("nodes {} and {} have the same address", earlier.id, voter->id));
      }
    }
    if (voters.size() == kMaxVoters) {
      return bad_entry(entry, fmt::format("more than {} voters", kMaxVoters));
    }
    voters.push_back(std::move(*voter));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  std::sort(voters.begin(), voters.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return voters;
}

std::string format_quorum_voters(const std::vector<broker::QuorumVoter>& voters) {
  std::string text;
  for (const broker::QuorumVoter& voter : voters) {
    if (!text.empty()) text += ',';
    const bool v6 = voter.host.find(':') != std::string::npos;
    text += v6 ? fmt::format("{}@[{}]:{}", voter.id, voter.host, voter.port)
               : fmt::format("{}@{}:{}", voter.id, voter.host, voter.port);
  }
  return text;
}

Status check_cluster_settings(const broker::NodeConfig& config, std::string_view voters_origin) {
  if (config.broker_heartbeat_interval_ms >= config.broker_session_timeout_ms) {
    return Error{
        ErrorCode::kInvalidConfig,
        fmt::format("broker.heartbeat.interval.ms ({}) must be less than "
                    "broker.session.timeout.ms ({}), or every broker is fenced between "
                    "two heartbeats",
                    config.broker_heartbeat_interval_ms, config.broker_session_timeout_ms)};
  }
  if (config.quorum_voters.empty()) return {};
  const broker::QuorumVoter* self = config.own_voter();
  if (self == nullptr && !config.controller_listener) {
    return Error{
        ErrorCode::kInvalidConfig,
        fmt::format("node.id {} is not among controller.quorum.voters '{}' ({}): give "
                    "this node one of the ids, or, to add it to the running cluster, "
                    "give it a Raft address with listeners=PLAINTEXT://HOST:PORT,"
                    "CONTROLLER://HOST:PORT and then run fjord cluster add-voter",
                    config.node_id, format_quorum_voters(config.quorum_voters), voters_origin)};
  }
  if (self == nullptr) {
    const HostPort& listener = *config.controller_listener;
    if (listener.port == 0) {
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("node {}'s controller listener needs a fixed port, not 0: the "
                               "voters reach it at the address given to fjord cluster add-voter",
                               config.node_id)};
    }
    for (const broker::QuorumVoter& voter : config.quorum_voters) {
      if (voter.port == listener.port && hosts_overlap(voter.host, listener.host)) {
        return Error{
            ErrorCode::kInvalidConfig,
            fmt::format("node {}'s controller listener {}:{} is voter {}'s address in "
                        "controller.quorum.voters ({})",
                        config.node_id, listener.host, listener.port, voter.id, voters_origin)};
      }
    }
    if (listener.port == config.listen_port && hosts_overlap(listener.host, config.listen_host)) {
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("node {}'s controller listener {}:{} is also its Kafka listener",
                               config.node_id, listener.host, listener.port)};
    }
    return {};
  }
  if (self->port == config.listen_port && hosts_overlap(self->host, config.listen_host)) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("node {}'s controller.quorum.voters address {}:{} ({}) is also its "
                             "Kafka listener: give the Raft transport its own port",
                             config.node_id, self->host, self->port, voters_origin)};
  }
  return {};
}

}  // namespace fjord::cli
