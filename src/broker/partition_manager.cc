#include "broker/partition_manager.h"

#include <algorithm>
#include <fmt/core.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <future>

#include "broker/cross_shard.h"
#include "broker/latch.h"
#include "metadata/metadata_log.h"
#include "storage/partition_dirs.h"

namespace fjord::broker {
namespace {

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

storage::LogConfig to_log_config(const metadata::ConfigMap& topic_configs,
                                 const metadata::ConfigMap& broker_defaults) {
  storage::LogConfig c;
  auto get = [&](std::string_view name) {
    const auto* def = metadata::find_topic_config(name);
    return metadata::effective_topic_config(*def, topic_configs, broker_defaults).value;
  };
  auto get_long = [&](std::string_view name) { return metadata::config_long(get(name)); };
  c.segment_bytes = get_long("segment.bytes");
  c.segment_ms = get_long("segment.ms");
  c.retention_ms = get_long("retention.ms");
  c.retention_bytes = get_long("retention.bytes");
  const std::string policy = get("cleanup.policy");
  const bool compact = policy.find("compact") != std::string::npos;
  const bool del = policy.find("delete") != std::string::npos;
  c.cleanup_policy = compact && del ? storage::CleanupPolicy::kCompactDelete
                     : compact      ? storage::CleanupPolicy::kCompact
                                    : storage::CleanupPolicy::kDelete;
  c.delete_retention_ms = get_long("delete.retention.ms");
  c.min_compaction_lag_ms = get_long("min.compaction.lag.ms");
  c.min_cleanable_dirty_ratio = metadata::config_double(get("min.cleanable.dirty.ratio"));
  c.max_message_bytes = static_cast<int32_t>(get_long("max.message.bytes"));
  c.flush_messages = get_long("flush.messages");
  c.flush_ms = get_long("flush.ms");
  c.index_interval_bytes = static_cast<int32_t>(get_long("index.interval.bytes"));
  c.segment_index_bytes = static_cast<int32_t>(get_long("segment.index.bytes"));
  c.log_append_time = get("message.timestamp.type") == "LogAppendTime";
  return c;
}

struct PartitionManager::ShardState {
  // topic -> partition index -> partition
  std::unordered_map<std::string, std::unordered_map<int32_t, std::shared_ptr<Partition>>> topics;
};

// One background thread runs compaction jobs so that shards never block on them.
class PartitionManager::Cleaner {
 public:
  boost::asio::thread_pool pool{1};
};

PartitionManager::PartitionManager(runtime::ShardPool& shards, std::filesystem::path data_dir,
                                   metadata::ConfigMap broker_defaults)
    : shards_(shards),
      data_dir_(std::move(data_dir)),
      broker_defaults_(std::move(broker_defaults)),
      syncer_(std::make_unique<storage::Syncer>()),
      cleaner_(std::make_unique<Cleaner>()) {
  for (unsigned i = 0; i < shards_.count(); ++i) {
    shard_states_.push_back(std::make_unique<ShardState>());
  }
}

PartitionManager::~PartitionManager() { cleaner_->pool.join(); }

unsigned PartitionManager::shard_of(std::string_view topic, int32_t partition) const {
  size_t h = std::hash<std::string_view>{}(topic) ^
             (static_cast<size_t>(partition) * 0x9E3779B97F4A7C15ull);
  return static_cast<unsigned>(h % shards_.count());
}

PartitionManager::ShardState& PartitionManager::local() {
  const int shard = runtime::ShardPool::current_shard();
  assert(shard >= 0);
  return *shard_states_[static_cast<size_t>(shard)];
}

Partition* PartitionManager::find(const std::string& topic, int32_t partition) {
  auto& state = local();
  auto it = state.topics.find(topic);
  if (it == state.topics.end()) return nullptr;
  auto pit = it->second.find(partition);
  return pit == it->second.end() ? nullptr : pit->second.get();
}

size_t PartitionManager::partition_count_on_this_shard() const {
  const int shard = runtime::ShardPool::current_shard();
  size_t n = 0;
  for (const auto& [name, parts] : shard_states_[static_cast<size_t>(shard)]->topics)
    n += parts.size();
  return n;
}

Status PartitionManager::open_partition_here(const metadata::TopicInfo& topic, int32_t index,
                                             int64_t now_ms) {
  auto& state = local();
  auto& parts = state.topics[topic.name];
  if (parts.contains(index)) return {};
  const storage::LogConfig config = to_log_config(topic.configs, broker_defaults_);
  auto log = storage::PartitionLog::open(storage::partition_dir(data_dir_, topic.name, index),
                                         config, now_ms);
  if (!log) return log.error();
  auto partition = std::make_shared<Partition>();
  partition->topic = topic.name;
  partition->index = index;
  partition->log = std::move(*log);
  partition->sync_every_write = config.flush_messages <= 1;
  partition->min_insync_replicas = static_cast<int32_t>(metadata::config_long(
      metadata::effective_topic_config(*metadata::find_topic_config("min.insync.replicas"),
                                       topic.configs, broker_defaults_)
          .value));
  // After a restart everything recovered is on disk (recovery truncated the rest).
  partition->high_watermark = partition->log->log_end_offset();
  partition->log->advance_high_watermark(partition->high_watermark);
  parts.emplace(index, std::move(partition));
  return {};
}

bool PartitionManager::hosts(const metadata::TopicInfo& topic, int32_t partition) const {
  if (!is_cluster_node()) return true;
  if (partition < 0 || static_cast<size_t>(partition) >= topic.partitions.size()) return false;
  const auto& replicas = topic.partitions[static_cast<size_t>(partition)].replicas;
  return std::find(replicas.begin(), replicas.end(), cluster_node_id_) != replicas.end();
}

boost::asio::awaitable<Status> PartitionManager::open_topic(
    std::shared_ptr<const metadata::TopicInfo> topic) {
  const int64_t now_ms = wall_clock_ms();
  for (int32_t p = 0; p < topic->partition_count; ++p) {
    if (!hosts(*topic, p)) continue;
    Status s = co_await run_on(shards_, shard_of(topic->name, p),
                               [&] { return open_partition_here(*topic, p, now_ms); });
    if (!s) {
      co_return s;
    }
  }
  co_return Status{};
}

boost::asio::awaitable<void> PartitionManager::remove_topic(
    std::shared_ptr<const metadata::TopicInfo> topic) {
  for (int32_t p = 0; p < topic->partition_count; ++p) {
    co_await run_on(shards_, shard_of(topic->name, p), [&] {
      auto& state = local();
      auto it = state.topics.find(topic->name);
      if (it == state.topics.end()) return;
      auto pit = it->second.find(p);
      if (pit == it->second.end()) return;
      std::shared_ptr<Partition> partition = std::move(pit->second);
      it->second.erase(pit);
      if (it->second.empty()) state.topics.erase(it);
      for (auto& ack : partition->pending_acks) ack.done(ErrorCode::kUnknownTopicOrPartition);
      partition->pending_acks.clear();
      publish_high_watermark(*partition);  // waiting fetches re-read and see the topic gone
      (void)partition->log->close();
      Status removed =
          storage::remove_partition_dir(storage::partition_dir(data_dir_, topic->name, p));
      if (!removed) {
        fmt::print(stderr, "fjord: could not remove {}-{}: {}\n", topic->name, p,
                   removed.error().message);
      }
    });
  }
}

boost::asio::awaitable<void> PartitionManager::reconfigure_topic(
    std::shared_ptr<const metadata::TopicInfo> topic) {
  const storage::LogConfig config = to_log_config(topic->configs, broker_defaults_);
  const int32_t min_isr = static_cast<int32_t>(metadata::config_long(
      metadata::effective_topic_config(*metadata::find_topic_config("min.insync.replicas"),
                                       topic->configs, broker_defaults_)
          .value));
  for (int32_t p = 0; p < topic->partition_count; ++p) {
    co_await run_on(shards_, shard_of(topic->name, p), [&] {
      if (Partition* partition = find(topic->name, p)) {
        partition->log->update_config(config);
        partition->sync_every_write = config.flush_messages <= 1;
        partition->min_insync_replicas = min_isr;
      }
    });
  }
}

Status PartitionManager::open_all(const metadata::MetadataImage& image) {
  // Remove directories of topics deleted before a crash could finish removing them.
  storage::remove_leftover_deleted_dirs(data_dir_);
  auto dirs = storage::list_partition_dirs(data_dir_);
  if (!dirs) return dirs.error();
  for (const auto& [topic, partition] : *dirs) {
    if (topic == metadata::kMetadataTopic) continue;
    const metadata::TopicInfo* info = image.find(topic);
    if (info == nullptr || partition >= info->partition_count) {
      (void)storage::remove_partition_dir(storage::partition_dir(data_dir_, topic, partition));
    }
  }
  // Open each shard's partitions on that shard, all shards in parallel.
  const int64_t now_ms = wall_clock_ms();
  std::vector<std::promise<Status>> done(shards_.count());
  for (unsigned shard = 0; shard < shards_.count(); ++shard) {
    boost::asio::post(shards_.executor(shard), [&, shard] {
      Status result;
      for (const auto& [name, topic] : image.topics) {
        for (int32_t p = 0; p < topic->partition_count && result.ok(); ++p) {
          if (shard_of(name, p) == shard && hosts(*topic, p)) {
            result = open_partition_here(*topic, p, now_ms);
          }
        }
      }
      done[shard].set_value(std::move(result));
    });
  }
  Status first_error;
  for (auto& d : done) {
    Status s = d.get_future().get();
    if (!s && first_error.ok()) first_error = s;
  }
  return first_error;
}

void PartitionManager::close_all() {
  std::vector<std::promise<void>> done(shards_.count());
  for (unsigned shard = 0; shard < shards_.count(); ++shard) {
    boost::asio::post(shards_.executor(shard), [&, shard] {
      auto& state = *shard_states_[shard];
      for (auto& [name, parts] : state.topics) {
        for (auto& [index, partition] : parts) {
          Status s = partition->log->close();
          if (!s) {
            fmt::print(stderr, "fjord: closing {}-{}: {}\n", name, index, s.error().message);
          }
          // close() synced everything: writers still waiting for an fsync get
          // their answer instead of waiting for ever.
          const ErrorCode outcome = s ? ErrorCode::kNone : ErrorCode::kKafkaStorageError;
          for (auto& ack : partition->pending_acks) ack.done(outcome);
          partition->pending_acks.clear();
        }
      }
      state.topics.clear();
      done[shard].set_value();
    });
  }
  for (auto& d : done) d.get_future().wait();
}

void PartitionManager::request_sync(Partition& partition) {
  if (partition.sync_in_flight) {
    partition.sync_again = true;
    return;
  }
  partition.sync_in_flight = true;
  partition.sync_again = false;
  storage::PartitionLog::SyncHandle handle = partition.log->prepare_sync();
  const int64_t target = handle.target_offset;
  auto executor = shards_.executor(static_cast<unsigned>(runtime::ShardPool::current_shard()));
  std::weak_ptr<Partition> weak = partition.weak_from_this();
  syncer_->submit(std::move(handle), [this, executor, weak, target](Status status) {
    boost::asio::post(executor, [this, weak, target, status = std::move(status)]() mutable {
      if (auto p = weak.lock()) on_sync_done(*p, target, std::move(status));
    });
  });
}

void PartitionManager::on_sync_done(Partition& partition, int64_t target_offset, Status status) {
  partition.sync_in_flight = false;
  if (!status) {
    fmt::print(stderr, "fjord: fsync of {}-{} failed: {}\n", partition.topic, partition.index,
               status.error().message);
    for (auto& ack : partition.pending_acks) ack.done(ErrorCode::kKafkaStorageError);
    partition.pending_acks.clear();
    return;
  }
  partition.log->mark_durable(target_offset);
  const int64_t durable = partition.log->durable_offset();
  std::erase_if(partition.pending_acks, [&](Partition::PendingAck& ack) {
    if (ack.offset >= durable) return false;
    ack.done(ErrorCode::kNone);
    return true;
  });
  if (partition.sync_every_write && durable > partition.high_watermark) {
    partition.high_watermark = durable;
    publish_high_watermark(partition);
  }
  if (partition.sync_again || !partition.pending_acks.empty()) request_sync(partition);
}

void PartitionManager::when_durable(Partition& partition, int64_t offset,
                                    std::function<void(ErrorCode)> done) {
  if (partition.log->durable_offset() > offset) {
    done(ErrorCode::kNone);
    return;
  }
  partition.pending_acks.push_back({offset, std::move(done)});
  request_sync(partition);
}

void PartitionManager::publish_high_watermark(Partition& partition) {
  // Transactions whose marker is now below the watermark become stable.
  partition.log->advance_high_watermark(partition.high_watermark);
  for (auto& waiter : partition.fetch_waiters) {
    if (auto latch = waiter.lock()) latch->count_down();
  }
  partition.fetch_waiters.clear();
}

void PartitionManager::run_maintenance(int64_t now_ms, bool retention_due, bool compaction_due) {
  for (auto& [name, parts] : local().topics) {
    for (auto& [index, partition] : parts) {
      if (retention_due) {
        partition->log->enforce_retention(now_ms);
        partition->log->expire_producers(now_ms, producer_id_expiration_ms_);
      }
      if (!partition->sync_every_write && partition->log->needs_flush_by_policy(now_ms)) {
        request_sync(*partition);
      }
      if (compaction_due) {
        schedule_compaction(*partition, now_ms);
        // Keeps descriptor counts bounded with many partitions.
        partition->log->release_idle_files();
      }
    }
  }
}

boost::asio::awaitable<std::vector<ErrorCode>> PartitionManager::write_txn_markers(
    const std::vector<TxnMarkerTarget>& targets, int64_t producer_id, int16_t producer_epoch,
    bool commit, int32_t coordinator_epoch) {
  struct MarkerState {
    std::vector<ErrorCode> codes;
    std::shared_ptr<Latch> done;
  };
  auto executor = co_await boost::asio::this_coro::executor;
  auto state = std::make_shared<MarkerState>();
  state->codes.assign(targets.size(), ErrorCode::kNone);
  state->done = Latch::make(executor, targets.size());
  const int64_t now_ms = wall_clock_ms();
  for (size_t i = 0; i < targets.size(); ++i) {
    auto report = [state, i, executor](ErrorCode code) {
      boost::asio::post(executor, [state, i, code] {
        state->codes[i] = code;
        state->done->arrive();
      });
    };
    const unsigned shard = shard_of(targets[i].topic, targets[i].partition);
    boost::asio::post(shards_.executor(shard),
                      [this, target = targets[i], producer_id, producer_epoch, commit,
                       coordinator_epoch, now_ms, report = std::move(report)]() mutable {
                        write_marker_here(target, producer_id, producer_epoch, commit,
                                          coordinator_epoch, now_ms, std::move(report));
                      });
  }
  co_await state->done->wait();
  co_return state->codes;
}

void PartitionManager::write_marker_here(const TxnMarkerTarget& target, int64_t producer_id,
                                         int16_t producer_epoch, bool commit,
                                         int32_t coordinator_epoch, int64_t now_ms,
                                         std::function<void(ErrorCode)> report) {
  Partition* partition = find(target.topic, target.partition);
  if (partition == nullptr) {
    report(ErrorCode::kUnknownTopicOrPartition);
    return;
  }
  auto appended = partition->log->append_txn_marker(producer_id, producer_epoch, commit,
                                                    coordinator_epoch, now_ms);
  if (!appended) {
    report(appended.error().code);
    return;
  }
  auto finished = [this, target, producer_id, commit, report](ErrorCode code) {
    if (code == ErrorCode::kNone && marker_listener_) {
      marker_listener_(target.topic, target.partition, producer_id, commit);
    }
    report(code);
  };
  if (partition->sync_every_write) {
    when_durable(*partition, appended->last_offset, std::move(finished));
    return;
  }
  partition->high_watermark = partition->log->log_end_offset();
  publish_high_watermark(*partition);
  finished(ErrorCode::kNone);
}

void PartitionManager::schedule_compaction(Partition& partition, int64_t now_ms) {
  if (partition.log->config().cleanup_policy == storage::CleanupPolicy::kDelete) return;
  if (partition.compaction_running) return;
  std::unique_ptr<storage::CompactionJob> job = partition.log->prepare_compaction(now_ms);
  if (!job) return;
  partition.compaction_running = true;
  auto executor = shards_.executor(static_cast<unsigned>(runtime::ShardPool::current_shard()));
  std::weak_ptr<Partition> weak = partition.weak_from_this();
  boost::asio::post(cleaner_->pool, [executor, weak, job = std::move(job)]() mutable {
    Status ran = job->run();
    boost::asio::post(executor, [weak, ran, job = std::move(job)]() mutable {
      auto p = weak.lock();
      if (!p) return;
      p->compaction_running = false;
      Status installed = ran ? p->log->install_compaction(std::move(job)) : ran;
      if (!installed) {
        fmt::print(stderr, "fjord: compaction of {}-{} failed: {}\n", p->topic, p->index,
                   installed.error().message);
      }
    });
  });
}

}  // namespace fjord::broker
