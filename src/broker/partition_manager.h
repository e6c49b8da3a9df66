// PartitionManager: the partitions this node hosts, each owned by one shard.
// A partition's log, its pending acknowledgements and its waiting fetches are
// touched only on the owner shard; other shards reach them with run_on().
//
// Durability (group commit): after an append, the owner asks the storage Syncer
// to fsync the partition's files; requests that arrive meanwhile ride on the next
// fsync. The high watermark (what consumers may read) is the durable offset when
// the topic fsyncs every write (flush.messages=1), else the log end offset.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/latch.h"
#include "common/result.h"
#include "metadata/image.h"
#include "runtime/shards.h"
#include "storage/partition_log.h"
#include "storage/syncer.h"

namespace fjord::broker {

struct Partition : std::enable_shared_from_this<Partition> {
  std::string topic;
  int32_t index = 0;
  std::unique_ptr<storage::PartitionLog> log;
  bool sync_every_write = true;  // flush.messages == 1
  int32_t min_insync_replicas = 1;
  int64_t high_watermark = 0;
  bool sync_in_flight = false;
  bool sync_again = false;
  bool compaction_running = false;

  struct PendingAck {
    int64_t offset;  // durable once durable_offset() > offset
    std::function<void(ErrorCode)> done;
  };
  std::vector<PendingAck> pending_acks;
  // Fetches waiting for the high watermark to move (long polling).
  std::vector<std::weak_ptr<Latch>> fetch_waiters;
};

// A partition that an end-transaction marker goes to.
struct TxnMarkerTarget {
  std::string topic;
  int32_t partition = 0;
};
// Called on the owner shard once a marker is durable in (topic, partition).
using TxnMarkerListener = std::function<void(const std::string& topic, int32_t partition,
                                             int64_t producer_id, bool commit)>;

// Converts a topic's effective configs to the storage settings.
storage::LogConfig to_log_config(const metadata::ConfigMap& topic_configs,
                                 const metadata::ConfigMap& broker_defaults);

class PartitionManager {
 public:
  PartitionManager(runtime::ShardPool& shards, std::filesystem::path data_dir,
                   metadata::ConfigMap broker_defaults);
  ~PartitionManager();

  runtime::ShardPool& shards() { return shards_; }
  const metadata::ConfigMap& broker_defaults() const { return broker_defaults_; }
  unsigned shard_of(std::string_view topic, int32_t partition) const;

  // Owner shard only: the partition, or nullptr if this node does not host it.
  Partition* find(const std::string& topic, int32_t partition);

  // Any shard: opens (creating if needed) every partition of `topic` on its shard.
  boost::asio::awaitable<Status> open_topic(std::shared_ptr<const metadata::TopicInfo> topic);
  // Any shard: closes and deletes the partitions of a deleted topic.
  boost::asio::awaitable<void> remove_topic(std::shared_ptr<const metadata::TopicInfo> topic);
  // Any shard: applies changed configs to the open partitions of `topic`.
  boost::asio::awaitable<void> reconfigure_topic(std::shared_ptr<const metadata::TopicInfo> topic);

  // Blocking, from outside the shards: opens every partition of the image
  // (start-up) and removes partition dirs of topics that no longer exist.
  Status open_all(const metadata::MetadataImage& image);
  // Blocking, from outside the shards: closes every partition cleanly.
  void close_all();

  // Owner shard: asks for an fsync of `partition` (group commit), then acks.
  void request_sync(Partition& partition);
  // Owner shard: calls `done` once offsets up to `offset` are durable (now if they are).
  void when_durable(Partition& partition, int64_t offset, std::function<void(ErrorCode)> done);
  // Owner shard: periodic work: flush.ms, and retention and compaction when due.
  void run_maintenance(int64_t now_ms, bool retention_due, bool compaction_due);
  // Owner shard: the high watermark moved; wakes waiting fetches.
  void publish_high_watermark(Partition& partition);

  // Any shard: appends a COMMIT or ABORT marker for the producer to each target
  // on its owner shard and waits until each is durable (flush.messages=1) or
  // appended (otherwise). One code per target, in order: kUnknownTopicOrPartition
  // when the partition is not hosted here, the log's error otherwise.
  boost::asio::awaitable<std::vector<ErrorCode>> write_txn_markers(
      const std::vector<TxnMarkerTarget>& targets, int64_t producer_id, int16_t producer_epoch,
      bool commit, int32_t coordinator_epoch);
  // Set once at start-up, before any marker is written.
  void set_txn_marker_listener(TxnMarkerListener listener) {
    marker_listener_ = std::move(listener);
  }
  // producer.id.expiration.ms: idle producers are forgotten by run_maintenance.
  void set_producer_id_expiration_ms(int64_t ms) { producer_id_expiration_ms_ = ms; }

  size_t partition_count_on_this_shard() const;

  // A node of a cluster opens only the partitions placed on it (their replicas
  // name it); a single node opens every partition. Set once at start-up.
  void set_cluster_node(int32_t node_id) { cluster_node_id_ = node_id; }
  bool is_cluster_node() const { return cluster_node_id_ >= 0; }
  bool hosts(const metadata::TopicInfo& topic, int32_t partition) const;

 private:
  struct ShardState;
  ShardState& local();
  Status open_partition_here(const metadata::TopicInfo& topic, int32_t index, int64_t now_ms);
  void on_sync_done(Partition& partition, int64_t target_offset, Status status);
  void schedule_compaction(Partition& partition, int64_t now_ms);
  void write_marker_here(const TxnMarkerTarget& target, int64_t producer_id, int16_t producer_epoch,
                         bool commit, int32_t coordinator_epoch, int64_t now_ms,
                         std::function<void(ErrorCode)> report);

  runtime::ShardPool& shards_;
  std::filesystem::path data_dir_;
  metadata::ConfigMap broker_defaults_;
  std::unique_ptr<storage::Syncer> syncer_;
  std::vector<std::unique_ptr<ShardState>> shard_states_;
  class Cleaner;
  std::unique_ptr<Cleaner> cleaner_;
  TxnMarkerListener marker_listener_;
  int64_t producer_id_expiration_ms_ = 86400000;
  int32_t cluster_node_id_ = -1;
};

}  // namespace fjord::broker
