// LocalCommitter: the single-node MetadataCommitter. Owns the MetadataLog in
// <data dir>/__cluster_metadata-0, rebuilds the state machine from it at open
// and, for each commit, appends one fsynced batch and applies it.
#pragma once

#include <filesystem>
#include <memory>

#include "metadata/committer.h"
#include "metadata/metadata_log.h"
#include "metadata/state_machine.h"

namespace fjord::metadata {

class LocalCommitter final : public MetadataCommitter {
 public:
  // Opens the log in `dir` and replays it into `state_machine`, then publishes.
  static Result<std::unique_ptr<LocalCommitter>> open(const std::filesystem::path& dir,
                                                      MetadataStateMachine& state_machine,
                                                      int64_t now_ms);

  Result<int64_t> commit(const std::vector<std::vector<uint8_t>>& records, int64_t now_ms) override;
  Status close();

 private:
  LocalCommitter(std::unique_ptr<MetadataLog> log, MetadataStateMachine& state_machine);

  std::unique_ptr<MetadataLog> log_;
  MetadataStateMachine& state_machine_;
};

}  // namespace fjord::metadata
