// Controller: the single writer of cluster metadata. Validates admin changes
// (create/delete topics, add partitions, alter configs), turns them into
// metadata records and hands them to a MetadataCommitter, which makes them one
// durable batch of the metadata log; the MetadataStateMachine applies committed
// batches and publishes the image. On one node (open()) the committer is the
// LocalCommitter over the MetadataLog on disk; on a cluster (create()) it
// proposes to the Raft leader.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "metadata/committer.h"
#include "metadata/image.h"
#include "metadata/local_committer.h"
#include "metadata/state_machine.h"
#include "metadata/topic_config.h"

namespace fjord::metadata {

struct ControllerOptions {
  std::filesystem::path data_dir;
  std::string cluster_id;  // used only when the data dir has none yet
  int32_t default_partitions = 1;
  int16_t default_replication_factor = 1;
  int32_t max_partitions_per_topic = 100000;
  // metadata.log.max.record.bytes.between.snapshots (single node: open()).
  int64_t snapshot_after_bytes = 20 << 20;
  // A single node places every partition on itself; a cluster places them on
  // its registered, unfenced brokers.
  int32_t node_id = 1;
};

struct BrokerHeartbeatResult {
  bool fenced = true;
  bool should_shut_down = false;
};

// Kafka topic name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
Status validate_topic_name(std::string_view name);

enum class AlterOp : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };

struct ConfigAlteration {
  std::string name;
  std::optional<std::string> value;
  AlterOp op = AlterOp::kSet;
};

class Controller {
 public:
  // One node: the metadata log in options.data_dir, replayed into a state
  // machine this controller owns.
  static Result<std::unique_ptr<Controller>> open(const ControllerOptions& options, int64_t now_ms);
  // A cluster: records go to `committer`; `state_machine` (fed with the
  // committed log by whoever drives the quorum) gives the image. Both must
  // outlive the controller.
  static std::unique_ptr<Controller> create(const ControllerOptions& options,
                                            MetadataStateMachine& state_machine,
                                            MetadataCommitter& committer);
  ~Controller();

  // The current image; cheap, lock-free, callable from any thread.
  std::shared_ptr<const MetadataImage> image() const { return state_machine_.image(); }

  // partitions/replication_factor -1 mean the broker defaults.
  Result<std::shared_ptr<const TopicInfo>> create_topic(const std::string& name, int32_t partitions,
                                                        int16_t replication_factor,
                                                        const ConfigMap& configs,
                                                        bool validate_only, int64_t now_ms);
  Result<std::shared_ptr<const TopicInfo>> delete_topic(const std::string& name, int64_t now_ms);
  Status create_partitions(const std::string& name, int32_t total_count, bool validate_only,
                           int64_t now_ms);
  // Replaces the topic's whole config (AlterConfigs semantics).
  Status replace_configs(const std::string& name, const ConfigMap& configs, bool validate_only,
                         int64_t now_ms);
  // Applies per-key changes (IncrementalAlterConfigs semantics).
  Status alter_configs(const std::string& name, const std::vector<ConfigAlteration>& changes,
                       bool validate_only, int64_t now_ms);

  // Reserves the producer ids [first, first + count) durably (a ProducerIdsRecord
  // in the metadata log) and returns first: no id is handed out twice, even
  // across restarts. kInvalidRequest for count < 1.
  Result<int64_t> allocate_producer_ids(int32_t count, int64_t now_ms);

  // --- Brokers of a cluster (called on the active controller) ---
  // Registers a broker (fenced until a heartbeat asks to be unfenced) and
  // returns its epoch. The same incarnation registering again keeps its epoch.
  Result<int64_t> register_broker(int32_t id, const protocol::Uuid& incarnation,
                                  std::vector<BrokerEndpoint> endpoints,
                                  const std::optional<std::string>& rack, int64_t now_ms);
  // A live broker: unfences it unless it wants to stay fenced; one that wants to
  // shut down is fenced at once. kStaleBrokerEpoch for an old epoch,
  // kBrokerIdNotRegistered for an unknown id.
  Result<BrokerHeartbeatResult> broker_heartbeat(int32_t id, int64_t epoch, bool want_fence,
                                                 bool want_shut_down, int64_t now_ms);
  // Fences the unfenced brokers that have not heartbeat for session_timeout_ms.
  Status fence_expired_brokers(int64_t now_ms, int64_t session_timeout_ms);
  // Heartbeat times live only in the active controller's memory, as in Kafka: a
  // new controller starts every broker's session at `now_ms`.
  void reset_heartbeats(int64_t now_ms);

  int32_t default_partitions() const { return options_.default_partitions; }

  Status close();

 private:
  Controller(ControllerOptions options, MetadataStateMachine& state_machine,
             MetadataCommitter& committer);
  // Makes `records` one committed batch; image() shows it on success.
  Status commit(const std::vector<std::vector<uint8_t>>& records, int64_t now_ms);
  Status commit_configs(const TopicInfo& topic, const ConfigMap& next, int64_t now_ms);

  ControllerOptions options_;
  // Set by open() only: the single node's own state machine and log.
  std::unique_ptr<MetadataStateMachine> owned_state_machine_;
  std::unique_ptr<LocalCommitter> local_committer_;
  MetadataStateMachine& state_machine_;
  MetadataCommitter& committer_;
  // Replicas for `count` new partitions: striped over the unfenced brokers from
  // a random start (Kafka's placement), or this node when none is registered.
  Result<std::vector<std::vector<int32_t>>> place_partitions(const MetadataImage& image,
                                                             int32_t count,
                                                             int16_t replication_factor) const;
  Status fence(const BrokerInfo& broker, int64_t now_ms);

  std::mutex write_mutex_;  // admin changes are rare; they take turns here, readers never lock
  std::map<int32_t, int64_t> last_heartbeat_ms_;  // under write_mutex_
};

}  // namespace fjord::metadata
