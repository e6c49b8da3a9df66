// TxnCoordinator: the transaction coordinator of this node. A transactional id
// lives on the shard that owns its __transaction_state partition, so all of an
// id's work runs on one thread; handlers on other shards reach it by message
// passing (run()). Every transition is fsynced to the partition before it takes
// effect, and the registries are rebuilt from the log at start-up (load_all).
// Markers go through PartitionManager::write_txn_markers. docs/transactions.md.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/group_coordinator.h"
#include "broker/latch.h"
#include "broker/partition_manager.h"
#include "broker/txn_marker_router.h"
#include "common/result.h"
#include "metadata/controller.h"
#include "metadata/image.h"
#include "txn/txn_registry.h"

namespace fjord::broker {

// Work for an id's shard: gets the shard's registry and a reply to call once.
// Passed by reference, like GroupWork (GCC PR 99576).
template <typename T>
using TxnWork = std::function<void(txn::TxnRegistry&, std::function<void(T)>)>;

struct TxnCoordinatorConfig {
  // transaction.max.timeout.ms, transactional.id.expiration.ms,
  // transaction.state.log.num.partitions, offsets.topic.num.partitions.
  txn::TxnConfig txn;
  int32_t state_segment_bytes = 104857600;  // transaction.state.log.segment.bytes
  int64_t abort_check_interval_ms =
      10000;  // transaction.abort.timed.out.transaction.cleanup.interval.ms
  int64_t expiry_check_interval_ms =
      3600000;  // transaction.remove.expired.transaction.cleanup.interval.ms
  // How long a WriteTxnMarkers to another broker may take (Kafka's
  // request.timeout.ms).
  int marker_request_timeout_ms = 30000;
  // How often markers that failed (a leader moving, a broker down) are tried
  // again: the transaction holds its producer and read_committed consumers
  // until they are written.
  int64_t marker_retry_interval_ms = 500;
};

// Producer ids for this node, taken from the controller in durable blocks.
// Thread-safe; blocks (one metadata write) once per block.
class ProducerIdSource {
 public:
  static constexpr int32_t kBlockSize = 1000;
  // Asks another node (the active controller) for a block; its first id.
  using Forwarder = std::function<Result<int64_t>(int32_t count)>;
  explicit ProducerIdSource(metadata::Controller& controller) : controller_(controller) {}
  Result<int64_t> next();
  // Where a block comes from when this node is not the active controller.
  void set_forwarder(Forwarder forwarder) {
    std::lock_guard lock(mutex_);
    forwarder_ = std::move(forwarder);
  }

 private:
  metadata::Controller& controller_;
  std::mutex mutex_;
  Forwarder forwarder_;
  int64_t next_ = 0;
  int64_t end_ = 0;  // next_ == end_: the block is used up
};

class TxnCoordinator {
 public:
  TxnCoordinator(const TxnCoordinatorConfig& config, PartitionManager& partitions,
                 metadata::Controller& controller);
  ~TxnCoordinator();

  const TxnCoordinatorConfig& config() const { return config_; }
  // Any thread: a new producer id (idempotent producers, new transactional ids).
  Result<int64_t> next_producer_id() { return producer_ids_.next(); }
  // Before serving: how a cluster node that is not the controller gets ids.
  void set_producer_id_forwarder(ProducerIdSource::Forwarder forwarder) {
    producer_ids_.set_forwarder(std::move(forwarder));
  }

  // Blocking, before serving: replays __transaction_state if it exists and
  // resumes the markers of decided transactions.
  Status load_all(const metadata::MetadataImage& image);
  // Once __transaction_state exists with `partition_count` partitions.
  void activate(int32_t partition_count) { partition_count_.store(partition_count); }
  bool active() const { return partition_count_.load() > 0; }
  int32_t partition_for(std::string_view transactional_id) const;

  template <typename T>
  boost::asio::awaitable<T> run(const std::string& transactional_id, TxnWork<T>& work);
  template <typename T>
  boost::asio::awaitable<T> run_on_shard(unsigned shard, TxnWork<T>& work);

  // Owner shard, periodically: aborts timed-out transactions and retries
  // unfinished markers (abort_check_interval_ms), expires idle ids.
  void tick_here(int64_t elapsed_ms);

 private:
  txn::TxnRegistry& registry_here();
  void append(int32_t partition, std::vector<uint8_t> batch, txn::DoneCallback done);
  void write_markers(const txn::MarkerRequest& request,
                     std::function<void(std::vector<ErrorCode>)> done);
  Status replay_partition(int32_t partition);

  TxnCoordinatorConfig config_;
  PartitionManager& partitions_;
  metadata::Controller& controller_;  // its image says who leads a partition
  ProducerIdSource producer_ids_;
  RemoteMarkerWriter remote_markers_;  // used on cluster nodes only
  std::atomic<int32_t> partition_count_{0};
  struct ShardState;
  std::vector<std::unique_ptr<ShardState>> shard_states_;  // one per shard, touched by it only
};

template <typename T>
boost::asio::awaitable<T> TxnCoordinator::run(const std::string& transactional_id,
                                              TxnWork<T>& work) {
  const unsigned shard =
      partitions_.shard_of(kTransactionStateTopic, partition_for(transactional_id));
  T value = co_await run_on_shard<T>(shard, work);
  co_return value;
}

template <typename T>
boost::asio::awaitable<T> TxnCoordinator::run_on_shard(unsigned shard, TxnWork<T>& work) {
  auto executor = co_await boost::asio::this_coro::executor;
  auto reply = std::make_shared<GroupReply<T>>(executor);
  boost::asio::post(partitions_.shards().executor(shard), [this, reply, work] {
    work(registry_here(), [reply](T value) {
      reply->value = std::move(value);
      reply->latch->count_down();
    });
  });
  co_await reply->latch->wait();
  co_return std::move(reply->value);
}

}  // namespace fjord::broker
