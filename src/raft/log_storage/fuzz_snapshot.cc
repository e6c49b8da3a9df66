// libFuzzer target: the snapshot file parser must reject any damage cleanly and
// round-trip what it accepts.
#include <cstdlib>

#include "raft/log_storage/snapshot_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fjord::raft;
  auto snapshot = parse_snapshot({data, size});
  if (snapshot.ok() &&
      encode_snapshot(snapshot->meta, *snapshot->data) != std::vector<uint8_t>(data, data + size)) {
    std::abort();
  }
  return 0;
}
