#include "records/record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/endian.h"
#include "records/builder.h"
#include "records/varint.h"

namespace fjord::records {
namespace {

std::vector<uint8_t> encode_varints(std::initializer_list<int64_t> values) {
  std::vector<uint8_t> out(values.size() * varint::kMaxVarlongBytes);
  uint8_t* p = out.data();
  for (int64_t v : values) p = varint::write_zigzag(p, v);
  out.resize(p - out.data());
  return out;
}

TEST(Varint, ZigzagRoundTripsAndSizes) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{63}, int64_t{-64}, int64_t{64},
                    int64_t{INT32_MAX}, int64_t{INT32_MIN}, INT64_MAX, INT64_MIN}) {
    uint8_t buf[10];
    const size_t n = varint::write_zigzag(buf, v) - buf;
    EXPECT_EQ(n, varint::zigzag_size(v));
    size_t used = 0;
    auto back = varint::read_zigzag({buf, n}, varint::kMaxVarlongBytes, used);
    ASSERT_TRUE(back.has_value()) << v;
    EXPECT_EQ(*back, v);
    EXPECT_EQ(used, n);
  }
  EXPECT_EQ(encode_varints({0}), std::vector<uint8_t>{0});
  EXPECT_EQ(encode_varints({-1}), std::vector<uint8_t>{1});
  EXPECT_EQ(encode_varints({1}), std::vector<uint8_t>{2});
  EXPECT_EQ(encode_varints({64}), (std::vector<uint8_t>{0x80, 0x01}));
}

TEST(Varint, RejectsOverlongAndTruncated) {
  size_t used = 0;
  const std::vector<uint8_t> six = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  EXPECT_FALSE(varint::read_zigzag(six, varint::kMaxVarintBytes, used));
  // 5 bytes whose last group carries more than 32 bits.
  const std::vector<uint8_t> wide = {0xff, 0xff, 0xff, 0xff, 0x1f};
  EXPECT_FALSE(varint::read_zigzag(wide, varint::kMaxVarintBytes, used));
  const std::vector<uint8_t> max32 = {0xfe, 0xff, 0xff, 0xff, 0x0f};
  auto v = varint::read_zigzag(max32, varint::kMaxVarintBytes, used);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, INT32_MAX);
  const std::vector<uint8_t> truncated = {0x80, 0x80};
  EXPECT_FALSE(varint::read_zigzag(truncated, varint::kMaxVarlongBytes, used));
  std::vector<uint8_t> eleven(10, 0xff);
  eleven.push_back(0x01);
  EXPECT_FALSE(varint::read_zigzag(eleven, varint::kMaxVarlongBytes, used));
}

// Encodes one record by hand: fields as varints/bytes, then the length prefix.
std::vector<uint8_t> raw_record(const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out = encode_varints({static_cast<int64_t>(body.size())});
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<uint8_t> body_of(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(ParseRecord, ReadsAllFieldsAndHeaders) {
  // clang-format off
  const std::vector<uint8_t> body = body_of({
      {0},                                                    // attributes
      encode_varints({-5, 3}),                                // timestampDelta, offsetDelta
      encode_varints({1}), {'k'},                             // key
      encode_varints({-1}),                                   // null value
      encode_varints({2}),                                    // two headers:
      encode_varints({2}), {'h', '1'}, encode_varints({0}),   //   "h1", empty value
      encode_varints({1}), {'x'}, encode_varints({-1}),       //   "x", null value
  });
  // clang-format on
  const auto bytes = raw_record(body);
  auto record = parse_record(bytes);
  ASSERT_TRUE(record.ok()) << record.error().message;
  EXPECT_EQ(record->timestamp_delta, -5);
  EXPECT_EQ(record->offset_delta, 3);
  ASSERT_TRUE(record->key);
  EXPECT_EQ(as_string(*record->key), "k");
  EXPECT_FALSE(record->value);
  ASSERT_EQ(record->headers.size(), 2);
  std::vector<std::string> keys;
  std::vector<bool> value_null;
  for (const RecordHeader& h : record->headers) {
    keys.emplace_back(as_string(h.key));
    value_null.push_back(!h.value);
    if (h.value) {
      EXPECT_TRUE(h.value->empty());
    }
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"h1", "x"}));
  EXPECT_EQ(value_null, (std::vector<bool>{false, true}));
  EXPECT_EQ(record->bytes.size(), bytes.size());
}

