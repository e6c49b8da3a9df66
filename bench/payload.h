// The bytes of one load-tool message. Latency runs stamp each message so the
// consumer can compute end-to-end latency; the other modes send the same layout so
// every run's data looks alike on the broker. All integers are big-endian:
//   0  u64 magic "FJLOAD01"      8  u64 run id (ignore messages of other runs)
//  16  u64 sequence number      24  i64 intended send time, steady clock ns
//  32  i64 actual send time, steady clock ns       40  filler up to the message size
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace fjord::bench {

inline constexpr size_t kPayloadHeaderBytes = 40;

struct PayloadStamp {
  uint64_t run_id = 0;
  uint64_t sequence = 0;
  int64_t intended_send_ns = 0;
  int64_t actual_send_ns = 0;
};

// Writes the stamp into the first kPayloadHeaderBytes of `message`, which must be
// at least that long; the rest of the buffer is left as it is.
void write_stamp(std::span<uint8_t> message, const PayloadStamp& stamp);

// The stamp of a message, or nothing if it is too short or has no magic.
std::optional<PayloadStamp> read_stamp(std::span<const uint8_t> message);

}  // namespace fjord::bench
