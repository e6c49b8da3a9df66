// The cluster keys of the server configuration: controller.quorum.voters
// ("1@host:port,2@host:port,...", Kafka's format) and the checks that tie them
// to node.id and the listeners once every setting is known.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "broker/node.h"
#include "common/result.h"

namespace fjord::cli {

// Parses Kafka's controller.quorum.voters value into voters sorted by id.
// Fails with kInvalidConfig and a message naming the bad entry: a missing '@',
// an id that is not an integer >= 0, a bad host:port, a repeated id or address.
Result<std::vector<broker::QuorumVoter>> parse_quorum_voters(std::string_view text);

// "1@127.0.0.1:19092,2@..." (the inverse of parse_quorum_voters).
std::string format_quorum_voters(const std::vector<broker::QuorumVoter>& voters);

// The checks across keys, once all are applied: node.id is among the voters (if
// any are given), the Raft listener does not collide with the Kafka listener, and
// broker.heartbeat.interval.ms < broker.session.timeout.ms. `voters_origin` says
// where controller.quorum.voters came from, for messages.
Status check_cluster_settings(const broker::NodeConfig& config, std::string_view voters_origin);

}  // namespace fjord::cli
