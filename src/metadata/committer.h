// MetadataCommitter: how the Controller makes its records part of the metadata
// log. The Controller validates a request and turns it into records; the
// committer makes them one durable batch and returns once the state machine
// applied it, so the caller's next image() read shows the change.
// Implementations: LocalCommitter (one node, the MetadataLog on its disk) and,
// on a cluster, one that proposes the batch to the Raft leader and waits until
// the committed entry is applied on this node.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"

namespace fjord::metadata {

class MetadataCommitter {
 public:
  virtual ~MetadataCommitter() = default;
  // `records` are framed metadata records (frame_metadata_record), all applied
  // or none. Returns the offset of the last record once it is durable and
  // applied. Errors: kNotController when this node cannot commit (it does not
  // lead the quorum), kKafkaStorageError, kRequestTimedOut.
  virtual Result<int64_t> commit(const std::vector<std::vector<uint8_t>>& records,
                                 int64_t now_ms) = 0;
};

}  // namespace fjord::metadata
