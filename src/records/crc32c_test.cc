#include "records/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace fjord::records {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Bit-at-a-time CRC-32C (reflected polynomial 0x82F63B78): slow but obviously right.
uint32_t bitwise_crc32c(std::span<const uint8_t> data) {
  uint32_t crc = ~0u;
  for (uint8_t byte : data) {
    crc ^= byte;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0x82F63B78u & -(crc & 1u));
  }
  return ~crc;
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c({}), 0u);
  // RFC 3720 (iSCSI) appendix B.4.
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), ascending(32);
  for (size_t i = 0; i < 32; ++i) ascending[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32c, MatchesOneChainAndBitwiseOnRandomSizesAndAlignments) {
  std::mt19937_64 rng(42);
  std::vector<uint8_t> buffer(3 * 8192 * 3 + 4096);
  for (auto& b : buffer) b = static_cast<uint8_t>(rng());
  // Sizes around the interleaving thresholds, plus random ones.
  std::vector<size_t> sizes = {0,
                               1,
                               7,
                               8,
                               255,
                               767,
                               768,
                               769,
                               3 * 256 * 2 + 5,
                               3 * 8192 - 1,
                               3 * 8192,
                               3 * 8192 + 1,
                               3 * 8192 * 2 + 777};
  for (int i = 0; i < 200; ++i) sizes.push_back(rng() % (buffer.size() - 16));
  for (size_t size : sizes) {
    const size_t offset = rng() % 16;
    std::span<const uint8_t> data(buffer.data() + offset, size);
    const uint32_t expected = bitwise_crc32c(data);
    ASSERT_EQ(detail::crc32c_one_chain(data), expected) << size;
    ASSERT_EQ(crc32c(data), expected) << "size " << size << " offset " << offset;
  }
}

TEST(Crc32c, ExtendsAcrossSplits) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> buffer(100000);
  for (auto& b : buffer) b = static_cast<uint8_t>(rng());
  const uint32_t whole = crc32c(buffer);
  for (size_t split : {size_t{0}, size_t{1}, size_t{5000}, size_t{24576}, size_t{99999}}) {
    std::span<const uint8_t> all(buffer);
    EXPECT_EQ(crc32c(all.subspan(split), crc32c(all.first(split))), whole) << split;
  }
}

}  // namespace
}  // namespace fjord::records
