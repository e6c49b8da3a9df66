// What `fjord cluster status` makes of the answers to Metadata and
// DescribeQuorum, and how it prints them. No I/O, so it is fuzzed
// (fuzz_cli_responses) and unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/generated/describe_quorum_response.h"
#include "protocol/generated/metadata_response.h"

namespace fjord::cli {

struct QuorumMember {
  int32_t node_id = -1;
  bool voter = true;            // false: an observer (a learner)
  int64_t log_end_offset = -1;  // -1: unknown
  int64_t last_fetch_ms = -1;   // wall clock; -1: unknown (or the leader itself)
  int64_t last_caught_up_ms = -1;
  std::string raft_address;  // where its Raft transport listens; empty: unknown
};

struct QuorumDescription {
  int32_t leader_id = -1;
  int32_t leader_epoch = -1;
  int64_t high_watermark = -1;
  std::vector<QuorumMember> members;  // voters by id, then observers by id
};

struct BrokerDescription {
  int32_t node_id = -1;
  std::string address;  // host:port of its Kafka listener
  std::string rack;     // empty: none
};

struct ClusterDescription {
  std::string cluster_id;
  int32_t controller_id = -1;
  std::vector<BrokerDescription> brokers;  // by id
  QuorumDescription quorum;
};

// The brokers, controller and cluster id of a Metadata response.
ClusterDescription cluster_of(const protocol::MetadataResponse& response);

// The quorum of a DescribeQuorum response for __cluster_metadata-0. Fails with
// the answer's error code (top level or partition) and its message, or
// kUnknownServerError when the partition is missing.
Result<QuorumDescription> quorum_of(const protocol::DescribeQuorumResponse& response);

// How far `member` is behind the leader's log end (the high watermark when the
// leader's own end is not known); -1 when its end is unknown.
int64_t lag_of(const QuorumDescription& quorum, const QuorumMember& member);

// The table `fjord cluster status` prints; times are relative to now_ms.
std::string format_cluster_status(const ClusterDescription& cluster, int64_t now_ms);

// The same as one JSON object (--output json); times are absolute (ms since
// the epoch, -1 unknown) so scripts can compute their own ages.
std::string format_cluster_status_json(const ClusterDescription& cluster);

}  // namespace fjord::cli
