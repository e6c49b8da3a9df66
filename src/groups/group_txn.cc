// Transactional offset commits of a Group (TxnOffsetCommit, KIP-98 / KIP-447).
// The offsets are written at once, in a transactional batch of the producer, but
// count only once the producer's COMMIT marker follows them in the partition;
// until then they are pending, per producer.
#include <fmt/core.h>

#include "groups/group.h"

namespace fjord::groups {

// As Kafka's ClassicGroup.validateOffsetCommit for a transactional commit: a
// producer outside group management (generation -1, no member) may commit to
// any group; one that names its consumer's generation or member is checked.
ErrorCode Group::validate_txn_commit(const TxnCommitRequest& request) const {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  if (request.generation < 0 && state_ == GroupState::kEmpty) return ErrorCode::kNone;
  const bool names_member =
      request.generation >= 0 || !request.member_id.empty() || request.group_instance_id;
  if (!names_member) return ErrorCode::kNone;
  if (ErrorCode error = validate_member(request.member_id, request.group_instance_id);
      error != ErrorCode::kNone) {
    return error;
  }
  if (request.generation != generation_) return ErrorCode::kIllegalGeneration;
  return ErrorCode::kNone;
}

void Group::txn_commit(const TxnCommitRequest& request, DoneCallback done) {
  if (ErrorCode error = validate_txn_commit(request); error != ErrorCode::kNone) {
    done(error);
    return;
  }
  const int64_t producer_id = request.producer.producer_id;
  size_t added = 0;
  auto known = pending_txn_offsets_.find(producer_id);
  for (const auto& [partition, offset] : request.offsets) {
    if (known == pending_txn_offsets_.end() || !known->second.contains(partition)) ++added;
  }
  if (pending_txn_offset_count_ + added > static_cast<size_t>(limits_.max_pending_txn_offsets)) {
    fmt::print(stderr,
               "fjord: group {}: {} transactional offsets wait for their transactions' end, at "
               "most {} may (refusing producer {})\n",
               id_, pending_txn_offset_count_, limits_.max_pending_txn_offsets, producer_id);
    done(ErrorCode::kInvalidCommitOffsetSize);
    return;
  }
  const uint64_t position = next_position();
  std::vector<OffsetsTopicRecord> records;
  std::vector<TopicPartition> partitions;
  records.reserve(request.offsets.size());
  for (const auto& [partition, offset] : request.offsets) {
    records.push_back(OffsetRecord{{id_, partition.topic, partition.partition}, offset});
    partitions.push_back(partition);
    // Pending from now on: the marker can only follow the batch in the log.
    add_pending_txn_offset(producer_id, partition, offset, position);
  }
  write(
      std::move(records),
      [weak = weak_from_this(), producer_id, partitions = std::move(partitions), position,
       done = std::move(done)](ErrorCode error) {
        auto self = weak.lock();
        if (self && error != ErrorCode::kNone) {
          self->fail_txn_write(producer_id, partitions, position);
        }
        done(error);
      },
      request.producer);
}

void Group::add_pending_txn_offset(int64_t producer_id, const TopicPartition& partition,
                                   const CommittedOffset& value, uint64_t position) {
  auto [pending, new_producer] = pending_txn_offsets_.try_emplace(producer_id);
  auto [entry, added] = pending->second.insert_or_assign(partition, StoredOffset{value, position});
  if (added) ++pending_txn_offset_count_;
  if (new_producer && txn_observer_) txn_observer_(producer_id);
}

// A batch that did not reach the log holds nothing; offsets of the producer
// written by a later request (another position) stay.
void Group::fail_txn_write(int64_t producer_id, const std::vector<TopicPartition>& partitions,
                           uint64_t position) {
  auto pending = pending_txn_offsets_.find(producer_id);
  if (pending == pending_txn_offsets_.end()) return;
  for (const auto& partition : partitions) {
    auto entry = pending->second.find(partition);
    if (entry != pending->second.end() && entry->second.position == position) {
      pending->second.erase(entry);
      --pending_txn_offset_count_;
    }
  }
  if (pending->second.empty()) pending_txn_offsets_.erase(pending);
}

void Group::drop_pending_txn_offsets_of(const TopicPartition& partition) {
  for (auto pending = pending_txn_offsets_.begin(); pending != pending_txn_offsets_.end();) {
    if (pending->second.erase(partition) > 0) --pending_txn_offset_count_;
    pending = pending->second.empty() ? pending_txn_offsets_.erase(pending) : std::next(pending);
  }
}

void Group::complete_transaction(int64_t producer_id, bool commit) {
  auto node = pending_txn_offsets_.extract(producer_id);
  if (node.empty()) return;
  pending_txn_offset_count_ -= node.mapped().size();
  if (!commit || state_ == GroupState::kDead) return;
  for (const auto& [partition, pending] : node.mapped()) {
    store_offset(partition, pending.value, pending.position);
  }
}

bool Group::has_pending_txn_offset(const TopicPartition& partition) const {
  for (const auto& [producer_id, pending] : pending_txn_offsets_) {
    if (pending.contains(partition)) return true;
  }
  return false;
}

void Group::restore_txn_offset(int64_t producer_id, const TopicPartition& partition,
                               const CommittedOffset& value) {
  add_pending_txn_offset(producer_id, partition, value, next_position());
}

}  // namespace fjord::groups
