// GroupRegistry: the groups of the __consumer_offsets partitions one shard owns.
// It creates and finds groups, drives their timers, expires old offsets, and
// turns what groups persist into record batches for their partition. It is
// rebuilt on start-up by replaying those partitions. Used from its shard only.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "groups/group.h"

namespace fjord::groups {

class GroupRegistry {
 public:
  // Appends one batch to `partition` of __consumer_offsets and calls back once it
  // is durable (kNone) or failed.
  using AppendFn =
      std::function<void(int32_t partition, std::vector<uint8_t> batch, DoneCallback done)>;
  using ClockFn = std::function<int64_t()>;

  GroupRegistry(const GroupLimits& limits, int32_t offsets_partitions, size_t max_batch_bytes,
                AppendFn append, ClockFn clock);

  // nullptr if the group does not exist (or is Dead).
  std::shared_ptr<Group> find(const std::string& group_id) const;
  std::shared_ptr<Group> get_or_create(const std::string& group_id);
  // Forgets a group that died (deleted, or expired).
  void erase_if_dead(const std::string& group_id);
  // Forgets a group a failed request created.
  void forget_if_unused(const std::string& group_id);

  // Session, rebalance and sync timeouts; offset retention when `retention_due`.
  void tick(bool retention_due);

  // Shutdown: answers every waiting request (Group::unload).
  void unload_all();

  // A producer's COMMIT/ABORT marker is durable in `partition`: completes the
  // transaction in the groups of that partition holding its offsets.
  void complete_transaction(int32_t partition, int64_t producer_id, bool commit);

  // Start-up: applies the records of `partition`, in log order, transactional
  // offsets pending until their producer's marker.
  Status replay(int32_t partition, std::span<const uint8_t> batches);
  // After replaying: drops groups that hold nothing.
  void finish_load();

  template <typename Fn>
  void for_each(Fn fn) const {
    for (const auto& [id, group] : groups_) fn(*group);
  }
  size_t size() const { return groups_.size(); }

 private:
  WriteFn writer_for(const std::string& group_id);
  std::shared_ptr<Group> create(const std::string& group_id);

  const GroupLimits& limits_;
  int32_t offsets_partitions_;
  size_t max_batch_bytes_;
  AppendFn append_;
  ClockFn clock_;
  std::unordered_map<std::string, std::shared_ptr<Group>> groups_;
  // Producer id -> groups that held offsets of its transaction. Entries may be
  // stale (the group was deleted, or dropped the offsets); markers clean them up.
  std::unordered_map<int64_t, std::set<std::string>> txn_groups_;
};

}  // namespace fjord::groups
