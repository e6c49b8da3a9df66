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
  if (!slot || slot->state() == GroupState::kDead) {
    slot = std::make_shared<Group>(group_id, limits_, writer_for(group_id), clock_());
  }
  return slot;
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
  return [this, partition](std::vector<OffsetsTopicRecord> records, DoneCallback done) {
    auto batch = build_batch(records, clock_(), max_batch_bytes_);
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

Status GroupRegistry::replay(std::span<const uint8_t> batches) {
  const int64_t now_ms = clock_();
  return for_each_record(batches, [&](OffsetsTopicRecord&& record) {
    if (auto* offset = std::get_if<OffsetRecord>(&record)) {
      auto group = get_or_create(offset->key.group);
      group->restore_offset({offset->key.topic, offset->key.partition}, std::move(offset->value));
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
  });
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
