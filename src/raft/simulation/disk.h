// A simulated disk for one node: a Storage whose writes are buffered until
// sync(). It keeps two MemoryStorage copies: `live` (what the running Raft
// reads and writes) and `durable` (what survives a crash), plus the writes
// since the last sync in order. A crash keeps the durable copy and, like a real
// disk, possibly some prefix of the unsynced writes with the last of them torn
// (only some of its entries written); never less than what was synced.
//
// It also keeps the checker's view of the live log (NodeLog with chain
// digests) and the entries appended since the cluster last looked.
#pragma once

#include <memory>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/simulation/checker.h"
#include "raft/simulation/random.h"
#include "raft/storage.h"

namespace fjord::raft::sim {

// A snapshot's data in the simulation: the state machine's applied end offset
// and digest (16 bytes, little-endian).
std::shared_ptr<const Bytes> encode_state(Offset end_offset, uint64_t digest);
// {end offset, digest} of snapshot data; a missing snapshot (bootstrap) is {0, 0}.
std::pair<Offset, uint64_t> decode_state(const std::shared_ptr<const Bytes>& data);

class SimDisk final : public Storage {
 public:
  SimDisk() = default;

  HardState hard_state() const override { return live_.hard_state(); }
  SnapshotMeta snapshot_meta() const override { return live_.snapshot_meta(); }
  std::shared_ptr<const Bytes> snapshot_data() const override { return live_.snapshot_data(); }
  Offset start_offset() const override { return live_.start_offset(); }
  Offset end_offset() const override { return live_.end_offset(); }
  std::optional<Term> term_at(Offset offset) const override { return live_.term_at(offset); }
  std::vector<Entry> entries(Offset from, Offset to, size_t max_bytes) const override {
    return live_.entries(from, to, max_bytes);
  }

  void save_hard_state(const HardState& state) override;
  void append(std::span<const Entry> entries) override;
  void save_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data) override;
  void sync() override;

  // The node crashed: keep the durable copy plus a random prefix of the
  // unsynced writes (the last one torn when `torn`).
  void crash(Rng& rng, bool torn);

  // The state machine is about to hand this snapshot to Raft (snapshot_taken).
  void expect_local_snapshot(std::shared_ptr<const Bytes> data) {
    local_snapshot_data_ = std::move(data);
  }
  // Unsynced writes of the term, vote, log or an installed snapshot: messages
  // must not leave before these are synced. A snapshot the node took itself
  // may stay unsynced (losing it loses nothing: the log below it is durable).
  bool has_unsynced_raft_state() const;
  const NodeLog& log() const { return log_; }
  // Entries appended to the live log since the last call, for log matching.
  std::vector<LoggedEntry> take_new_entries();

 private:
  struct Write {
    enum class Kind { kHardState, kAppend, kSnapshot } kind = Kind::kHardState;
    HardState hard_state{};
    std::vector<Entry> entries{};
    SnapshotMeta meta{};
    std::shared_ptr<const Bytes> data{};
    bool local_snapshot = false;
  };

  static void apply(MemoryStorage& storage, const Write& write);
  void log_appended(std::span<const Entry> entries);
  void log_snapshot_saved();
  void rebuild_log();

  MemoryStorage live_;
  MemoryStorage durable_;
  std::vector<Write> unsynced_;  // bounded: the driver syncs after every Ready that wrote
  NodeLog log_;
  std::vector<LoggedEntry> new_entries_;
  std::shared_ptr<const Bytes> local_snapshot_data_;
};

}  // namespace fjord::raft::sim
