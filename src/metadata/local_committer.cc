#include "metadata/local_committer.h"

#include <fmt/core.h>

#include <cstdlib>

#include "metadata/snapshot.h"

namespace fjord::metadata {

LocalCommitter::LocalCommitter(std::filesystem::path dir, std::unique_ptr<MetadataLog> log,
                               MetadataStateMachine& state_machine,
                               const LocalCommitterOptions& options)
    : dir_(std::move(dir)),
      log_(std::move(log)),
      state_machine_(state_machine),
      options_(options) {}

Result<std::unique_ptr<LocalCommitter>> LocalCommitter::open(const std::filesystem::path& dir,
                                                             MetadataStateMachine& state_machine,
                                                             const LocalCommitterOptions& options,
                                                             int64_t now_ms) {
  auto log = MetadataLog::open(dir, now_ms);
  if (!log) return log.error();
  std::unique_ptr<LocalCommitter> committer(
      new LocalCommitter(dir, std::move(*log), state_machine, options));
  if (Status s = committer->load(now_ms); !s) return s.error();
  return committer;
}

Status LocalCommitter::load(int64_t now_ms) {
  auto snapshots = list_snapshots(dir_);
  if (!snapshots) return snapshots.error();
  int64_t replay_from = 0;
  if (!snapshots->empty()) {
    const SnapshotId& newest = snapshots->front();
    auto image = load_snapshot_file(dir_, newest, state_machine_.image()->cluster_id);
    if (!image) return image.error();
    if (log_->end_offset() < newest.end_offset) {
      return Error{ErrorCode::kKafkaStorageError,
                   fmt::format("the metadata log in {} ends at offset {}, before the end {} of "
                               "its newest snapshot",
                               dir_.string(), log_->end_offset(), newest.end_offset)};
    }
    state_machine_.reset(std::move(*image));
    replay_from = newest.end_offset;
  }
  Status replayed =
      log_->replay(replay_from, [&](int64_t offset, const MetadataRecordView& record) {
        bytes_since_snapshot_ += static_cast<int64_t>(record.body.size());
        return state_machine_.apply(offset, record);
      });
  if (!replayed) return replayed;
  state_machine_.publish();
  if (bytes_since_snapshot_ >= options_.snapshot_after_bytes) return take_snapshot(now_ms);
  return {};
}

Result<int64_t> LocalCommitter::commit(const std::vector<std::vector<uint8_t>>& records,
                                       int64_t now_ms) {
  auto last_offset = log_->append(records, now_ms);
  if (!last_offset) return last_offset.error();
  const int64_t base_offset = *last_offset - static_cast<int64_t>(records.size()) + 1;
  // The records are durable: an image that does not show them would diverge
  // from what every restart rebuilds, so a failure here is a broken invariant.
  if (Status s = state_machine_.apply_batch(base_offset, records); !s) {
    fmt::print(stderr, "metadata: cannot apply committed batch at {}: {}\n", base_offset,
               s.error().message);
    std::abort();
  }
  state_machine_.publish();
  for (const auto& record : records) bytes_since_snapshot_ += static_cast<int64_t>(record.size());
  if (bytes_since_snapshot_ >= options_.snapshot_after_bytes) {
    // The change is durable in the log either way; a missing snapshot only
    // makes the next start-up replay more.
    if (Status s = take_snapshot(now_ms); !s) {
      fmt::print(stderr, "metadata: cannot write a snapshot in {}: {}\n", dir_.string(),
                 s.error().message);
    }
  }
  return *last_offset;
}

Status LocalCommitter::take_snapshot(int64_t now_ms) {
  const auto image = state_machine_.image();
  auto written = write_snapshot_file(dir_, *image, 0, now_ms);
  if (!written) return written.error();
  bytes_since_snapshot_ = 0;
  return remove_old_snapshots(dir_, options_.snapshots_kept);
}

Status LocalCommitter::close() { return log_->close(); }

}  // namespace fjord::metadata
