// Snapshots larger than a frame: the sender splits one into chunks, each a
// kSnapshot message carrying a part of the data (docs/raft-transport.md,
// "Large snapshots"); the receiver puts them together again, per connection,
// and hands Raft the whole snapshot. Chunks of one connection arrive in order,
// so a gap or a chunk of another snapshot means one was lost: the partial
// snapshot is dropped, and the leader sends it again after its timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "raft/message.h"

namespace fjord::raft::transport {

// `message` as is when its snapshot fits in chunk_bytes, else its chunks.
std::vector<Message> split_snapshot(Message&& message, size_t chunk_bytes);

class SnapshotAssembler {
 public:
  // max_snapshot_bytes: a bigger snapshot is refused (dropped) at its first
  // chunk. max_in_progress: groups being assembled at once on a connection.
  SnapshotAssembler(size_t max_snapshot_bytes, size_t max_in_progress)
      : max_snapshot_bytes_(max_snapshot_bytes), max_in_progress_(max_in_progress) {}

  // A message that is not a chunk comes back as it is; a chunk is kept, and
  // the last one of a snapshot comes back as the whole snapshot. nullopt: kept
  // or dropped.
  std::optional<Message> add(Message&& message);
  uint64_t dropped_chunks() const { return dropped_chunks_; }

 private:
  struct Partial {
    Term term = 0;
    SnapshotMeta meta;
    int64_t total_bytes = 0;
    Bytes data;
  };
  const size_t max_snapshot_bytes_;
  const size_t max_in_progress_;
  std::map<GroupId, Partial> partial_;
  uint64_t dropped_chunks_ = 0;
};

}  // namespace fjord::raft::transport
