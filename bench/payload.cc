#include "payload.h"

#include <cassert>

#include "common/endian.h"

namespace fjord::bench {
namespace {

constexpr uint64_t kMagic = 0x464a4c4f41443031;  // "FJLOAD01"

}  // namespace

void write_stamp(std::span<uint8_t> message, const PayloadStamp& stamp) {
  assert(message.size() >= kPayloadHeaderBytes);
  uint8_t* out = message.data();
  store_be<uint64_t>(out, kMagic);
  store_be<uint64_t>(out + 8, stamp.run_id);
  store_be<uint64_t>(out + 16, stamp.sequence);
  store_be<int64_t>(out + 24, stamp.intended_send_ns);
  store_be<int64_t>(out + 32, stamp.actual_send_ns);
}

std::optional<PayloadStamp> read_stamp(std::span<const uint8_t> message) {
  if (message.size() < kPayloadHeaderBytes) return std::nullopt;
  const uint8_t* in = message.data();
  if (load_be<uint64_t>(in) != kMagic) return std::nullopt;
  return PayloadStamp{
      .run_id = load_be<uint64_t>(in + 8),
      .sequence = load_be<uint64_t>(in + 16),
      .intended_send_ns = load_be<int64_t>(in + 24),
      .actual_send_ns = load_be<int64_t>(in + 32),
  };
}

}  // namespace fjord::bench
