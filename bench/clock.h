// The one clock of the load tool: steady, in nanoseconds. Producer and consumer
// run in the same process, so their timestamps compare directly.
#pragma once

#include <chrono>
#include <cstdint>

namespace fjord::bench {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t seconds_to_ns(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

}  // namespace fjord::bench
