// The requests of `fjord cluster`: Metadata for the brokers and the active
// controller, then DescribeQuorum, AddRaftVoter or RemoveRaftVoter sent to that
// controller (the quorum leader), over BrokerConnection (generated protocol
// code; librdkafka has no API for them). A NOT_LEADER_OR_FOLLOWER answer or an
// unreachable controller (leadership moving) is retried until --timeout-ms.
#pragma once

#include <cstdint>

#include "cli/cluster_report.h"
#include "cli/kafka_client.h"
#include "common/host_port.h"
#include "common/result.h"

namespace fjord::cli {

Result<ClusterDescription> describe_cluster(const ClientOptions& options);

// Adds node `node_id`, whose Raft transport listens on `raft_endpoint`, as a
// voter; returns once the quorum committed the change.
Status add_voter(const ClientOptions& options, int32_t node_id, const HostPort& raft_endpoint);

Status remove_voter(const ClientOptions& options, int32_t node_id);

}  // namespace fjord::cli
