#include "records/validate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/endian.h"
#include "records/builder.h"
#include "records/codec.h"
#include "records/crc32c.h"

namespace fjord::records {
namespace {

std::vector<uint8_t> make_batch(int records, BatchOptions options = {}) {
  BatchBuilder builder(options);
  for (int i = 0; i < records; ++i) {
    const std::string value = "value-" + std::to_string(i);
    EXPECT_TRUE(builder.append(1000 + i * 10, std::nullopt, as_bytes(value)).ok());
  }
  auto batch = builder.build();
  EXPECT_TRUE(batch.ok());
  return {batch->begin(), batch->end()};
}

void fix_crc(std::vector<uint8_t>& batch) {
  store_be<uint32_t>(batch.data() + kCrcOffset, compute_batch_crc(batch));
}

ErrorCode validate_code(std::span<const uint8_t> bytes, ValidationLimits limits = {}) {
  return validate_produce_records(bytes, limits).code();
}

TEST(Validate, AcceptsAWellFormedBatch) {
  auto batch = make_batch(3);
  auto result = validate_produce_records(batch, {});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->total_records, 3);
  EXPECT_EQ(result->max_timestamp, 1020);
  EXPECT_EQ(result->batches[0].position_bytes, 0u);
  EXPECT_EQ(result->batches[0].uncompressed_records_bytes, batch.size() - kBatchHeaderSize);
}

TEST(Validate, EmptyInputIsInvalid) { EXPECT_EQ(validate_code({}), ErrorCode::kInvalidRecord); }

TEST(Validate, CorruptedCrcIsCorruptMessage) {
  auto batch = make_batch(2);
  batch.back() ^= 0x01;
  EXPECT_EQ(validate_code(batch), ErrorCode::kCorruptMessage);
}

TEST(Validate, TruncatedBatchIsCorruptMessage) {
  auto batch = make_batch(2);
  for (size_t keep : {size_t{5}, size_t{16}, size_t{30}, batch.size() - 1}) {
    EXPECT_EQ(validate_code(std::span(batch).first(keep)), ErrorCode::kCorruptMessage) << keep;
  }
}

TEST(Validate, BadBatchLengthIsCorruptMessage) {
  auto batch = make_batch(2);
  store_be<int32_t>(batch.data() + 8, 10);
  EXPECT_EQ(validate_code(batch), ErrorCode::kCorruptMessage);
  store_be<int32_t>(batch.data() + 8, -1);
  EXPECT_EQ(validate_code(batch), ErrorCode::kCorruptMessage);
}

TEST(Validate, OldMagicIsInvalidRecord) {
  auto batch = make_batch(1);
  for (uint8_t magic : {0, 1}) {
    batch[kMagicOffset] = magic;
    EXPECT_EQ(validate_code(batch), ErrorCode::kInvalidRecord);
  }
}

TEST(Validate, TooLargeBatchIsMessageTooLarge) {
  auto batch = make_batch(50);
  ValidationLimits limits;
  limits.max_message_bytes = batch.size() - 1;
  EXPECT_EQ(validate_code(batch, limits), ErrorCode::kMessageTooLarge);
  limits.max_message_bytes = batch.size();
  EXPECT_EQ(validate_code(batch, limits), ErrorCode::kNone);
}

TEST(Validate, DecompressionBombIsBounded) {
  BatchOptions options;
  options.compression = Compression::kGzip;
  BatchBuilder builder(options);
  const std::string zeros(8 * 1024 * 1024, '\0');
  ASSERT_TRUE(builder.append(0, std::nullopt, as_bytes(zeros)).ok());
  auto batch = builder.build();
  ASSERT_TRUE(batch.ok());
  ASSERT_LT(batch->size(), 100 * 1024u);
  ValidationLimits limits;
  limits.max_uncompressed_bytes = 1024 * 1024;
  EXPECT_EQ(validate_code(*batch, limits), ErrorCode::kMessageTooLarge);
}

TEST(Validate, SeveralBatchesOnlyWhenAllowed) {
  auto one = make_batch(2);
  auto two = make_batch(3);
  std::vector<uint8_t> both = one;
  both.insert(both.end(), two.begin(), two.end());
  EXPECT_EQ(validate_code(both), ErrorCode::kInvalidRecord);
  ValidationLimits limits;
  limits.allow_multiple_batches = true;
  auto result = validate_produce_records(both, limits);
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->batches.size(), 2u);
  EXPECT_EQ(result->total_records, 5);
  EXPECT_EQ(result->batches[1].position_bytes, one.size());
}

