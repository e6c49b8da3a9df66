#include "protocol/wire.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <vector>

namespace fjord::protocol {
namespace {

std::vector<uint8_t> written(const std::function<void(Writer&)>& write) {
  OutboundMessage out;
  Writer w(out);
  write(w);
  EXPECT_TRUE(w.ok());
  return out.bytes;
}

TEST(Reader, ReadsFixedWidthBigEndian) {
  const std::vector<uint8_t> bytes = {0xff, 0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x01, 0x00};
  Reader r(bytes);
  EXPECT_EQ(r.read_int8(), -1);
  EXPECT_EQ(r.read_int16(), 0x0102);
  EXPECT_EQ(r.read_int32(), 0x100);
  EXPECT_EQ(r.read_int64(), -2);
  EXPECT_TRUE(r.read_bool());
  EXPECT_FALSE(r.read_bool());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Reader, TruncationFailsAndLaterReadsReturnDefaults) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x02};
  Reader r(bytes);
  EXPECT_EQ(r.read_int32(), 0);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("truncated"), std::string::npos);
  EXPECT_EQ(r.read_int8(), 0);  // a 1-byte read would fit, but the reader is failed
  EXPECT_EQ(r.read_string(false), "");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Reader, UnsignedVarint) {
  const std::vector<uint8_t> bytes = {0x00, 0x7f, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f};
  Reader r(bytes);
  EXPECT_EQ(r.read_uvarint(), 0u);
  EXPECT_EQ(r.read_uvarint(), 127u);
  EXPECT_EQ(r.read_uvarint(), 128u);
  EXPECT_EQ(r.read_uvarint(), std::numeric_limits<uint32_t>::max());
  EXPECT_TRUE(r.ok());
}

TEST(Reader, VarintLongerThanFiveBytesFails) {
  const std::vector<uint8_t> bytes = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  Reader r(bytes);
  r.read_uvarint();
  EXPECT_FALSE(r.ok());
}

TEST(Reader, VarintOverThirtyTwoBitsFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0xff, 0xff, 0x1f};
  Reader r(bytes);
  r.read_uvarint();
  EXPECT_FALSE(r.ok());
}

TEST(Varint, ZigzagRoundTripsExtremes) {
  for (int32_t value : {0, -1, 1, -2, 63, -64, 64, std::numeric_limits<int32_t>::max(),
                        std::numeric_limits<int32_t>::min()}) {
    const auto bytes = written([&](Writer& w) { w.write_varint(value); });
    Reader r(bytes);
    EXPECT_EQ(r.read_varint(), value);
    EXPECT_EQ(r.remaining(), 0u);
  }
  for (int64_t value : {int64_t{0}, int64_t{-1}, int64_t{300}, std::numeric_limits<int64_t>::max(),
                        std::numeric_limits<int64_t>::min()}) {
    const auto bytes = written([&](Writer& w) { w.write_varlong(value); });
    Reader r(bytes);
    EXPECT_EQ(r.read_varlong(), value);
    EXPECT_TRUE(r.ok());
  }
}

TEST(Varint, ZigzagEncodingMatchesProtobuf) {
  EXPECT_EQ(written([](Writer& w) { w.write_varint(0); }), std::vector<uint8_t>{0x00});
  EXPECT_EQ(written([](Writer& w) { w.write_varint(-1); }), std::vector<uint8_t>{0x01});
  EXPECT_EQ(written([](Writer& w) { w.write_varint(1); }), std::vector<uint8_t>{0x02});
  EXPECT_EQ(written([](Writer& w) { w.write_varint(-65); }), (std::vector<uint8_t>{0x81, 0x01}));
}

TEST(Varint, VarlongOverSixtyFourBitsFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  Reader r(bytes);
  r.read_varlong();
  EXPECT_FALSE(r.ok());
}

