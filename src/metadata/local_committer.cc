#include "metadata/local_committer.h"

#include <fmt/core.h>

#include <cstdlib>

namespace fjord::metadata {

LocalCommitter::LocalCommitter(std::unique_ptr<MetadataLog> log,
                               MetadataStateMachine& state_machine)
    : log_(std::move(log)), state_machine_(state_machine) {}

Result<std::unique_ptr<LocalCommitter>> LocalCommitter::open(const std::filesystem::path& dir,
                                                             MetadataStateMachine& state_machine,
                                                             int64_t now_ms) {
  auto log = MetadataLog::open(dir, now_ms);
  if (!log) return log.error();
  Status replayed = (*log)->replay([&](int64_t offset, const MetadataRecordView& record) {
    return state_machine.apply(offset, record);
  });
  if (!replayed) return replayed.error();
  state_machine.publish();
  return std::unique_ptr<LocalCommitter>(new LocalCommitter(std::move(*log), state_machine));
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
  return *last_offset;
}

Status LocalCommitter::close() { return log_->close(); }

}  // namespace fjord::metadata
