// MetadataStateMachine: applies committed batches of metadata records to the
// MetadataImage and publishes it. It knows nothing of where the records come
// from (the single-node MetadataLog at start-up, a LocalLogCommitter after each
// change, or, on a cluster, the committed entries of the Raft metadata log on
// every node), so every node that applies the same log builds the same image.
// Apply is deterministic: no clocks, no random numbers; whatever varies (a new
// topic's id, a broker's placement) was chosen when the records were made.
//
// One thread applies (the committer or the Raft driver); any thread may read
// image(). Applying changes a private working copy; publish() makes it visible.
// Topics that did not change stay shared between the old and the new image.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "metadata/image.h"
#include "metadata/metadata_log.h"

namespace fjord::metadata {

class MetadataStateMachine {
 public:
  explicit MetadataStateMachine(std::shared_ptr<const MetadataImage> initial);

  // The last published image; cheap, lock-free, callable from any thread.
  std::shared_ptr<const MetadataImage> image() const { return published_.load(); }

  // Applies one record at `offset`. Not visible until publish(). An error
  // (a record that cannot be decoded) leaves the working image as it was
  // before this record; the caller must not go on past it.
  Status apply(int64_t offset, const MetadataRecordView& record);
  // Applies one committed batch: record_values[i] (framed records) is at
  // base_offset + i. Stops at the first bad record.
  Status apply_batch(int64_t base_offset, std::span<const std::vector<uint8_t>> record_values);
  // Makes everything applied so far visible to image() readers.
  void publish();
  // Replaces the state with `image` (a loaded snapshot) and publishes it.
  void reset(std::shared_ptr<const MetadataImage> image);

  // The offset of the last applied record (published or not); -1 before any.
  int64_t applied_offset() const;

 private:
  MetadataImage& working();
  // `topic` as a copy that only the working image holds, so it can change in place.
  TopicInfo& own(const TopicInfo& topic);

  std::atomic<std::shared_ptr<const MetadataImage>> published_;
  std::shared_ptr<MetadataImage> working_;  // null when nothing is unpublished
  // Topics created or copied since the last publish(): no published image
  // holds them, so applying changes them in place instead of copying each time.
  std::unordered_set<const TopicInfo*> owned_topics_;
};

}  // namespace fjord::metadata
