// libFuzzer target: the quorum-state parser must reject any damage cleanly and
// round-trip what it accepts.
#include <cstdlib>

#include "raft/log_storage/quorum_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fjord::raft;
  auto state = parse_quorum_state({data, size});
  if (state.ok() && encode_quorum_state(*state) != std::vector<uint8_t>(data, data + size)) {
    std::abort();
  }
  return 0;
}
