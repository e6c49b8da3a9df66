// MemoryStorage: a Storage held in memory. sync() does nothing: whatever was
// written is "durable". It is copyable so that a simulation can keep a durable
// copy next to the live one and restart a crashed node from it; the entries'
// payloads are shared, not copied.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "raft/storage.h"

namespace fjord::raft {

class MemoryStorage : public Storage {
 public:
  MemoryStorage();

  HardState hard_state() const override { return hard_state_; }
  SnapshotMeta snapshot_meta() const override { return snapshot_meta_; }
  std::shared_ptr<const Bytes> snapshot_data() const override { return snapshot_data_; }
  Offset start_offset() const override { return snapshot_meta_.end_offset; }
  Offset end_offset() const override;
  std::optional<Term> term_at(Offset offset) const override;
  std::vector<Entry> entries(Offset from, Offset to, size_t max_bytes) const override;

  void save_hard_state(const HardState& state) override { hard_state_ = state; }
  void append(std::span<const Entry> entries) override;
  void save_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data) override;
  void sync() override {}

  // Everything in the log, for tests and the simulation's checker.
  const std::vector<Entry>& all_entries() const { return entries_; }

 private:
  // Index into entries_ of the entry containing `offset`, or entries_.size().
  size_t index_of(Offset offset) const;

  HardState hard_state_;
  SnapshotMeta snapshot_meta_;
  std::shared_ptr<const Bytes> snapshot_data_;
  std::vector<Entry> entries_;  // contiguous, starting at snapshot_meta_.end_offset
};

}  // namespace fjord::raft
