#include "broker/group_coordinator.h"

#include <fmt/core.h>
#include <unistd.h>

#include <future>

#include "broker/broker.h"
#include "broker/coordinator_append.h"
#include "broker/log_replay.h"
#include "records/batch.h"

namespace fjord::broker {

// Replaying reads the log in chunks of whole batches.

struct GroupCoordinator::ShardState {
  std::unique_ptr<groups::GroupRegistry> registry;
  int64_t since_retention_ms = 0;
};

GroupCoordinator::GroupCoordinator(const GroupCoordinatorConfig& config,
                                   PartitionManager& partitions)
    : config_(config), partitions_(partitions) {
  for (unsigned i = 0; i < partitions.shards().count(); ++i) {
    shard_states_.push_back(std::make_unique<ShardState>());
  }
}

GroupCoordinator::~GroupCoordinator() = default;

int32_t GroupCoordinator::partition_for(std::string_view group_id) const {
  const int32_t count = partition_count_.load();
  return groups::offsets_partition_for(group_id, count > 0 ? count : config_.offsets_partitions);
}

// Created on first use on its own shard, once the partition count is known.
groups::GroupRegistry& GroupCoordinator::registry_here() {
  auto& state = *shard_states_.at(static_cast<size_t>(runtime::ShardPool::current_shard()));
  if (!state.registry) {
    const int32_t count = partition_count_.load();
    state.registry = std::make_unique<groups::GroupRegistry>(
        config_.limits, count > 0 ? count : config_.offsets_partitions,
        static_cast<size_t>(config_.offsets_segment_bytes),
        [this](int32_t partition, std::vector<uint8_t> batch, groups::DoneCallback done) {
          append(partition, std::move(batch), std::move(done));
        },
        [] { return wall_clock_ms(); });
  }
  return *state.registry;
}

void GroupCoordinator::append(int32_t partition_index, std::vector<uint8_t> batch,
                              groups::DoneCallback done) {
  // A coordinator write: a transactional offset commit carries no sequence.
  append_durably(partitions_, kOffsetsTopic, partition_index, std::move(batch),
                 storage::AppendOrigin::kCoordinator, std::move(done));
}

void GroupCoordinator::tick_here(int64_t elapsed_ms) {
  if (!active()) return;
  auto& state = *shard_states_.at(static_cast<size_t>(runtime::ShardPool::current_shard()));
  state.since_retention_ms += elapsed_ms;
  const bool retention_due = state.since_retention_ms >= config_.retention_check_interval_ms;
  if (retention_due) state.since_retention_ms = 0;
  registry_here().tick(retention_due);
}

void GroupCoordinator::complete_transaction_here(int32_t offsets_partition, int64_t producer_id,
                                                 bool commit) {
  if (!active()) return;
  registry_here().complete_transaction(offsets_partition, producer_id, commit);
}

TxnMarkerListener GroupCoordinator::marker_listener() {
  return [this](const std::string& topic, int32_t partition, int64_t producer_id, bool commit) {
    if (topic == kOffsetsTopic) complete_transaction_here(partition, producer_id, commit);
  };
}

// Owner shard: rebuilds this partition's state from its whole log.
Status GroupCoordinator::replay_partition(int32_t partition_index) {
  Partition* partition = partitions_.find(std::string(kOffsetsTopic), partition_index);
  if (partition == nullptr) {
    if (partitions_.is_cluster_node()) return {};  // placed on another node
    return Error{ErrorCode::kUnknownTopicOrPartition,
                 fmt::format("{}-{} is not open", kOffsetsTopic, partition_index)};
  }
  return replay_log(*partition->log, fmt::format("{}-{}", kOffsetsTopic, partition_index),
                    [&](std::span<const uint8_t> chunk) {
                      return registry_here().replay(partition_index, chunk);
                    });
}

void GroupCoordinator::unload_all() {
  for (unsigned shard = 0; shard < partitions_.shards().count(); ++shard) {
    std::promise<void> done;
    boost::asio::post(partitions_.shards().executor(shard), [this, &done] {
      auto& state = *shard_states_.at(static_cast<size_t>(runtime::ShardPool::current_shard()));
      if (state.registry) state.registry->unload_all();
      done.set_value();
    });
    done.get_future().wait();
  }
}

Status GroupCoordinator::load_all(const metadata::MetadataImage& image) {
  const metadata::TopicInfo* topic = image.find(std::string(kOffsetsTopic));
  if (topic == nullptr) return {};
  activate(topic->partition_count);
  return replay_partitions(
      partitions_, kOffsetsTopic, topic->partition_count,
      [this](int32_t partition) { return replay_partition(partition); },
      [this] { registry_here().finish_load(); });
}

}  // namespace fjord::broker
