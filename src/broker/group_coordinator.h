// GroupCoordinator: hosts the consumer groups of this node. A group lives on the
// shard that owns its __consumer_offsets partition, so all of a group's work
// runs on one thread; request handlers on other shards reach it by message
// passing (run()). Groups persist through their partition's log and are rebuilt
// from it at start-up (load_all).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/latch.h"
#include "broker/partition_manager.h"
#include "common/result.h"
#include "groups/group_registry.h"
#include "metadata/image.h"

namespace fjord::broker {

inline constexpr std::string_view kOffsetsTopic = "__consumer_offsets";
// The transaction coordinator's log (internal, like kOffsetsTopic).
inline constexpr std::string_view kTransactionStateTopic = "__transaction_state";

// Work for a group's shard: gets the shard's registry and a reply to call once.
// Callers keep it in a named variable and pass it by reference: g++ 12 destroys
// a coroutine's by-value class arguments twice when the call is co_awaited in
// the same expression (GCC PR 99576), so none of these coroutines takes one.
template <typename T>
using GroupWork = std::function<void(groups::GroupRegistry&, std::function<void(T)>)>;

struct GroupCoordinatorConfig {
  groups::GroupLimits limits;
  int32_t offsets_partitions = 50;               // offsets.topic.num.partitions
  int32_t offsets_segment_bytes = 104857600;     // offsets.topic.segment.bytes
  int64_t retention_check_interval_ms = 600000;  // offsets.retention.check.interval.ms
};

class GroupCoordinator {
 public:
  GroupCoordinator(const GroupCoordinatorConfig& config, PartitionManager& partitions);
  ~GroupCoordinator();

  const GroupCoordinatorConfig& config() const { return config_; }

  // Blocking, before serving: replays __consumer_offsets if it exists.
  Status load_all(const metadata::MetadataImage& image);
  // Once __consumer_offsets exists with `partition_count` partitions.
  void activate(int32_t partition_count) { partition_count_.store(partition_count); }
  bool active() const { return partition_count_.load() > 0; }

  int32_t partition_for(std::string_view group_id) const;

  // Runs `work(registry, reply)` on the group's shard; resumes the caller with
  // the value passed to reply (exactly once, possibly later).
  template <typename T>
  boost::asio::awaitable<T> run(const std::string& group_id, GroupWork<T>& work);
  template <typename T>
  boost::asio::awaitable<T> run_on_shard(unsigned shard, GroupWork<T>& work);

  // Blocking, from outside the shards, at shutdown: answers the requests that
  // wait on groups (NOT_COORDINATOR), so that no request waits for ever.
  void unload_all();

  // Owner shard, periodically: timers; offset retention when due.
  void tick_here(int64_t elapsed_ms);

  // Owner shard of __consumer_offsets-`offsets_partition`, once a producer's
  // COMMIT/ABORT marker there is durable (PartitionManager's marker listener):
  // the groups of that partition holding the producer's transactional offsets
  // commit or drop them.
  void complete_transaction_here(int32_t offsets_partition, int64_t producer_id, bool commit);
  // For PartitionManager::set_txn_marker_listener: markers in __consumer_offsets
  // go to complete_transaction_here, others are none of the groups' business.
  TxnMarkerListener marker_listener();

 private:
  groups::GroupRegistry& registry_here();
  void append(int32_t partition, std::vector<uint8_t> batch, groups::DoneCallback done);
  Status replay_partition(int32_t partition);

  GroupCoordinatorConfig config_;
  PartitionManager& partitions_;
  std::atomic<int32_t> partition_count_{0};
  struct ShardState;
  std::vector<std::unique_ptr<ShardState>> shard_states_;  // one per shard, touched by it only
};

template <typename T>
struct GroupReply {
  explicit GroupReply(boost::asio::any_io_executor executor) : latch(Latch::make(executor, 1)) {}
  std::shared_ptr<Latch> latch;
  T value{};
};

template <typename T>
boost::asio::awaitable<T> GroupCoordinator::run(const std::string& group_id, GroupWork<T>& work) {
  const unsigned shard = partitions_.shard_of(kOffsetsTopic, partition_for(group_id));
  T value = co_await run_on_shard<T>(shard, work);
  co_return value;
}

template <typename T>
boost::asio::awaitable<T> GroupCoordinator::run_on_shard(unsigned shard, GroupWork<T>& work) {
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
