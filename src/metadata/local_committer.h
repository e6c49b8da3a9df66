// LocalCommitter: the single-node MetadataCommitter. Owns the MetadataLog in
// <data dir>/__cluster_metadata-0; at open it loads the newest snapshot there
// and replays the log after it; for each commit it appends one fsynced batch,
// applies it, and takes a snapshot every snapshot_after_bytes of records.
#pragma once

#include <filesystem>
#include <memory>

#include "metadata/committer.h"
#include "metadata/metadata_log.h"
#include "metadata/state_machine.h"

namespace fjord::metadata {

struct LocalCommitterOptions {
  // metadata.log.max.record.bytes.between.snapshots (Kafka's default, 20 MiB).
  int64_t snapshot_after_bytes = 20 << 20;
  size_t snapshots_kept = 2;
};

class LocalCommitter final : public MetadataCommitter {
 public:
  // Opens the log in `dir`, loads the newest snapshot and replays the log after
  // it into `state_machine` (whose image gives the cluster id), then publishes.
  static Result<std::unique_ptr<LocalCommitter>> open(const std::filesystem::path& dir,
                                                      MetadataStateMachine& state_machine,
                                                      const LocalCommitterOptions& options,
                                                      int64_t now_ms);

  Result<int64_t> commit(const std::vector<std::vector<uint8_t>>& records, int64_t now_ms) override;
  // Writes a snapshot of the published image now (and drops old ones).
  Status take_snapshot(int64_t now_ms);
  Status close();

 private:
  LocalCommitter(std::filesystem::path dir, std::unique_ptr<MetadataLog> log,
                 MetadataStateMachine& state_machine, const LocalCommitterOptions& options);
  Status load(int64_t now_ms);

  std::filesystem::path dir_;
  std::unique_ptr<MetadataLog> log_;
  MetadataStateMachine& state_machine_;
  LocalCommitterOptions options_;
  int64_t bytes_since_snapshot_ = 0;
};

}  // namespace fjord::metadata
