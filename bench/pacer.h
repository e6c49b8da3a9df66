// RatePacer: the schedule of a fixed-rate sender. Message n is planned at
// start + n * message_bytes / rate, so a sender that falls behind (a stalled
// thread, a full queue) catches up instead of silently lowering the rate, and the
// planned time is what a coordinated-omission-free latency is measured from.
#pragma once

#include <cstdint>

namespace fjord::bench {

class RatePacer {
 public:
  // rate_bytes_per_s <= 0 means unlimited: every message is due at once.
  RatePacer(double rate_bytes_per_s, int64_t message_bytes, int64_t start_ns);

  bool unlimited() const { return interval_ns_ <= 0; }
  // The planned send time of message `sequence` (0-based); start_ns if unlimited.
  int64_t intended_send_ns(uint64_t sequence) const;
  // How many messages are planned at or before now_ns (0 before the start).
  // Unlimited: UINT64_MAX.
  uint64_t messages_due(int64_t now_ns) const;

 private:
  double interval_ns_;  // between two messages; <= 0: unlimited
  int64_t start_ns_;
};

}  // namespace fjord::bench
