#include "records/builder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "records/validate.h"

namespace fjord::records {
namespace {

constexpr Compression kCodecs[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                                   Compression::kLz4, Compression::kZstd};

struct Expected {
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

NullableBytes nullable(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return as_bytes(*s);
}

std::string codec_name(const testing::TestParamInfo<Compression>& info) {
  constexpr const char* kNames[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return kNames[static_cast<int>(info.param)];
}

class BuilderRoundTrip : public testing::TestWithParam<Compression> {};

TEST_P(BuilderRoundTrip, BuildValidateIterate) {
  const std::vector<Expected> records = {
      {1000, "key-0", "value-0", {}},
      {999, std::nullopt, "no key, earlier timestamp", {{"trace", "abc"}, {"null", std::nullopt}}},
      {1005, "tombstone", std::nullopt, {}},
      {1003, "", "", {{"", ""}}},
      {1001, "big", std::string(100000, 'x'), {}},
  };
  BatchOptions options;
  options.compression = GetParam();
  options.producer_id = 77;
  options.producer_epoch = 3;
  options.base_sequence = 10;
  options.transactional = true;
  BatchBuilder builder(options);
  for (const Expected& r : records) {
    std::vector<RecordHeader> headers;
    for (const auto& [k, v] : r.headers) headers.push_back({as_bytes(k), nullable(v)});
    ASSERT_TRUE(builder.append(r.timestamp, nullable(r.key), nullable(r.value), headers).ok());
  }
  EXPECT_EQ(builder.records_count(), 5);
  auto batch = builder.build();
  ASSERT_TRUE(batch.ok()) << batch.error().message;

  auto validated = validate_produce_records(*batch, ValidationLimits{});
  ASSERT_TRUE(validated.ok()) << validated.error().message;
  ASSERT_EQ(validated->batches.size(), 1u);
  const ValidatedBatch& vb = validated->batches[0];
  EXPECT_EQ(validated->total_records, 5);
  EXPECT_EQ(vb.header.compression(), GetParam());
  EXPECT_EQ(vb.header.producer_id, 77);
  EXPECT_EQ(vb.header.producer_epoch, 3);
  EXPECT_EQ(vb.header.base_sequence, 10);
  EXPECT_EQ(vb.last_sequence(), 14);
  EXPECT_EQ(vb.header.last_offset_delta, 4);
  EXPECT_EQ(vb.header.base_timestamp, 1000);
  EXPECT_EQ(vb.header.max_timestamp, 1005);
  EXPECT_EQ(vb.max_timestamp, 1005);
  EXPECT_EQ(vb.offset_delta_of_max_timestamp, 2);
  EXPECT_FALSE(vb.header_max_timestamp_differs);
  EXPECT_TRUE(validated->has_transactional);
  EXPECT_TRUE(validated->has_producer_id);
  EXPECT_FALSE(validated->has_control);
  EXPECT_EQ(vb.size_bytes, batch->size());

  std::vector<uint8_t> scratch;
  size_t i = 0;
  auto count = for_each_record(*batch, scratch, 1 << 20, [&](const Record& record) {
    ASSERT_LT(i, records.size());
    const Expected& want = records[i];
    EXPECT_EQ(record.offset_delta, static_cast<int32_t>(i));
    EXPECT_EQ(vb.header.base_timestamp + record.timestamp_delta, want.timestamp);
    EXPECT_EQ(record.key.has_value(), want.key.has_value());
    if (record.key) {
      EXPECT_EQ(as_string(*record.key), *want.key);
    }
    EXPECT_EQ(record.value.has_value(), want.value.has_value());
    if (record.value) {
      EXPECT_EQ(as_string(*record.value), *want.value);
    }
    size_t h = 0;
    for (const RecordHeader& header : record.headers) {
      ASSERT_LT(h, want.headers.size());
      EXPECT_EQ(as_string(header.key), want.headers[h].first);
      EXPECT_EQ(header.value.has_value(), want.headers[h].second.has_value());
      if (header.value) {
        EXPECT_EQ(as_string(*header.value), *want.headers[h].second);
      }
      ++h;
    }
    EXPECT_EQ(h, want.headers.size());
    ++i;
  });
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(*count, 5);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, BuilderRoundTrip, testing::ValuesIn(kCodecs), codec_name);

TEST(BatchBuilder, CompactionRewriteKeepsOffsetsAndLastOffsetDelta) {
  BatchBuilder original;
  for (int i = 0; i < 6; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(original.append(100 + i, as_bytes(key), as_bytes("v")).ok());
  }
  auto source = original.build();
  ASSERT_TRUE(source.ok());
  std::vector<uint8_t> source_bytes(source->begin(), source->end());
  const BatchHeader source_header = read_header(source_bytes);

  // Keep records 1 and 3, drop the last ones, as a log cleaner would.
  BatchOptions options;
  options.base_offset = 500;
  BatchBuilder rewrite(options);
  std::vector<uint8_t> scratch;
  auto iterated = for_each_record(source_bytes, scratch, 1 << 20, [&](const Record& r) -> Status {
    if (r.offset_delta == 1 || r.offset_delta == 3) {
      return rewrite.append_record(r, source_header.base_timestamp);
    }
    return {};
  });
  ASSERT_TRUE(iterated.ok());
  rewrite.set_last_offset_delta(source_header.last_offset_delta);
  auto compacted = rewrite.build();
  ASSERT_TRUE(compacted.ok()) << compacted.error().message;
  auto framed = check_batch_framing(*compacted);
  ASSERT_TRUE(framed.ok());
  EXPECT_EQ(framed->base_offset, 500);
  EXPECT_EQ(framed->last_offset_delta, 5);
  EXPECT_EQ(framed->records_count, 2);
  EXPECT_EQ(framed->base_timestamp, 101);
  EXPECT_EQ(framed->max_timestamp, 103);
  std::vector<int32_t> deltas;
  std::vector<std::string> keys;
  auto count = for_each_record(*compacted, scratch, 1 << 20, [&](const Record& r) {
    deltas.push_back(r.offset_delta);
    keys.emplace_back(as_string(*r.key));
  });
  ASSERT_TRUE(count.ok()) << count.error().message;
  EXPECT_EQ(deltas, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(keys, (std::vector<std::string>{"k1", "k3"}));
  // Produce validation would refuse this shape (gaps), which is right: it is not a produce.
  EXPECT_EQ(validate_produce_records(*compacted, {}).code(), ErrorCode::kInvalidRecord);
}

TEST(BatchBuilder, OffsetDeltasMustIncrease) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.append_with_offset_delta(2, 0, std::nullopt, std::nullopt).ok());
  EXPECT_EQ(builder.append_with_offset_delta(2, 0, std::nullopt, std::nullopt).code(),
            ErrorCode::kInvalidRecord);
  EXPECT_EQ(builder.append_with_offset_delta(-1, 0, std::nullopt, std::nullopt).code(),
            ErrorCode::kInvalidRecord);
  builder.set_last_offset_delta(1);
  EXPECT_EQ(builder.build().code(), ErrorCode::kInvalidRecord);
}

TEST(BatchBuilder, EmptyBatchNeedsLastOffsetDelta) {
  BatchOptions options;
  options.producer_id = 9;
  options.producer_epoch = 1;
  options.base_sequence = 0;
  BatchBuilder builder(options);
  EXPECT_EQ(builder.build().code(), ErrorCode::kInvalidRecord);
  builder.set_last_offset_delta(7);
  auto batch = builder.build();
  ASSERT_TRUE(batch.ok());
  auto header = check_batch_framing(*batch);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->records_count, 0);
  EXPECT_EQ(header->last_offset_delta, 7);
  EXPECT_EQ(header->base_timestamp, -1);
  EXPECT_EQ(header->size_bytes(), kBatchHeaderSize);
}

TEST(BatchBuilder, ReusesItsBuffers) {
  for (Compression codec : kCodecs) {
    BatchOptions options;
    options.compression = codec;
    BatchBuilder builder(options);
    const std::string value(2000, 'q');
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(builder.append(i, std::nullopt, as_bytes(value)).ok());
    auto first = builder.build();
    ASSERT_TRUE(first.ok());
    const uint8_t* first_data = first->data();
    builder.reset(options);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(builder.append(i, std::nullopt, as_bytes(value)).ok());
    auto second = builder.build();
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(second->data(), first_data) << static_cast<int>(codec);
    EXPECT_TRUE(validate_produce_records(*second, {}).ok());
  }
}

TEST(BatchBuilder, EnforcesItsSizeLimit) {
  BatchOptions options;
  options.max_records_bytes = 1000;
  BatchBuilder builder(options);
  const std::string value(600, 'v');
  ASSERT_TRUE(builder.append(0, std::nullopt, as_bytes(value)).ok());
  EXPECT_EQ(builder.append(0, std::nullopt, as_bytes(value)).code(), ErrorCode::kMessageTooLarge);
  EXPECT_EQ(builder.records_count(), 1);
  EXPECT_TRUE(builder.build().ok());
}

TEST(BatchBuilder, ControlAndLogAppendTimeFlags) {
  BatchOptions options;
  options.control = true;
  options.transactional = true;
  options.producer_id = 5;
  options.producer_epoch = 2;
  options.log_append_time = true;
  options.log_append_time_ms = 123456;
  BatchBuilder builder(options);
  // An end-transaction marker: key = version 0, type 1 (COMMIT); value = version 0, epoch 0.
  const std::vector<uint8_t> key = {0, 0, 0, 1};
  const std::vector<uint8_t> value = {0, 0, 0, 0, 0, 0};
  ASSERT_TRUE(builder.append(100, Bytes(key), Bytes(value)).ok());
  auto batch = builder.build();
  ASSERT_TRUE(batch.ok());
  auto header = check_batch_framing(*batch);
  ASSERT_TRUE(header.ok());
  EXPECT_TRUE(header->is_control());
  EXPECT_TRUE(header->is_transactional());
  EXPECT_TRUE(header->attributes & attr::kLogAppendTime);
  EXPECT_EQ(header->max_timestamp, 123456);
  EXPECT_EQ(header->base_sequence, -1);
}

}  // namespace
}  // namespace fjord::records
