#include "groups/group_registry.h"

#include <fmt/core.h>

namespace fjord::groups {

GroupRegistry::GroupRegistry(const GroupLimits& limits, int32_t offsets_partitions,
                             size_t max_batch_bytes, AppendFn append, ClockFn clock)
    : limits_(limits),
      offsets_partitions_(offsets_partitions),
      max_batch_bytes_(max_batch_bytes),
      append_(std::move(append)),
      clock_(std::move(clock)) {}

std::shared_ptr<Group> GroupRegistry::find(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  if (it == groups_.end() || it->second->state() == GroupState::kDead) return nullptr;
  return it->second;
}

std::shared_ptr<Group> GroupRegistry::get_or_create(const std::string& group_id) {
  auto& slot = groups_[group_id];
  if (!slot || slot->state() == GroupState::kDead) slot = create(group_id);
  return slot;
}

std::shared_ptr<Group> GroupRegistry::create(const std::string& group_id) {
  auto group = std::make_shared<Group>(group_id, limits_, writer_for(group_id), clock_());
  group->set_txn_observer(
      [this, group_id](int64_t producer_id) { txn_groups_[producer_id].insert(group_id); });
  return group;
}

void GroupRegistry::erase_if_dead(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it != groups_.end() && it->second->state() == GroupState::kDead) groups_.erase(it);
}

void GroupRegistry::forget_if_unused(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it != groups_.end() && it->second->is_unused()) groups_.erase(it);
}

// A failed append reaches the client as "try again" (COORDINATOR_NOT_AVAILABLE),
// except an oversized commit, which retrying cannot fix.
WriteFn GroupRegistry::writer_for(const std::string& group_id) {
  const int32_t partition = offsets_partition_for(group_id, offsets_partitions_);
  return [this, partition](std::vector<OffsetsTopicRecord> records,
                           const std::optional<TxnProducer>& txn, DoneCallback done) {
    auto batch = build_batch(records, clock_(), max_batch_bytes_, txn);
    if (!batch) {
      done(batch.error().code == ErrorCode::kMessageTooLarge ? ErrorCode::kInvalidCommitOffsetSize
                                                             : ErrorCode::kUnknownServerError);
      return;
    }
    append_(partition, std::move(*batch), [done = std::move(done)](ErrorCode error) {
      if (error == ErrorCode::kNone) {
        done(ErrorCode::kNone);
      } else if (error == ErrorCode::kMessageTooLarge) {
        done(ErrorCode::kInvalidCommitOffsetSize);
      } else if (error == ErrorCode::kInvalidProducerEpoch || error == ErrorCode::kProducerFenced) {
        done(error);  // a fenced transactional producer: retrying cannot help
      } else {
        done(ErrorCode::kCoordinatorNotAvailable);
      }
    });
  };
}

void GroupRegistry::tick(bool retention_due) {
  const int64_t now_ms = clock_();
  for (auto it = groups_.begin(); it != groups_.end();) {
    auto group = it->second;  // a tick may answer requests; keep the group alive
    group->tick(now_ms);
    if (retention_due) group->expire_offsets(now_ms);
    it = group->state() == GroupState::kDead ? groups_.erase(it) : std::next(it);
  }
}

void GroupRegistry::unload_all() {
  for (auto& [id, group] : groups_) group->unload();
}

void GroupRegistry::complete_transaction(int32_t partition, int64_t producer_id, bool commit) {
  auto holders = txn_groups_.find(producer_id);
  if (holders == txn_groups_.end()) return;
  auto& group_ids = holders->second;
  for (auto id = group_ids.begin(); id != group_ids.end();) {
    if (offsets_partition_for(*id, offsets_partitions_) != partition) {
      ++id;
      continue;
    }
    auto group = groups_.find(*id);
    if (group != groups_.end()) group->second->complete_transaction(producer_id, commit);
    id = group_ids.erase(id);
  }
  if (group_ids.empty()) txn_groups_.erase(holders);
}

Status GroupRegistry::replay(int32_t partition, std::span<const uint8_t> batches) {
  const int64_t now_ms = clock_();
  OffsetsLogVisitor visitor;
  visitor.on_txn_marker = [&](int64_t producer_id, bool commit) {
    complete_transaction(partition, producer_id, commit);
  };
  visitor.on_record = [&](int64_t txn_producer_id, OffsetsTopicRecord&& record) {
    if (auto* offset = std::get_if<OffsetRecord>(&record)) {
      auto group = get_or_create(offset->key.group);
      const TopicPartition key{offset->key.topic, offset->key.partition};
      // Kafka applies a tombstone at once even in a transactional batch.
      if (txn_producer_id >= 0 && offset->value) {
        group->restore_txn_offset(txn_producer_id, key, *offset->value);
      } else {
        group->restore_offset(key, std::move(offset->value));
      }
      return;
    }
    auto& metadata = std::get<GroupMetadataRecord>(record);
    if (!metadata.value) {
      // The group's metadata goes; offsets not tombstoned themselves stay, as an
      // Empty group (Kafka loads the two apart).
      auto it = groups_.find(metadata.group);
      if (it != groups_.end() && it->second->has_offsets()) {
        it->second->restore(GroupRecord{}, now_ms);
      } else if (it != groups_.end()) {
        groups_.erase(it);
      }
      return;
    }
    get_or_create(metadata.group)->restore(*metadata.value, now_ms);
  };
  return for_each_entry(batches, visitor);
}

void GroupRegistry::finish_load() {
  for (auto it = groups_.begin(); it != groups_.end();) {
    const Group& group = *it->second;
    const bool holds_nothing =
        group.state() == GroupState::kEmpty && !group.has_offsets() && group.generation() == 0;
    it = holds_nothing ? groups_.erase(it) : std::next(it);
  }
}

}  // namespace fjord::groups
