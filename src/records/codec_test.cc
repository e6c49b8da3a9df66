#include "records/codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace fjord::records {
namespace {

constexpr Compression kCodecs[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                                   Compression::kLz4, Compression::kZstd};

std::vector<uint8_t> sample(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> data(size);
  // Half random, half repetitive so that codecs have something to compress.
  for (size_t i = 0; i < size; ++i) data[i] = i % 2 ? static_cast<uint8_t>(rng()) : 'a' + i % 7;
  return data;
}

std::string codec_name(const testing::TestParamInfo<Compression>& info) {
  constexpr const char* kNames[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return kNames[static_cast<int>(info.param)];
}

class CodecTest : public testing::TestWithParam<Compression> {};
// Tests of stream framing, which kNone does not have.
class CompressedCodecTest : public testing::TestWithParam<Compression> {};

TEST_P(CodecTest, RoundTripsVariousSizes) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{100}, size_t{32 * 1024}, size_t{32 * 1024 + 1},
                      size_t{300 * 1000}}) {
    const auto input = sample(size, size);
    auto packed = compress(GetParam(), input);
    ASSERT_TRUE(packed.ok()) << packed.error().message;
    auto unpacked = decompress(GetParam(), *packed, size);
    ASSERT_TRUE(unpacked.ok()) << size << ": " << unpacked.error().message;
    EXPECT_EQ(*unpacked, input) << size;
  }
}

TEST_P(CodecTest, DecompressionBombIsBounded) {
  const std::vector<uint8_t> zeros(4 * 1024 * 1024, 0);
  auto packed = compress(GetParam(), zeros);
  ASSERT_TRUE(packed.ok());
  auto limited = decompress(GetParam(), *packed, 1024 * 1024);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.code(), ErrorCode::kMessageTooLarge);
  // Exactly at the limit is fine.
  EXPECT_TRUE(decompress(GetParam(), *packed, zeros.size()).ok());
  EXPECT_EQ(decompress(GetParam(), *packed, zeros.size() - 1).code(), ErrorCode::kMessageTooLarge);
}

TEST_P(CompressedCodecTest, TruncatedStreamIsCorrupt) {
  const auto input = sample(10000, 3);
  auto packed = compress(GetParam(), input);
  ASSERT_TRUE(packed.ok());
  for (size_t cut : {size_t{1}, size_t{5}, packed->size() / 2}) {
    std::span<const uint8_t> truncated(packed->data(), packed->size() - cut);
    auto result = decompress(GetParam(), truncated, 1 << 20);
    EXPECT_EQ(result.code(), ErrorCode::kCorruptMessage) << "cut " << cut;
  }
}

TEST_P(CompressedCodecTest, GarbageIsCorrupt) {
  const std::vector<uint8_t> garbage = sample(1000, 9);
  EXPECT_EQ(decompress(GetParam(), garbage, 1 << 20).code(), ErrorCode::kCorruptMessage);
}

TEST_P(CodecTest, DecompressIntoReusesAndReplacesContents) {
  std::vector<uint8_t> out = {1, 2, 3};
  const auto input = sample(5000, 5);
  auto packed = compress(GetParam(), input);
  ASSERT_TRUE(packed.ok());
  ASSERT_TRUE(decompress_into(GetParam(), *packed, 1 << 20, out).ok());
  EXPECT_EQ(out, input);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest, testing::ValuesIn(kCodecs), codec_name);
INSTANTIATE_TEST_SUITE_P(Compressed, CompressedCodecTest,
                         testing::Values(Compression::kGzip, Compression::kSnappy,
                                         Compression::kLz4, Compression::kZstd),
                         codec_name);

TEST(Codec, SnappyXerialFramingHeaderAndChunks) {
  const auto input = sample(70 * 1000, 11);
  auto packed = compress(Compression::kSnappy, input);
  ASSERT_TRUE(packed.ok());
  const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  ASSERT_GE(packed->size(), 16u);
  EXPECT_TRUE(std::equal(header, header + 16, packed->begin()));
  // Two concatenated xerial streams decode as their concatenation.
  std::vector<uint8_t> twice = *packed;
  twice.insert(twice.end(), packed->begin(), packed->end());
  auto unpacked = decompress(Compression::kSnappy, twice, 1 << 20);
  ASSERT_TRUE(unpacked.ok()) << unpacked.error().message;
  std::vector<uint8_t> expected = input;
  expected.insert(expected.end(), input.begin(), input.end());
  EXPECT_EQ(*unpacked, expected);
}

TEST(Codec, RawSnappyIsAccepted) {
  // A raw snappy block: varint length 5, then a literal tag (length-1)<<2 and bytes.
  const std::vector<uint8_t> raw = {5, 4 << 2, 'h', 'e', 'l', 'l', 'o'};
  auto unpacked = decompress(Compression::kSnappy, raw, 100);
  ASSERT_TRUE(unpacked.ok()) << unpacked.error().message;
  EXPECT_EQ(std::string(unpacked->begin(), unpacked->end()), "hello");
  EXPECT_EQ(decompress(Compression::kSnappy, raw, 4).code(), ErrorCode::kMessageTooLarge);
}

TEST(Codec, ConcatenatedGzipMembersDecodeAsOneStream) {
  const auto a = sample(1000, 1), b = sample(2000, 2);
  auto pa = compress(Compression::kGzip, a), pb = compress(Compression::kGzip, b);
  ASSERT_TRUE(pa.ok() && pb.ok());
  std::vector<uint8_t> both = *pa;
  both.insert(both.end(), pb->begin(), pb->end());
  auto unpacked = decompress(Compression::kGzip, both, 1 << 20);
  ASSERT_TRUE(unpacked.ok());
  std::vector<uint8_t> expected = a;
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(*unpacked, expected);
}

TEST(Codec, UnknownCodecIdsAreRecognised) {
  for (int id = 0; id <= 4; ++id) EXPECT_TRUE(is_known_codec(id));
  for (int id : {5, 6, 7, -1}) EXPECT_FALSE(is_known_codec(id));
}

}  // namespace
}  // namespace fjord::records
