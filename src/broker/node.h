// A Fjord node: storage, metadata, the Kafka API and the network, assembled.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/host_port.h"
#include "groups/group.h"

namespace fjord::broker {

// One entry of controller.quorum.voters ("id@host:port"): a node of the metadata
// quorum and where its Raft transport listens.
struct QuorumVoter {
  int32_t id = -1;
  std::string host;
  uint16_t port = 0;
  bool operator==(const QuorumVoter&) const = default;
};

// Node settings. Keys follow Kafka's names (docs/configuration.md); `topic_defaults`
// holds topic-level defaults by their Kafka key (e.g. "retention.ms" -> "604800000"),
// taken from the broker keys log.retention.ms, log.segment.bytes, ... .
struct NodeConfig {
  int32_t node_id = 1;                    // node.id
  std::string data_dir = "./data";        // log.dirs
  std::string listen_host = "127.0.0.1";  // listeners
  uint16_t listen_port = 9092;
  std::string advertised_host;             // advertised.listeners; empty: listen_host
  uint16_t advertised_port = 0;            // advertised.listeners; 0: the port the listener bound
  unsigned shards = 0;                     // 0: one per core
  bool auto_create_topics = true;          // auto.create.topics.enable
  int32_t num_partitions = 1;              // num.partitions
  int32_t default_replication_factor = 1;  // default.replication.factor
  int64_t max_request_bytes = 104857600;   // socket.request.max.bytes
  // metadata.log.max.record.bytes.between.snapshots
  int64_t metadata_snapshot_after_bytes = 20 << 20;
  int64_t connections_max_idle_ms = 600000;          // connections.max.idle.ms
  int64_t log_retention_check_interval_ms = 300000;  // log.retention.check.interval.ms
  int64_t log_cleaner_backoff_ms = 15000;  // log.cleaner.backoff.ms: compaction check interval
  std::map<std::string, std::string> topic_defaults;
  // group.initial.rebalance.delay.ms, group.{min,max}.session.timeout.ms,
  // group.max.size, offset.metadata.max.bytes, offsets.retention.minutes.
  groups::GroupLimits group_limits;
  int32_t offsets_topic_partitions = 50;                 // offsets.topic.num.partitions
  int32_t offsets_topic_segment_bytes = 104857600;       // offsets.topic.segment.bytes
  int64_t offsets_retention_check_interval_ms = 600000;  // offsets.retention.check.interval.ms
  int64_t producer_id_expiration_ms = 86400000;          // producer.id.expiration.ms
  int32_t transaction_max_timeout_ms = 900000;           // transaction.max.timeout.ms
  int64_t transactional_id_expiration_ms = 604800000;    // transactional.id.expiration.ms
  // transaction.abort.timed.out.transaction.cleanup.interval.ms
  int64_t transaction_abort_check_interval_ms = 10000;
  // transaction.remove.expired.transaction.cleanup.interval.ms
  int64_t transaction_expiry_check_interval_ms = 3600000;
  int32_t transaction_state_partitions = 50;            // transaction.state.log.num.partitions
  int32_t transaction_state_segment_bytes = 104857600;  // transaction.state.log.segment.bytes
  std::string cluster_id;  // empty: generated on first start, then stored

  // controller.quorum.voters, sorted by id; empty: a single node that is its own
  // quorum. When set, this node's entry (if any) is where its Raft transport
  // listens; a node not among them joins a running cluster and listens on its
  // CONTROLLER listener (listeners=...,CONTROLLER://host:port).
  std::vector<QuorumVoter> quorum_voters;
  std::optional<HostPort> controller_listener;
  int32_t quorum_election_timeout_ms = 1000;    // controller.quorum.election.timeout.ms
  int32_t quorum_request_timeout_ms = 2000;     // controller.quorum.request.timeout.ms
  int32_t broker_heartbeat_interval_ms = 2000;  // broker.heartbeat.interval.ms
  int32_t broker_session_timeout_ms = 9000;     // broker.session.timeout.ms

  // This node's entry of quorum_voters, or nullptr (no voters configured).
  const QuorumVoter* own_voter() const {
    for (const QuorumVoter& voter : quorum_voters) {
      if (voter.id == node_id) return &voter;
    }
    return nullptr;
  }
  // Where this node's Raft transport listens: its voters entry, else its
  // controller listener; nullopt when it has neither.
  std::optional<HostPort> raft_address() const {
    if (const QuorumVoter* self = own_voter()) return HostPort{self->host, self->port};
    return controller_listener;
  }
};

// Runs the node until SIGINT/SIGTERM, then shuts down gracefully. Prints one
// "ready" line with the address to connect to. Returns the process exit code.
int run_node(const NodeConfig& config);

}  // namespace fjord::broker