TEST(Validate, TrailingGarbageIsCorruptMessage) {
  auto batch = make_batch(2);
  for (size_t extra : {size_t{1}, size_t{12}, size_t{70}}) {
    std::vector<uint8_t> bytes = batch;
    bytes.resize(bytes.size() + extra, 0xAB);
    EXPECT_EQ(validate_code(bytes), ErrorCode::kCorruptMessage) << extra;
    ValidationLimits limits;
    limits.allow_multiple_batches = true;
    EXPECT_NE(validate_code(bytes, limits), ErrorCode::kNone) << extra;
  }
}

TEST(Validate, HeaderFieldChecks) {
  struct Case {
    const char* name;
    void (*mutate)(std::vector<uint8_t>&);
    ErrorCode expected;
  };
  const Case cases[] = {
      {"base offset", [](auto& b) { store_be<int64_t>(b.data(), 5); }, ErrorCode::kInvalidRecord},
      {"attribute bit 7", [](auto& b) { store_be<int16_t>(b.data() + 21, 0x80); },
       ErrorCode::kInvalidRecord},
      {"codec 5", [](auto& b) { store_be<int16_t>(b.data() + 21, 5); }, ErrorCode::kInvalidRecord},
      {"count 0", [](auto& b) { store_be<int32_t>(b.data() + 57, 0); }, ErrorCode::kInvalidRecord},
      {"count negative", [](auto& b) { store_be<int32_t>(b.data() + 57, -3); },
       ErrorCode::kInvalidRecord},
      {"count above records",
       [](auto& b) {
         store_be<int32_t>(b.data() + 57, 4);
         store_be<int32_t>(b.data() + 23, 3);
       },
       ErrorCode::kInvalidRecord},
      {"count below records",
       [](auto& b) {
         store_be<int32_t>(b.data() + 57, 2);
         store_be<int32_t>(b.data() + 23, 1);
       },
       ErrorCode::kInvalidRecord},
      {"last offset delta", [](auto& b) { store_be<int32_t>(b.data() + 23, 5); },
       ErrorCode::kInvalidRecord},
      {"control", [](auto& b) { store_be<int16_t>(b.data() + 21, attr::kControl); },
       ErrorCode::kInvalidRecord},
      {"producer id without sequence", [](auto& b) { store_be<int64_t>(b.data() + 43, 12); },
       ErrorCode::kInvalidRecord},
      {"log append time", [](auto& b) { store_be<int16_t>(b.data() + 21, attr::kLogAppendTime); },
       ErrorCode::kInvalidTimestamp},
  };
  for (const Case& c : cases) {
    auto batch = make_batch(3);
    c.mutate(batch);
    fix_crc(batch);
    EXPECT_EQ(validate_code(batch), c.expected) << c.name;
  }
}

TEST(Validate, ControlBatchesWhenAllowed) {
  BatchOptions options;
  options.control = true;
  options.transactional = true;
  options.producer_id = 3;
  options.producer_epoch = 0;
  auto batch = make_batch(1, options);
  EXPECT_EQ(validate_code(batch), ErrorCode::kInvalidRecord);
  ValidationLimits limits;
  limits.allow_control_batches = true;
  auto result = validate_produce_records(batch, limits);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->has_control);
}

TEST(Validate, OffsetDeltasMustBeConsecutive) {
  BatchBuilder builder;
  ASSERT_TRUE(builder.append_with_offset_delta(0, 0, std::nullopt, as_bytes("a")).ok());
  ASSERT_TRUE(builder.append_with_offset_delta(2, 0, std::nullopt, as_bytes("b")).ok());
  auto built = builder.build();
  ASSERT_TRUE(built.ok());
  std::vector<uint8_t> batch(built->begin(), built->end());
  // Make the header consistent (2 records, lastOffsetDelta 1) so only the records are wrong.
  store_be<int32_t>(batch.data() + 23, 1);
  fix_crc(batch);
  EXPECT_EQ(validate_code(batch), ErrorCode::kInvalidRecord);
}

