// Signed zigzag varints, the integer encoding inside v2 records (README §8):
// zigzag maps 0, -1, 1, -2 to 0, 1, 2, 3; then 7-bit groups, least significant
// first, the top bit set while more bytes follow. At most 5 bytes for 32-bit
// values and 10 for 64-bit ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace fjord::records::varint {

inline constexpr size_t kMaxVarintBytes = 5;
inline constexpr size_t kMaxVarlongBytes = 10;

inline uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t zigzag_decode(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

// Bytes that write_zigzag() takes for `v`.
inline size_t zigzag_size(int64_t v) {
  uint64_t u = zigzag_encode(v);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

// Writes `v` at p (room for zigzag_size(v) bytes) and returns the end.
inline uint8_t* write_zigzag(uint8_t* p, int64_t v) {
  uint64_t u = zigzag_encode(v);
  while (u >= 0x80) {
    *p++ = static_cast<uint8_t>(u | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<uint8_t>(u);
  return p;
}

// Reads a zigzag varint of at most `max_bytes` bytes (5: int32, 10: int64) from the
// front of `in`. Returns nullopt if `in` ends early, the varint is longer than
// max_bytes or its value does not fit in 32 bits (max_bytes 5) / 64 bits.
// On success sets `used` to the bytes read.
inline std::optional<int64_t> read_zigzag(std::span<const uint8_t> in, size_t max_bytes,
                                          size_t& used) {
  uint64_t u = 0;
  const size_t limit = in.size() < max_bytes ? in.size() : max_bytes;
  for (size_t i = 0; i < limit; ++i) {
    const uint64_t b = in[i];
    u |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      // The last group of a 5-byte varint holds 4 value bits, of a 10-byte varlong 1.
      if (i == 4 && max_bytes == kMaxVarintBytes && b > 0x0f) return std::nullopt;
      if (i == 9 && b > 0x01) return std::nullopt;
      used = i + 1;
      return zigzag_decode(u);
    }
  }
  return std::nullopt;
}

}  // namespace fjord::records::varint