TEST(Strings, NormalAndCompactRoundTrip) {
  for (bool flexible : {false, true}) {
    const auto bytes = written([&](Writer& w) {
      w.write_string("abc", flexible);
      w.write_nullable_string(std::nullopt, flexible);
      w.write_nullable_string("", flexible);
    });
    Reader r(bytes);
    EXPECT_EQ(r.read_string(flexible), "abc");
    EXPECT_EQ(r.read_nullable_string(flexible), std::nullopt);
    EXPECT_EQ(r.read_nullable_string(flexible), std::optional<std::string>(""));
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
  EXPECT_EQ(written([](Writer& w) { w.write_string("ab", false); }),
            (std::vector<uint8_t>{0x00, 0x02, 'a', 'b'}));
  EXPECT_EQ(written([](Writer& w) { w.write_string("ab", true); }),
            (std::vector<uint8_t>{0x03, 'a', 'b'}));
  EXPECT_EQ(written([](Writer& w) { w.write_nullable_string(std::nullopt, true); }),
            std::vector<uint8_t>{0x00});
}

TEST(Strings, NullInNonNullableFieldFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff};
  Reader r(bytes);
  r.read_string(false);
  EXPECT_FALSE(r.ok());
}

TEST(Strings, NegativeLengthOtherThanNullFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xfe, 'a'};
  Reader r(bytes);
  r.read_nullable_string(false);
  EXPECT_FALSE(r.ok());
}

TEST(Strings, LengthBeyondInputFails) {
  const std::vector<uint8_t> bytes = {0x00, 0x00, 0x00, 0x10, 'a'};
  Reader r(bytes);
  r.read_bytes(false);
  EXPECT_FALSE(r.ok());
}

TEST(Strings, TooLongForInt16LengthMarksWriterFailed) {
  OutboundMessage out;
  Writer w(out);
  w.write_string(std::string(40000, 'x'), false);
  EXPECT_FALSE(w.ok());
}

TEST(Bytes, NullableBytesRoundTrip) {
  for (bool flexible : {false, true}) {
    const auto bytes = written([&](Writer& w) {
      w.write_nullable_bytes(std::nullopt, flexible);
      w.write_nullable_bytes(std::vector<uint8_t>{1, 2}, flexible);
      w.write_bytes(std::vector<uint8_t>{}, flexible);
    });
    Reader r(bytes);
    EXPECT_EQ(r.read_nullable_bytes(flexible), std::nullopt);
    EXPECT_EQ(r.read_nullable_bytes(flexible), (std::vector<uint8_t>{1, 2}));
    EXPECT_TRUE(r.read_bytes(flexible).empty());
    EXPECT_TRUE(r.ok());
  }
}

TEST(Arrays, HugeCountFailsFastWithoutAllocating) {
  const std::vector<uint8_t> bytes = {0x7f, 0xff, 0xff, 0xff, 0x00};
  Reader r(bytes);
  EXPECT_EQ(r.read_array_length(false, false), 0);
  EXPECT_FALSE(r.ok());

  const std::vector<uint8_t> compact = {0xff, 0xff, 0xff, 0xff, 0x0f};
  Reader rc(compact);
  rc.read_array_length(true, true);
  EXPECT_FALSE(rc.ok());
}

TEST(Arrays, NullOnlyWhenNullable) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0xff, 0xff};
  Reader nullable(bytes);
  EXPECT_EQ(nullable.read_array_length(false, true), -1);
  EXPECT_TRUE(nullable.ok());
  Reader strict(bytes);
  strict.read_array_length(false, false);
  EXPECT_FALSE(strict.ok());
  const std::vector<uint8_t> compact_null = {0x00};
  Reader compact(compact_null);
  EXPECT_EQ(compact.read_array_length(true, true), -1);
}

TEST(Arrays, NegativeCountFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0xff, 0xfe};
  Reader r(bytes);
  r.read_array_length(false, true);
  EXPECT_FALSE(r.ok());
}