TEST(ParseRecord, RejectsMalformedRecords) {
  const std::vector<uint8_t> good_body =
      body_of({{0}, encode_varints({0, 0, -1}), encode_varints({1}), {'v'}, encode_varints({0})});
  ASSERT_TRUE(parse_record(raw_record(good_body)).ok());

  // Length prefix longer than the data.
  auto too_long = raw_record(good_body);
  too_long[0] = static_cast<uint8_t>(varint::zigzag_encode(100));
  EXPECT_EQ(parse_record(too_long).code(), ErrorCode::kInvalidRecord);
  // Length prefix shorter than the fields.
  auto cut = good_body;
  cut.pop_back();
  EXPECT_EQ(parse_record(raw_record(cut)).code(), ErrorCode::kInvalidRecord);
  // Bytes left over inside the record.
  auto extra = good_body;
  extra.push_back(0);
  EXPECT_EQ(parse_record(raw_record(extra)).code(), ErrorCode::kInvalidRecord);
  // Negative length prefix; huge varint.
  EXPECT_EQ(parse_record(encode_varints({-3})).code(), ErrorCode::kInvalidRecord);
  const std::vector<uint8_t> huge = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  EXPECT_EQ(parse_record(huge).code(), ErrorCode::kInvalidRecord);
  // Key length -2, header count -1, null header key, header value overrunning.
  EXPECT_FALSE(parse_record(raw_record(body_of({{0}, encode_varints({0, 0, -2, -1, 0})}))).ok());
  EXPECT_FALSE(parse_record(raw_record(body_of({{0}, encode_varints({0, 0, -1, -1, -1})}))).ok());
  EXPECT_FALSE(
      parse_record(raw_record(body_of({{0}, encode_varints({0, 0, -1, -1, 1, -1, -1})}))).ok());
  EXPECT_FALSE(
      parse_record(
          raw_record(body_of(
              {{0}, encode_varints({0, 0, -1, -1, 1, 1}), {'k'}, encode_varints({50}), {'v'}})))
          .ok());
  // Huge key length (fits int32, exceeds the data).
  EXPECT_FALSE(
      parse_record(raw_record(body_of({{0}, encode_varints({0, 0, INT32_MAX, -1, 0})}))).ok());
  EXPECT_FALSE(parse_record({}).ok());
}

TEST(RecordReader, IteratesUntilTheEnd) {
  BatchBuilder builder;
  for (int i = 0; i < 3; ++i) {
    const std::string value = "v" + std::to_string(i);
    ASSERT_TRUE(builder.append(1000 + i, std::nullopt, as_bytes(value)).ok());
  }
  auto batch = builder.build();
  ASSERT_TRUE(batch.ok());
  RecordReader reader(batch->subspan(kBatchHeaderSize));
  Record record;
  int count = 0;
  while (true) {
    auto more = reader.next(record);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    EXPECT_EQ(record.offset_delta, count);
    EXPECT_EQ(as_string(*record.value), "v" + std::to_string(count));
    ++count;
  }
  EXPECT_EQ(count, 3);
}

TEST(ForEachRecord, CountMismatchAndCallbackErrors) {
  BatchBuilder builder;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(builder.append(5, as_bytes("k"), as_bytes("v")).ok());
  auto built = builder.build();
  ASSERT_TRUE(built.ok());
  std::vector<uint8_t> batch(built->begin(), built->end());
  std::vector<uint8_t> scratch;

  int seen = 0;
  auto count = for_each_record(batch, scratch, 1 << 20, [&](const Record&) { ++seen; });
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 4);
  EXPECT_EQ(seen, 4);

  // A callback error stops the iteration and is returned.
  seen = 0;
  auto stopped = for_each_record(batch, scratch, 1 << 20, [&](const Record&) -> Status {
    return ++seen == 2 ? Status(ErrorCode::kPolicyViolation, "stop") : Status();
  });
  EXPECT_EQ(stopped.code(), ErrorCode::kPolicyViolation);
  EXPECT_EQ(seen, 2);

  // recordsCount above / below the records actually present.
  store_be<int32_t>(batch.data() + 57, 5);
  EXPECT_EQ(for_each_record(batch, scratch, 1 << 20, [](const Record&) {}).code(),
            ErrorCode::kInvalidRecord);
  store_be<int32_t>(batch.data() + 57, 3);
  EXPECT_EQ(for_each_record(batch, scratch, 1 << 20, [](const Record&) {}).code(),
            ErrorCode::kInvalidRecord);
}

TEST(RecordsSection, DecompressesIntoScratchWithinTheLimit) {
  BatchOptions options;
  options.compression = Compression::kZstd;
  BatchBuilder builder(options);
  const std::string value(10000, 'z');
  ASSERT_TRUE(builder.append(1, std::nullopt, as_bytes(value)).ok());
  auto batch = builder.build();
  ASSERT_TRUE(batch.ok());
  std::vector<uint8_t> scratch;
  auto section = records_section(*batch, scratch, 1 << 20);
  ASSERT_TRUE(section.ok());
  EXPECT_EQ(section->data(), scratch.data());
  EXPECT_GT(section->size(), value.size());
  EXPECT_EQ(records_section(*batch, scratch, 1000).code(), ErrorCode::kMessageTooLarge);
  EXPECT_EQ(records_section(batch->first(40), scratch, 1 << 20).code(), ErrorCode::kCorruptMessage);
}

}  // namespace
}  // namespace fjord::records
