// LogStorage: raft::Storage on Fjord's segmented partition log, for the node's
// Raft groups (the metadata group now, partition replicas later). One
// directory per group: the partition log's files, `quorum-state` and
// `<end>-<term>.checkpoint` snapshots (formats: docs/raft-storage.md).
//
// Storage has no error path: an I/O error or a malformed entry here stops the
// process with a message (as Kafka halts on a failed metadata log dir). Errors
// found while opening are values. Not thread-safe: the group's driver owns it.
#pragma once

#include <filesystem>
#include <memory>

#include "common/result.h"
#include "raft/log_storage/term_index.h"
#include "raft/storage.h"
#include "storage/log_config.h"
#include "storage/partition_log.h"

namespace fjord::raft {

struct LogStorageOptions {
  // Segment and index sizes; retention and compaction never apply to a Raft log.
  storage::LogConfig log = default_log_config();
  static storage::LogConfig default_log_config();
};

class LogStorage final : public Storage {
 public:
  // Creates the directory for a new group or loads an existing one: the hard
  // state, the newest valid snapshot, the log (recovered after a crash: a torn
  // tail or a gap left by a crash is cut) and its term index. Errors:
  // kCorruptMessage for a damaged quorum-state, a log that is not a Raft log
  // (terms going back, foreign control batches) or that does not reach back to
  // the snapshot,
  // kKafkaStorageError for I/O.
  static Result<std::unique_ptr<LogStorage>> open(const std::filesystem::path& dir,
                                                  const LogStorageOptions& options = {});
  // Without close() this is like a crash: unsynced hard state is lost.
  ~LogStorage() override;
  LogStorage(const LogStorage&) = delete;
  LogStorage& operator=(const LogStorage&) = delete;

  HardState hard_state() const override { return hard_state_; }
  SnapshotMeta snapshot_meta() const override { return snapshot_; }
  std::shared_ptr<const Bytes> snapshot_data() const override { return snapshot_data_; }
  Offset start_offset() const override { return log_->log_start_offset(); }
  Offset end_offset() const override { return log_->log_end_offset(); }
  std::optional<Term> term_at(Offset offset) const override;
  std::vector<Entry> entries(Offset from, Offset to, size_t max_bytes) const override;

  void save_hard_state(const HardState& state) override;
  void append(std::span<const Entry> entries) override;
  void save_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data) override;
  void sync() override;

  // sync(), then a clean shutdown of the log (no recovery scan at the next open).
  Status close();
  const std::filesystem::path& dir() const { return dir_; }

 private:
  LogStorage(std::filesystem::path dir, std::unique_ptr<storage::PartitionLog> log);
  Status load_terms();
  Status cut_at_gap(Offset offset);
  Status reconcile_with_snapshot();
  Status move_log_start(const SnapshotMeta& meta);
  Status append_batches(std::span<uint8_t> batches, Offset expected_base);

  std::filesystem::path dir_;
  std::unique_ptr<storage::PartitionLog> log_;
  HardState hard_state_;
  HardState durable_hard_state_;
  SnapshotMeta snapshot_;
  std::shared_ptr<const Bytes> snapshot_data_ = std::make_shared<const Bytes>();
  TermIndex terms_;
  std::vector<uint8_t> append_buffer_;  // reused by append(); capacity kept
};

}  // namespace fjord::raft
