// Batches built by a real client library (kafka-python 2.0.2, see
// testdata/make_batches.py): proves our codec framing (xerial snappy, LZ4 frames,
// gzip, zstd) and record parsing match what clients send.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "records/record.h"
#include "records/validate.h"

namespace fjord::records {
namespace {

constexpr int64_t kBaseTimestamp = 1600000000000;

std::vector<uint8_t> read_testdata(const std::string& name) {
  std::ifstream in(std::string(FJORD_RECORDS_TESTDATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

struct Codec {
  const char* name;
  Compression compression;
};
constexpr Codec kCodecs[] = {{"none", Compression::kNone},
                             {"gzip", Compression::kGzip},
                             {"snappy", Compression::kSnappy},
                             {"lz4", Compression::kLz4},
                             {"zstd", Compression::kZstd}};

class Interop : public testing::TestWithParam<Codec> {};

void expect_small_records(const std::vector<uint8_t>& batch) {
  const BatchHeader header = read_header(batch);
  std::vector<uint8_t> scratch;
  int index = 0;
  auto count = for_each_record(batch, scratch, 1 << 20, [&](const Record& r) {
    EXPECT_EQ(r.offset_delta, index);
    switch (index) {
      case 0:
        EXPECT_EQ(header.base_timestamp + r.timestamp_delta, kBaseTimestamp);
        EXPECT_EQ(as_string(*r.key), "key-0");
        EXPECT_EQ(as_string(*r.value), repeat("value-0|", 30));
        EXPECT_TRUE(r.headers.empty());
        break;
      case 1: {
        EXPECT_EQ(header.base_timestamp + r.timestamp_delta, kBaseTimestamp + 5);
        EXPECT_FALSE(r.key.has_value());
        EXPECT_EQ(as_string(*r.value), repeat("value-1|", 30));
        ASSERT_EQ(r.headers.size(), 2);
        auto it = r.headers.begin();
        EXPECT_EQ(as_string(it->key), "h1");
        EXPECT_EQ(as_string(*it->value), "v1");
        ++it;
        EXPECT_EQ(as_string(it->key), "h2");
        ASSERT_TRUE(it->value.has_value());
        EXPECT_TRUE(it->value->empty());
        break;
      }
      case 2:
        EXPECT_EQ(header.base_timestamp + r.timestamp_delta, kBaseTimestamp + 2);
        EXPECT_EQ(as_string(*r.key), "key-2");
        EXPECT_FALSE(r.value.has_value());
        break;
    }
    ++index;
  });
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(*count, 3);
}

TEST_P(Interop, SmallBatchValidatesAndIterates) {
  const auto batch = read_testdata(std::string(GetParam().name) + "_small.bin");
  auto result = validate_produce_records(batch, {});
  ASSERT_TRUE(result.ok()) << result.error().message;
  const ValidatedBatch& vb = result->batches[0];
  EXPECT_EQ(vb.header.compression(), GetParam().compression);
  EXPECT_EQ(vb.header.records_count, 3);
  EXPECT_EQ(vb.max_timestamp, kBaseTimestamp + 5);
  EXPECT_FALSE(vb.header_max_timestamp_differs);
  EXPECT_FALSE(result->has_producer_id);
  expect_small_records(batch);
}

TEST_P(Interop, TransactionalBatchCarriesProducerState) {
  const auto batch = read_testdata(std::string(GetParam().name) + "_txn.bin");
  auto result = validate_produce_records(batch, {});
  ASSERT_TRUE(result.ok()) << result.error().message;
  const ValidatedBatch& vb = result->batches[0];
  EXPECT_TRUE(vb.is_transactional());
  EXPECT_EQ(vb.header.producer_id, 1234);
  EXPECT_EQ(vb.header.producer_epoch, 5);
  EXPECT_EQ(vb.header.base_sequence, 42);
  EXPECT_EQ(vb.last_sequence(), 44);
  EXPECT_TRUE(result->has_transactional);
  expect_small_records(batch);
}

TEST_P(Interop, BigValueSpansSeveralCodecBlocks) {
  const auto batch = read_testdata(std::string(GetParam().name) + "_big.bin");
  auto result = validate_produce_records(batch, {});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->batches[0].header.compression(), GetParam().compression);
  std::vector<uint8_t> scratch;
  auto count = for_each_record(batch, scratch, 1 << 20, [&](const Record& r) {
    EXPECT_EQ(as_string(*r.key), "big");
    ASSERT_EQ(r.value->size(), 70000u);
    for (size_t i = 0; i < r.value->size(); ++i) {
      ASSERT_EQ((*r.value)[i], (i * 7) % 251) << i;
    }
  });
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(*count, 1);
}

INSTANTIATE_TEST_SUITE_P(KafkaPython, Interop, testing::ValuesIn(kCodecs),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace fjord::records