TEST(Uuid, ToStringMatchesKafka) {
  // Kafka: new Uuid(0x0123456789abcdefL, 0xfedcba9876543210L).toString()
  const Uuid uuid{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  EXPECT_EQ(uuid.to_string(), "ASNFZ4mrze_-3LqYdlQyEA");
  EXPECT_EQ(Uuid{}.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
  auto parsed = Uuid::parse("ASNFZ4mrze_-3LqYdlQyEA");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, uuid);
}

TEST(Uuid, ParseRejectsBadInput) {
  EXPECT_FALSE(Uuid::parse("short").ok());
  EXPECT_FALSE(Uuid::parse("ASNFZ4mrze_-3LqYdlQy+A").ok());  // '+' is not base64url
  EXPECT_FALSE(Uuid::parse("ASNFZ4mrze_-3LqYdlQyEB").ok());  // trailing bits set
}

TEST(Uuid, WireIsMostSignificantFirst) {
  const auto bytes = written([](Writer& w) { w.write_uuid(Uuid{1, 2}); });
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_EQ(bytes[7], 1);
  EXPECT_EQ(bytes[15], 2);
  Reader r(bytes);
  EXPECT_EQ(r.read_uuid(), (Uuid{1, 2}));
}

TEST(Records, DecodedRecordsPointIntoTheInput) {
  const std::vector<uint8_t> bytes = {0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb};
  Reader r(bytes);
  const Records records = r.read_records(false, true);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(records.is_null);
  EXPECT_EQ(records.bytes.data(), bytes.data() + 4);
  EXPECT_EQ(records.size(), 2u);
}

TEST(Records, NullRecords) {
  const std::vector<uint8_t> bytes = {0x00};
  Reader r(bytes);
  EXPECT_TRUE(r.read_records(true, true).is_null);
  EXPECT_EQ(written([](Writer& w) { w.write_records(Records{}, false); }),
            (std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff}));
}

TEST(Records, FileRangesBecomeSplicesAfterTheSizePrefix) {
  Records records;
  records.is_null = false;
  records.file_ranges.push_back(FileRange{7, 100, 30, nullptr});
  records.file_ranges.push_back(FileRange{7, 200, 12, nullptr});
  OutboundMessage out;
  Writer w(out);
  w.write_int8(5);
  w.write_records(records, true);
  w.write_int8(6);
  // 1 byte, uvarint(42 + 1) = 0x2b, then the splices, then 1 byte.
  EXPECT_EQ(out.bytes, (std::vector<uint8_t>{5, 0x2b, 6}));
  ASSERT_EQ(out.splices.size(), 2u);
  EXPECT_EQ(out.splices[0].at, 2u);
  EXPECT_EQ(out.splices[0].range.offset, 100u);
  EXPECT_EQ(out.splices[1].at, 2u);
  EXPECT_EQ(out.splices[1].range.length, 12u);
  EXPECT_EQ(out.size(), 3u + 42u);
}

TEST(TaggedFields, UnknownTagsMergeInAscendingOrder) {
  const std::vector<RawTaggedField> unknown = {{1, {0xaa}}, {5, {0xbb, 0xcc}}};
  OutboundMessage out;
  Writer w(out);
  TaggedFieldsWriter tagged(w, unknown, 1);
  Writer& payload = tagged.begin(3);
  payload.write_int8(7);
  tagged.end();
  tagged.finish();
  EXPECT_EQ(out.bytes, (std::vector<uint8_t>{3, 1, 1, 0xaa, 3, 1, 7, 5, 2, 0xbb, 0xcc}));

  Reader r(out.bytes);
  TaggedFieldsReader reader(r);
  std::vector<RawTaggedField> kept;
  int8_t known = 0;
  while (reader.next()) {
    if (reader.tag() == 3) {
      known = reader.payload().read_int8();
    } else {
      reader.keep_unknown(kept);
    }
  }
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(known, 7);
  EXPECT_EQ(kept, unknown);
}

TEST(TaggedFields, SizeBeyondInputFails) {
  const std::vector<uint8_t> bytes = {1, 0, 9, 1};
  Reader r(bytes);
  TaggedFieldsReader reader(r);
  while (reader.next()) {
  }
  EXPECT_FALSE(r.ok());
}

TEST(TaggedFields, ErrorInsideAPayloadFailsTheOuterReader) {
  const std::vector<uint8_t> bytes = {1, 0, 1, 0x05};
  Reader r(bytes);
  TaggedFieldsReader reader(r);
  while (reader.next()) {
    reader.payload().read_int32();  // only 1 byte available
  }
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace fjord::protocol