TEST(Validate, MalformedRecordInsideAValidCrcIsInvalidRecord) {
  auto batch = make_batch(2);
  batch[kBatchHeaderSize] = 0x7f;  // first record's length varint: -64
  fix_crc(batch);
  EXPECT_EQ(validate_code(batch), ErrorCode::kInvalidRecord);
  auto huge = make_batch(2);
  // A length varint that never ends within 5 bytes.
  for (size_t i = 0; i < 6; ++i) huge[kBatchHeaderSize + i] = 0xff;
  fix_crc(huge);
  EXPECT_EQ(validate_code(huge), ErrorCode::kInvalidRecord);
}

TEST(Validate, CorruptCompressedStreamIsCorruptMessage) {
  BatchOptions options;
  options.compression = Compression::kLz4;
  auto batch = make_batch(5, options);
  batch[kBatchHeaderSize + 2] ^= 0xff;  // inside the lz4 frame header
  fix_crc(batch);
  EXPECT_EQ(validate_code(batch), ErrorCode::kCorruptMessage);
}

TEST(Validate, ReportsMaxTimestampAndHeaderMismatch) {
  BatchBuilder builder;
  for (int64_t ts : {50, 70, 60}) ASSERT_TRUE(builder.append(ts, std::nullopt, std::nullopt).ok());
  auto built = builder.build();
  ASSERT_TRUE(built.ok());
  std::vector<uint8_t> batch(built->begin(), built->end());
  store_be<int64_t>(batch.data() + 35, 10);  // a client lying about maxTimestamp
  fix_crc(batch);
  auto result = validate_produce_records(batch, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->batches[0].max_timestamp, 70);
  EXPECT_EQ(result->batches[0].offset_delta_of_max_timestamp, 1);
  EXPECT_EQ(result->batches[0].min_timestamp, 50);
  EXPECT_TRUE(result->batches[0].header_max_timestamp_differs);
  set_max_timestamp(batch, 70);
  auto fixed = check_batch_framing(batch);
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->max_timestamp, 70);
}

TEST(Validate, CompactedTopicsRequireKeys) {
  auto keyless = make_batch(2);
  ValidationLimits limits;
  limits.require_keys = true;
  EXPECT_EQ(validate_code(keyless, limits), ErrorCode::kInvalidRecord);
  BatchBuilder builder;
  ASSERT_TRUE(builder.append(1, as_bytes("k"), std::nullopt).ok());
  auto keyed = builder.build();
  ASSERT_TRUE(keyed.ok());
  EXPECT_EQ(validate_code(*keyed, limits), ErrorCode::kNone);
}

TEST(Validate, StampLogAppendTime) {
  auto batch = make_batch(3);
  stamp_log_append_time(batch, 987654321);
  auto header = check_batch_framing(batch);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_TRUE(header->attributes & attr::kLogAppendTime);
  EXPECT_EQ(header->max_timestamp, 987654321);
  EXPECT_EQ(header->base_timestamp, 1000);
}

TEST(Validate, LastSequenceWraps) {
  ValidatedBatch batch;
  batch.header.base_sequence = INT32_MAX - 1;
  batch.header.last_offset_delta = 3;
  EXPECT_EQ(batch.last_sequence(), 1);
  batch.header.base_sequence = -1;
  EXPECT_EQ(batch.last_sequence(), -1);
}

TEST(Validate, ScratchOverloadReusesTheBuffer) {
  BatchOptions options;
  options.compression = Compression::kSnappy;
  auto batch = make_batch(20, options);
  std::vector<uint8_t> scratch;
  ASSERT_TRUE(validate_produce_records(batch, {}, scratch).ok());
  const uint8_t* data = scratch.data();
  ASSERT_TRUE(validate_produce_records(batch, {}, scratch).ok());
  EXPECT_EQ(scratch.data(), data);
}

}  // namespace
}  // namespace fjord::records
