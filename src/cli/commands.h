// The `fjord` subcommands. Each returns the process exit code (exit_code.h)
// and reports its own errors on stderr as one actionable line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/kafka_client.h"

namespace fjord::cli {

struct ServeOptions {
  std::string config_file;  // empty: none
  std::string data_dir;     // empty: from the file or the default
  std::string listen;       // HOST:PORT, empty: from the file or the default
  std::optional<int32_t> node_id;
  std::vector<std::string> settings;  // --set key=value
};
int serve(const ServeOptions& options);

struct TopicCreateOptions {
  std::string name;
  int32_t partitions = -1;           // -1: the broker's num.partitions
  int32_t replication_factor = -1;   // -1: the broker's default.replication.factor
  std::vector<std::string> configs;  // key=value
};
int topic_create(const ClientOptions& client, const TopicCreateOptions& options);
int topic_list(const ClientOptions& client, bool include_internal);
int topic_describe(const ClientOptions& client, const std::string& name);

struct TopicAlterOptions {
  std::string name;
  std::optional<int32_t> partitions;  // new total (CreatePartitions)
  std::vector<std::string> configs;   // key=value to set
  std::vector<std::string> delete_configs;
};
int topic_alter(const ClientOptions& client, const TopicAlterOptions& options);
int topic_delete(const ClientOptions& client, const std::string& name);

struct ProduceOptions {
  std::string topic;
  std::string file;                  // empty or "-": stdin
  std::string key_separator;         // empty: no keys
  int32_t partition = -1;            // -1: the partitioner decides
  std::vector<std::string> headers;  // name=value
  std::string acks = "all";
  std::string compression = "none";
  size_t max_line_bytes = 1000000;
  bool quiet = false;
};
int produce(const ClientOptions& client, const ProduceOptions& options);

struct ConsumeOptions {
  std::string topic;
  std::optional<int32_t> partition;
  std::string offset = "earliest";  // earliest | latest | N | -N (N from the end)
  std::optional<int64_t> from_timestamp_ms;
  std::optional<uint64_t> count;
  bool follow = false;
  std::string format = "%v\\n";
  std::string group;  // empty: no consumer group
  bool quiet = false;
};
int consume(const ClientOptions& client, const ConsumeOptions& options);

int group_list(const ClientOptions& client, const std::vector<std::string>& states);
int group_describe(const ClientOptions& client, const std::vector<std::string>& groups);
int group_delete(const ClientOptions& client, const std::vector<std::string>& groups);

struct GroupResetOptions {
  std::string group;
  std::vector<std::string> topics;  // TOPIC or TOPIC:P,P,...
  bool all_topics = false;          // every partition the group has committed
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<std::string> to_timestamp;  // ms since the epoch or ISO 8601
  std::optional<std::string> to_offset;
  bool execute = false;  // false: print the plan only
};
int group_reset_offsets(const ClientOptions& client, const GroupResetOptions& options);

struct TxnListOptions {
  std::vector<std::string> states;    // Kafka's state names, any case; empty: all
  std::vector<int64_t> producer_ids;  // empty: all
};
int txn_list(const ClientOptions& client, const TxnListOptions& options);
int txn_describe(const ClientOptions& client, const std::vector<std::string>& transactional_ids);

struct TxnProducersOptions {
  std::string topic;
  std::optional<int32_t> partition;  // nothing: every partition
};
int txn_producers(const ClientOptions& client, const TxnProducersOptions& options);

// Names one open transaction of one partition: by --start-offset, or by
// --producer-id with --producer-epoch.
struct TxnAbortOptions {
  std::string topic;
  int32_t partition = 0;
  std::optional<int64_t> start_offset;
  std::optional<int64_t> producer_id;
  std::optional<int16_t> producer_epoch;
  std::optional<int32_t> coordinator_epoch;  // nothing: the producer's, or 0
};
int txn_abort(const ClientOptions& client, const TxnAbortOptions& options);

struct ClusterStatusOptions {
  bool json = false;  // --output json
};
int cluster_status(const ClientOptions& client, const ClusterStatusOptions& options);

struct ClusterVoterOptions {
  int32_t node_id = -1;
  std::string endpoint;  // HOST:PORT of its Raft transport (add-voter only)
};
int cluster_add_voter(const ClientOptions& client, const ClusterVoterOptions& options);
int cluster_remove_voter(const ClientOptions& client, const ClusterVoterOptions& options);

}  // namespace fjord::cli
