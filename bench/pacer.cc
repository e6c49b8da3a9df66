#include "pacer.h"

#include <cassert>
#include <cmath>
#include <limits>

namespace fjord::bench {

RatePacer::RatePacer(double rate_bytes_per_s, int64_t message_bytes, int64_t start_ns)
    : interval_ns_(
          rate_bytes_per_s > 0 ? 1e9 * static_cast<double>(message_bytes) / rate_bytes_per_s : 0),
      start_ns_(start_ns) {
  assert(message_bytes > 0);
}

int64_t RatePacer::intended_send_ns(uint64_t sequence) const {
  if (unlimited()) return start_ns_;
  return start_ns_ +
         static_cast<int64_t>(std::llround(static_cast<double>(sequence) * interval_ns_));
}

uint64_t RatePacer::messages_due(int64_t now_ns) const {
  if (unlimited()) return std::numeric_limits<uint64_t>::max();
  if (now_ns < start_ns_) return 0;
  const double elapsed_ns = static_cast<double>(now_ns - start_ns_);
  auto due = static_cast<uint64_t>(std::floor(elapsed_ns / interval_ns_)) + 1;
  // Rounding in intended_send_ns may put a boundary message 1 ns either side.
  while (due > 0 && intended_send_ns(due - 1) > now_ns) due--;
  while (intended_send_ns(due) <= now_ns) due++;
  return due;
}

}  // namespace fjord::bench
