// Log compaction (cleanup.policy compact): keeps the latest record per key, never
// changes offsets. PartitionLog::prepare_compaction() snapshots closed segments on
// the owner thread, run() writes `<base>.log.cleaned` files on any thread, and
// PartitionLog::install_compaction() swaps them in on the owner thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/result.h"
#include "storage/file.h"
#include "storage/txn_index.h"

namespace fjord::storage {

struct CompactionInput {
  int64_t base_offset = 0;
  int64_t end_offset = 0;   // next segment's base
  uint64_t segment_id = 0;  // Segment::id(), to detect a segment replaced meanwhile
  uint64_t size_bytes = 0;
  std::shared_ptr<File> file;
};

struct CompactionOutput {
  int64_t base_offset = 0;
  uint64_t segment_id = 0;
  uint64_t size_bytes = 0;
  std::filesystem::path log_path;  // the .cleaned files
  std::filesystem::path index_path;
  std::filesystem::path time_index_path;
};

struct CompactionStats {
  int64_t records_read = 0;
  int64_t records_kept = 0;
  int64_t batches_dropped = 0;
  int64_t aborted_batches_dropped = 0;
};

class CompactionJob {
 public:
  // `aborted`: the aborted transactions whose records may lie in the inputs;
  // their records are dropped and never count as a key's latest value.
  CompactionJob(std::filesystem::path dir, std::vector<CompactionInput> inputs, int64_t now_ms,
                int64_t delete_retention_ms, int32_t index_interval_bytes,
                std::vector<AbortedTxn> aborted = {});
  ~CompactionJob();  // removes .cleaned files that were not installed
  CompactionJob(const CompactionJob&) = delete;
  CompactionJob& operator=(const CompactionJob&) = delete;

  // Any thread. Reads only the snapshot's files (kept open by the job).
  Status run();

  bool finished() const { return finished_; }
  const std::vector<CompactionInput>& inputs() const { return inputs_; }
  const std::vector<CompactionOutput>& outputs() const { return outputs_; }
  // The end of the compacted range: the new cleaner offset once installed.
  int64_t end_offset() const { return inputs_.empty() ? 0 : inputs_.back().end_offset; }
  const CompactionStats& stats() const { return stats_; }
  void mark_installed() { installed_ = true; }

 private:
  std::filesystem::path dir_;
  std::vector<CompactionInput> inputs_;
  std::vector<CompactionOutput> outputs_;
  std::vector<AbortedTxn> aborted_;
  int64_t now_ms_;
  int64_t delete_retention_ms_;
  int32_t index_interval_bytes_;
  bool finished_ = false;
  bool installed_ = false;
  CompactionStats stats_;
};

}  // namespace fjord::storage
