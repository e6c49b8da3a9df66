// An outbound message: bytes in memory with byte ranges of files spliced in.
// Fetch responses carry record batches as file ranges so that the network layer
// can send them with sendfile(2) instead of copying them through user space.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace fjord {

// A byte range of an open file. `owner` keeps the file (e.g. a log segment) open
// until the range has been sent, even if retention deletes the segment meanwhile.
struct FileRange {
  int fd = -1;
  uint64_t offset = 0;
  uint32_t length = 0;
  std::shared_ptr<const void> owner;
};

// A file range to send just before bytes[at].
struct Splice {
  size_t at = 0;
  FileRange range;
};

struct OutboundMessage {
  std::vector<uint8_t> bytes;
  std::vector<Splice> splices;  // ordered by `at`

  size_t size() const {
    size_t n = bytes.size();
    for (const auto& s : splices) n += s.range.length;
    return n;
  }
};

}  // namespace fjord
