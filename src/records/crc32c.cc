#include "records/crc32c.h"

#include <nmmintrin.h>

#include <array>
#include <cstring>

namespace fjord::records {
namespace {

// Chunk sizes of the interleaved loops: three chains of kLongBytes each, then
// three of kShortBytes for the remainder. Both are multiples of 8.
constexpr size_t kLongBytes = 8192;
constexpr size_t kShortBytes = 256;

inline uint64_t load_u64(const uint8_t* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

// Runs the raw (non-inverted) CRC register over `n` bytes, one chain.
uint32_t raw_crc(uint32_t state, const uint8_t* p, size_t n) {
  uint64_t c = state;
  while (n >= 8) {
    c = _mm_crc32_u64(c, load_u64(p));
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

// The linear map "feed `n` zero bytes into the CRC register", as four byte-indexed
// tables: shift(s) = t[0][s&255] ^ t[1][(s>>8)&255] ^ t[2][..] ^ t[3][s>>24].
// Appending zero bytes to a register is linear over GF(2), so the crc of A||B equals
// shift_by_len(B)(crc of A) ^ crc of B started from 0.
struct ShiftTable {
  std::array<std::array<uint32_t, 256>, 4> t{};

  explicit ShiftTable(size_t n) {
    static const std::array<uint8_t, kLongBytes> zeros{};
    // The image of each single bit, then every byte value as an XOR of bits.
    std::array<uint32_t, 32> bit_image{};
    for (int bit = 0; bit < 32; ++bit) {
      uint32_t state = 1u << bit;
      for (size_t left = n; left > 0;) {
        const size_t step = left < zeros.size() ? left : zeros.size();
        state = raw_crc(state, zeros.data(), step);
        left -= step;
      }
      bit_image[bit] = state;
    }
    for (int byte = 0; byte < 4; ++byte) {
      for (uint32_t v = 0; v < 256; ++v) {
        uint32_t image = 0;
        for (int b = 0; b < 8; ++b) {
          if (v & (1u << b)) image ^= bit_image[byte * 8 + b];
        }
        t[byte][v] = image;
      }
    }
  }

  uint32_t shift(uint32_t s) const {
    return t[0][s & 0xff] ^ t[1][(s >> 8) & 0xff] ^ t[2][(s >> 16) & 0xff] ^ t[3][s >> 24];
  }
};

const ShiftTable& long_shift() {
  static const ShiftTable table(kLongBytes);
  return table;
}

const ShiftTable& short_shift() {
  static const ShiftTable table(kShortBytes);
  return table;
}

// Processes three adjacent blocks of `block` bytes at p with three chains and
// returns the register after all 3 * block bytes.
inline uint32_t three_chains(uint32_t state, const uint8_t* p, size_t block,
                             const ShiftTable& shift) {
  uint64_t c0 = state, c1 = 0, c2 = 0;
  const uint8_t* end = p + block;
  while (p < end) {
    c0 = _mm_crc32_u64(c0, load_u64(p));
    c1 = _mm_crc32_u64(c1, load_u64(p + block));
    c2 = _mm_crc32_u64(c2, load_u64(p + 2 * block));
    p += 8;
  }
  uint32_t combined = shift.shift(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
  return shift.shift(combined) ^ static_cast<uint32_t>(c2);
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint32_t state = ~crc;
  if (n >= 3 * kShortBytes) {
    const ShiftTable& longs = long_shift();
    while (n >= 3 * kLongBytes) {
      state = three_chains(state, p, kLongBytes, longs);
      p += 3 * kLongBytes;
      n -= 3 * kLongBytes;
    }
    const ShiftTable& shorts = short_shift();
    while (n >= 3 * kShortBytes) {
      state = three_chains(state, p, kShortBytes, shorts);
      p += 3 * kShortBytes;
      n -= 3 * kShortBytes;
    }
  }
  return ~raw_crc(state, p, n);
}

namespace detail {
uint32_t crc32c_one_chain(std::span<const uint8_t> data, uint32_t crc) {
  return ~raw_crc(~crc, data.data(), data.size());
}
}  // namespace detail

}  // namespace fjord::records
