#include "groups/offsets_records.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "records/batch.h"
#include "records/builder.h"
#include "records/control.h"

namespace fjord::groups {
namespace {

using Bytes = std::vector<uint8_t>;

// Hand-built bytes, written field by field after Kafka's JSON schemas, so the
// tests do not depend on the generated code they check.
class ByteWriter {
 public:
  ByteWriter& i8(int8_t v) { return put(static_cast<uint64_t>(v), 1); }
  ByteWriter& i16(int16_t v) { return put(static_cast<uint64_t>(v), 2); }
  ByteWriter& i32(int32_t v) { return put(static_cast<uint64_t>(v), 4); }
  ByteWriter& i64(int64_t v) { return put(static_cast<uint64_t>(v), 8); }
  ByteWriter& uvarint(uint32_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  ByteWriter& str(const std::string& s) {  // int16 length
    i16(static_cast<int16_t>(s.size()));
    return raw(s);
  }
  ByteWriter& null_str() { return i16(-1); }
  ByteWriter& compact_str(const std::string& s) {
    uvarint(static_cast<uint32_t>(s.size() + 1));
    return raw(s);
  }
  ByteWriter& compact_null() { return uvarint(0); }
  ByteWriter& bytes(const Bytes& b) {  // int32 length
    i32(static_cast<int32_t>(b.size()));
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  ByteWriter& compact_bytes(const Bytes& b) {
    uvarint(static_cast<uint32_t>(b.size() + 1));
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  ByteWriter& raw(const std::string& s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes done() const { return bytes_; }

 private:
  ByteWriter& put(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes bytes_;
};

OffsetRecord sample_offset() {
  return OffsetRecord{OffsetKey{"my-group", "orders", 7},
                      CommittedOffset{12345, 3, "checkpoint", 1700000000000, -1}};
}

GroupRecord sample_group() {
  GroupRecord group;
  group.protocol_type = "consumer";
  group.generation = 4;
  group.protocol = "range";
  group.leader = "m-1";
  group.current_state_timestamp_ms = 1700000000123;
  group.members.push_back(
      MemberRecord{"m-1", std::nullopt, "client-a", "/10.0.0.1", 300000, 45000, {0, 1, 2}, {9, 8}});
  group.members.push_back(
      MemberRecord{"m-2", "static-2", "client-b", "/10.0.0.2", 60000, 10000, {}, {}});
  return group;
}

Result<std::optional<OffsetsTopicRecord>> decode_bytes(const Bytes& key,
                                                       const std::optional<Bytes>& value) {
  std::optional<std::span<const uint8_t>> value_span;
  if (value) value_span = std::span<const uint8_t>(*value);
  return decode(key, value_span);
}

OffsetsTopicRecord round_trip(const OffsetsTopicRecord& record) {
  EncodedRecord encoded = encode(record);
  auto decoded = decode_bytes(encoded.key, encoded.value);
  EXPECT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_TRUE(decoded->has_value());
  return std::move(**decoded);
}

int16_t version_of(const Bytes& bytes) {
  return static_cast<int16_t>((bytes.at(0) << 8) | bytes.at(1));
}

void expect_corrupt(const Bytes& key, const std::optional<Bytes>& value) {
  auto decoded = decode_bytes(key, value);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.code(), ErrorCode::kCorruptMessage);
  EXPECT_FALSE(decoded.error().message.empty());
}

// ---- encode / decode ----

TEST(OffsetsRecords, OffsetCommitRoundTripsAtKeyV1ValueV3) {
  OffsetRecord record = sample_offset();
  EncodedRecord encoded = encode(record);
  EXPECT_EQ(version_of(encoded.key), 1);
  ASSERT_TRUE(encoded.value);
  EXPECT_EQ(version_of(*encoded.value), 3);
  EXPECT_EQ(std::get<OffsetRecord>(round_trip(record)), record);
}

TEST(OffsetsRecords, OffsetKeyBytesFollowTheSchema) {
  EncodedRecord encoded = encode(sample_offset());
  EXPECT_EQ(encoded.key, ByteWriter().i16(1).str("my-group").str("orders").i32(7).done());
  EXPECT_EQ(*encoded.value,
            ByteWriter().i16(3).i64(12345).i32(3).str("checkpoint").i64(1700000000000).done());
}

TEST(OffsetsRecords, OffsetWithExpireTimestampIsWrittenAtV1WithoutLeaderEpoch) {
  OffsetRecord record = sample_offset();
  record.value->expire_timestamp_ms = 1700000600000;
  EncodedRecord encoded = encode(record);
  EXPECT_EQ(*encoded.value, ByteWriter()
                                .i16(1)
                                .i64(12345)
                                .str("checkpoint")
                                .i64(1700000000000)
                                .i64(1700000600000)
                                .done());
  OffsetRecord expected = record;
  expected.value->leader_epoch = -1;  // v1 has no leader epoch, as in Kafka
  EXPECT_EQ(std::get<OffsetRecord>(round_trip(record)), expected);
}

TEST(OffsetsRecords, OffsetTombstoneRoundTrips) {
  OffsetRecord record{OffsetKey{"g", "t", 0}, std::nullopt};
  EncodedRecord encoded = encode(record);
  EXPECT_FALSE(encoded.value);
  EXPECT_EQ(std::get<OffsetRecord>(round_trip(record)), record);
}

TEST(OffsetsRecords, GroupMetadataRoundTripsAtKeyV2ValueV3) {
  GroupMetadataRecord record{"my-group", sample_group()};
  EncodedRecord encoded = encode(record);
  EXPECT_EQ(encoded.key, ByteWriter().i16(2).str("my-group").done());
  ASSERT_TRUE(encoded.value);
  EXPECT_EQ(version_of(*encoded.value), 3);
  EXPECT_EQ(std::get<GroupMetadataRecord>(round_trip(record)), record);
}

TEST(OffsetsRecords, EmptyGroupWithNullProtocolAndLeaderRoundTrips) {
  GroupRecord group;
  group.protocol_type = "";
  group.generation = 9;
  group.protocol = std::nullopt;
  group.leader = std::nullopt;
  group.current_state_timestamp_ms = 5;
  GroupMetadataRecord record{"idle", group};
  EXPECT_EQ(*encode(record).value,
            ByteWriter().i16(3).str("").i32(9).null_str().null_str().i64(5).i32(0).done());
  EXPECT_EQ(std::get<GroupMetadataRecord>(round_trip(record)), record);
}

TEST(OffsetsRecords, GroupTombstoneRoundTrips) {
  GroupMetadataRecord record{"gone", std::nullopt};
  EXPECT_FALSE(encode(record).value);
  EXPECT_EQ(std::get<GroupMetadataRecord>(round_trip(record)), record);
}

TEST(OffsetsRecords, OffsetKeyV0DecodesLikeV1) {
  auto key = ByteWriter().i16(0).str("g").str("t").i32(2).done();
  auto decoded = decode_bytes(key, std::nullopt);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<OffsetRecord>(**decoded),
            (OffsetRecord{OffsetKey{"g", "t", 2}, std::nullopt}));
}

TEST(OffsetsRecords, DecodesOffsetValueV0AndV2) {
  auto key = ByteWriter().i16(1).str("g").str("t").i32(0).done();
  for (int16_t version : {0, 2}) {
    auto value = ByteWriter().i16(version).i64(42).str("m").i64(1000).done();
    auto decoded = decode_bytes(key, value);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(std::get<OffsetRecord>(**decoded).value, (CommittedOffset{42, -1, "m", 1000, -1}))
        << "v" << version;
  }
}

TEST(OffsetsRecords, DecodesFlexibleOffsetValueV4WithUnknownTaggedField) {
  auto key = ByteWriter().i16(1).str("g").str("t").i32(0).done();
  auto plain = ByteWriter().i16(4).i64(42).i32(6).compact_str("meta").i64(1000).uvarint(0).done();
  auto decoded = decode_bytes(key, plain);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<OffsetRecord>(**decoded).value, (CommittedOffset{42, 6, "meta", 1000, -1}));

  // One tagged field (tag 3, 2 bytes) this version does not know: ignored.
  auto tagged = ByteWriter()
                    .i16(4)
                    .i64(42)
                    .i32(6)
                    .compact_str("meta")
                    .i64(1000)
                    .uvarint(1)
                    .uvarint(3)
                    .uvarint(2)
                    .i16(0x7777)
                    .done();
  decoded = decode_bytes(key, tagged);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<OffsetRecord>(**decoded).value, (CommittedOffset{42, 6, "meta", 1000, -1}));
}

TEST(OffsetsRecords, DecodesGroupValueV2WithoutInstanceIds) {
  auto key = ByteWriter().i16(2).str("g").done();
  auto value = ByteWriter()
                   .i16(2)
                   .str("consumer")
                   .i32(3)
                   .str("range")
                   .str("m-1")
                   .i64(777)
                   .i32(1)
                   .str("m-1")
                   .str("cid")
                   .str("/127.0.0.1")
                   .i32(300000)
                   .i32(10000)
                   .bytes({1, 2})
                   .bytes({3})
                   .done();
  auto decoded = decode_bytes(key, value);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  GroupRecord expected;
  expected.protocol_type = "consumer";
  expected.generation = 3;
  expected.protocol = "range";
  expected.leader = "m-1";
  expected.current_state_timestamp_ms = 777;
  expected.members.push_back(
      MemberRecord{"m-1", std::nullopt, "cid", "/127.0.0.1", 300000, 10000, {1, 2}, {3}});
  EXPECT_EQ(std::get<GroupMetadataRecord>(**decoded), (GroupMetadataRecord{"g", expected}));
}

TEST(OffsetsRecords, GroupValueV0UsesSessionTimeoutAsRebalanceTimeout) {
  auto key = ByteWriter().i16(2).str("g").done();
  auto value = ByteWriter()
                   .i16(0)
                   .str("consumer")
                   .i32(1)
                   .str("range")
                   .str("m")
                   .i32(1)
                   .str("m")
                   .str("c")
                   .str("h")
                   .i32(30000)
                   .bytes({})
                   .bytes({})
                   .done();
  auto decoded = decode_bytes(key, value);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const GroupRecord& group = *std::get<GroupMetadataRecord>(**decoded).value;
  EXPECT_EQ(group.current_state_timestamp_ms, -1);
  ASSERT_EQ(group.members.size(), 1u);
  EXPECT_EQ(group.members[0].session_timeout_ms, 30000);
  EXPECT_EQ(group.members[0].rebalance_timeout_ms, 30000);
}

TEST(OffsetsRecords, DecodesFlexibleGroupValueV4) {
  auto key = ByteWriter().i16(2).str("g").done();
  auto value = ByteWriter()
                   .i16(4)
                   .compact_str("consumer")
                   .i32(2)
                   .compact_null()
                   .compact_null()
                   .i64(-1)
                   .uvarint(2)  // one member (compact array: count + 1)
                   .compact_str("m")
                   .compact_str("static")
                   .compact_str("c")
                   .compact_str("h")
                   .i32(5000)
                   .i32(6000)
                   .compact_bytes({7})
                   .compact_bytes({})
                   .uvarint(0)  // member's tagged fields
                   .uvarint(0)  // value's tagged fields
                   .done();
  auto decoded = decode_bytes(key, value);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  GroupRecord expected;
  expected.protocol_type = "consumer";
  expected.generation = 2;
  expected.protocol = std::nullopt;
  expected.leader = std::nullopt;
  expected.members.push_back(MemberRecord{"m", "static", "c", "h", 5000, 6000, {7}, {}});
  EXPECT_EQ(std::get<GroupMetadataRecord>(**decoded), (GroupMetadataRecord{"g", expected}));
}

TEST(OffsetsRecords, LongMetadataIsWrittenAtFlexibleV4) {
  OffsetRecord record = sample_offset();
  record.value->metadata.assign(40000, 'x');
  EncodedRecord encoded = encode(record);
  EXPECT_EQ(version_of(*encoded.value), 4);
  EXPECT_EQ(std::get<OffsetRecord>(round_trip(record)), record);

  GroupMetadataRecord group{"g", sample_group()};
  group.value->members[1].group_instance_id = std::string(33000, 'i');
  EXPECT_EQ(version_of(*encode(group).value), 4);
  EXPECT_EQ(std::get<GroupMetadataRecord>(round_trip(group)), group);
}

TEST(OffsetsRecordsDeathTest, GroupIdTooLongForTheKeyAborts) {
  OffsetRecord record{OffsetKey{std::string(kMaxKeyStringBytes + 1, 'g'), "t", 0}, std::nullopt};
  EXPECT_DEATH((void)encode(record), "longer than");
}

TEST(OffsetsRecords, UnknownKeyVersionsAreSkipped) {
  for (int16_t version : {3, 4, 11, 0x7fff}) {
    auto key = ByteWriter().i16(version).str("anything").done();
    auto tombstone = decode_bytes(key, std::nullopt);
    ASSERT_TRUE(tombstone.ok()) << version;
    EXPECT_FALSE(tombstone->has_value());
    auto with_value = decode_bytes(key, Bytes{0, 9, 1, 2, 3});
    ASSERT_TRUE(with_value.ok()) << version;
    EXPECT_FALSE(with_value->has_value());
  }
}

TEST(OffsetsRecords, MalformedKeysAreCorrupt) {
  expect_corrupt({}, std::nullopt);
  expect_corrupt({0}, std::nullopt);
  expect_corrupt(ByteWriter().i16(-1).str("g").done(), std::nullopt);
  expect_corrupt(ByteWriter().i16(2).str("g").i8(0).done(), std::nullopt);  // trailing byte
  expect_corrupt(ByteWriter().i16(1).str("g").str("t").i32(0).i8(0).done(), std::nullopt);
  expect_corrupt(ByteWriter().i16(2).i16(-1).done(), std::nullopt);  // null group
  expect_corrupt(ByteWriter().i16(2).i16(5).raw("abc").done(), std::nullopt);
  // Every proper prefix of a valid key is truncated.
  Bytes key = encode(sample_offset()).key;
  for (size_t n = 0; n < key.size(); ++n) {
    expect_corrupt(Bytes(key.begin(), key.begin() + static_cast<std::ptrdiff_t>(n)), std::nullopt);
  }
}

TEST(OffsetsRecords, MalformedValuesAreCorrupt) {
  EncodedRecord offset = encode(sample_offset());
  EncodedRecord group = encode(GroupMetadataRecord{"g", sample_group()});
  for (const EncodedRecord* record : {&offset, &group}) {
    const Bytes& value = *record->value;
    for (size_t n = 0; n < value.size(); ++n) {
      expect_corrupt(record->key,
                     Bytes(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(n)));
    }
    Bytes trailing = value;
    trailing.push_back(0);
    expect_corrupt(record->key, trailing);
  }
}

TEST(OffsetsRecords, ValueVersionsTheKeyDoesNotAllowAreCorrupt) {
  Bytes offset_key = encode(sample_offset()).key;
  Bytes group_key = encode(GroupMetadataRecord{"g", std::nullopt}).key;
  for (int16_t version : {-1, 5, 0x7fff}) {
    expect_corrupt(offset_key, ByteWriter().i16(version).i64(1).str("").i64(0).done());
    expect_corrupt(group_key,
                   ByteWriter().i16(version).str("").i32(0).null_str().null_str().i32(0).done());
  }
  // A group value under an offset key does not parse as an offset value.
  expect_corrupt(offset_key, *encode(GroupMetadataRecord{"g", sample_group()}).value);
}

TEST(OffsetsRecords, HugeArrayCountIsCorruptWithoutAllocating) {
  auto key = ByteWriter().i16(2).str("g").done();
  auto value =
      ByteWriter().i16(3).str("").i32(0).null_str().null_str().i64(0).i32(0x7fffffff).done();
  expect_corrupt(key, value);
}

// ---- batches ----

std::vector<OffsetsTopicRecord> mixed_records() {
  std::vector<OffsetsTopicRecord> records;
  records.emplace_back(GroupMetadataRecord{"my-group", sample_group()});
  records.emplace_back(sample_offset());
  OffsetRecord expiring = sample_offset();
  expiring.key.partition = 8;
  expiring.value->leader_epoch = -1;
  expiring.value->expire_timestamp_ms = 1800000000000;
  records.emplace_back(expiring);
  records.emplace_back(OffsetRecord{OffsetKey{"my-group", "orders", 9}, std::nullopt});
  records.emplace_back(GroupMetadataRecord{"old-group", std::nullopt});
  return records;
}

std::vector<OffsetsTopicRecord> read_all(std::span<const uint8_t> batches, Status* status) {
  std::vector<OffsetsTopicRecord> out;
  *status = for_each_record(batches, [&](OffsetsTopicRecord&& r) { out.push_back(std::move(r)); });
  return out;
}

TEST(OffsetsBatches, BuildThenReadRoundTrips) {
  const auto records = mixed_records();
  auto batch = build_batch(records, 1700000000999, 1 << 20);
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  auto header = records::check_batch_framing(*batch);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->size_bytes(), batch->size());
  EXPECT_EQ(header->records_count, static_cast<int32_t>(records.size()));
  EXPECT_EQ(header->base_timestamp, 1700000000999);
  EXPECT_EQ(header->max_timestamp, 1700000000999);
  EXPECT_EQ(header->compression(), records::Compression::kNone);
  Status status;
  EXPECT_EQ(read_all(*batch, &status), records);
  EXPECT_TRUE(status.ok()) << status.error().message;
}

TEST(OffsetsBatches, ReadsCompressedBatchesInLogOrder) {
  const auto records = mixed_records();
  Bytes log;
  for (auto codec : {records::Compression::kGzip, records::Compression::kSnappy,
                     records::Compression::kLz4, records::Compression::kZstd}) {
    records::BatchOptions options;
    options.compression = codec;
    options.base_offset = static_cast<int64_t>(log.size());
    records::BatchBuilder builder(options);
    for (const auto& record : records) {
      EncodedRecord encoded = encode(record);
      records::NullableBytes value;
      if (encoded.value) value = records::Bytes(*encoded.value);
      ASSERT_TRUE(builder.append(1000, records::Bytes(encoded.key), value).ok());
    }
    auto built = builder.build();
    ASSERT_TRUE(built.ok());
    log.insert(log.end(), built->begin(), built->end());
  }
  std::vector<OffsetsTopicRecord> expected;
  for (int i = 0; i < 4; ++i) expected.insert(expected.end(), records.begin(), records.end());
  Status status;
  EXPECT_EQ(read_all(log, &status), expected);
  EXPECT_TRUE(status.ok()) << status.error().message;
}

TEST(OffsetsBatches, SkipsControlBatchesAndUnknownKinds) {
  Bytes log;
  records::BatchBuilder marker_builder;
  auto marker = records::build_end_txn_marker(marker_builder, 77, 0, {true, 0}, 5);
  ASSERT_TRUE(marker.ok());
  log.insert(log.end(), marker->begin(), marker->end());

  records::BatchBuilder builder;
  const Bytes unknown_key = ByteWriter().i16(5).str("consumer-group-member").done();
  const Bytes unknown_value = {0, 0, 1, 2, 3};
  ASSERT_TRUE(builder.append(5, records::Bytes(unknown_key), records::Bytes(unknown_value)).ok());
  EncodedRecord known = encode(sample_offset());
  ASSERT_TRUE(builder.append(5, records::Bytes(known.key), records::Bytes(*known.value)).ok());
  auto built = builder.build();
  ASSERT_TRUE(built.ok());
  log.insert(log.end(), built->begin(), built->end());

  Status status;
  auto read = read_all(log, &status);
  EXPECT_TRUE(status.ok()) << status.error().message;
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(std::get<OffsetRecord>(read[0]), sample_offset());
}

TEST(OffsetsBatches, EmptyInputHasNoRecords) {
  Status status;
  EXPECT_TRUE(read_all({}, &status).empty());
  EXPECT_TRUE(status.ok());
}

Bytes one_batch() {
  const std::vector<OffsetsTopicRecord> records{sample_offset(), sample_offset()};
  return *build_batch(records, 1, 1 << 20);
}

void expect_corrupt_log(const Bytes& log) {
  Status status;
  (void)read_all(log, &status);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::kCorruptMessage);
}

TEST(OffsetsBatches, TruncatedOrDamagedBatchesAreCorrupt) {
  const Bytes batch = one_batch();
  for (size_t n : {size_t{1}, size_t{16}, size_t{40}, size_t{61}, batch.size() - 1}) {
    Bytes log = batch;
    log.insert(log.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
    expect_corrupt_log(log);  // a whole batch, then a partial one
  }
  Bytes flipped = batch;
  flipped.back() ^= 0x01;
  expect_corrupt_log(flipped);
  Bytes magic1 = batch;
  magic1[records::kMagicOffset] = 1;
  expect_corrupt_log(magic1);
}

// Puts one record with these key/value bytes in a valid batch.
Bytes batch_with(const std::optional<Bytes>& key, const std::optional<Bytes>& value) {
  records::BatchBuilder builder;
  records::NullableBytes key_span, value_span;
  if (key) key_span = records::Bytes(*key);
  if (value) value_span = records::Bytes(*value);
  EXPECT_TRUE(builder.append(1, key_span, value_span).ok());
  auto built = builder.build();
  return Bytes(built->begin(), built->end());
}

TEST(OffsetsBatches, BadRecordsInsideValidBatchesAreCorrupt) {
  EncodedRecord good = encode(sample_offset());
  expect_corrupt_log(batch_with(std::nullopt, good.value));  // no key
  Bytes short_value(good.value->begin(), good.value->end() - 1);
  expect_corrupt_log(batch_with(good.key, short_value));
  expect_corrupt_log(batch_with(Bytes{0x00}, std::nullopt));
}

TEST(OffsetsBatches, CallbacksRunForRecordsBeforeTheFault) {
  Bytes log = one_batch();
  Bytes bad = batch_with(Bytes{0xff, 0xff}, std::nullopt);
  log.insert(log.end(), bad.begin(), bad.end());
  Status status;
  EXPECT_EQ(read_all(log, &status).size(), 2u);
  EXPECT_EQ(status.code(), ErrorCode::kCorruptMessage);
}

TEST(OffsetsBatches, BuildRespectsMaxBatchBytes) {
  const auto records = mixed_records();
  auto unlimited = build_batch(records, 1, 1 << 20);
  ASSERT_TRUE(unlimited.ok());
  const size_t exact = unlimited->size();
  auto fits = build_batch(records, 1, exact);
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(*fits, *unlimited);
  EXPECT_EQ(build_batch(records, 1, exact - 1).code(), ErrorCode::kMessageTooLarge);
  EXPECT_EQ(build_batch(records, 1, records::kBatchHeaderSize).code(), ErrorCode::kMessageTooLarge);
  EXPECT_EQ(build_batch(records, 1, 0).code(), ErrorCode::kMessageTooLarge);
}

TEST(OffsetsBatches, BuildRejectsKeysTooLongInsteadOfAborting) {
  const std::string long_name(kMaxKeyStringBytes + 1, 'x');
  const std::vector<OffsetsTopicRecord> long_group{GroupMetadataRecord{long_name, std::nullopt}};
  EXPECT_EQ(build_batch(long_group, 1, 1 << 20).code(), ErrorCode::kInvalidGroupId);
  const std::vector<OffsetsTopicRecord> long_topic{
      sample_offset(), OffsetRecord{OffsetKey{"g", long_name, 0}, std::nullopt}};
  EXPECT_EQ(build_batch(long_topic, 1, 1 << 20).code(), ErrorCode::kInvalidTopicException);
  const std::vector<OffsetsTopicRecord> longest{
      OffsetRecord{OffsetKey{std::string(kMaxKeyStringBytes, 'g'), "t", 0}, std::nullopt}};
  EXPECT_TRUE(build_batch(longest, 1, 1 << 20).ok());
}

TEST(OffsetsBatches, BuildWithoutRecordsFails) {
  EXPECT_EQ(build_batch({}, 1, 1 << 20).code(), ErrorCode::kInvalidRecord);
}

// ---- partition of a group ----

// java.lang.String.hashCode over UTF-16 code units, written independently of
// the code under test: the compiler does the UTF-16 encoding of u"" literals.
int32_t java_hash(std::u16string_view text) {
  int32_t hash = 0;
  for (char16_t unit : text) {
    hash = static_cast<int32_t>(static_cast<uint32_t>(hash) * 31u + unit);
  }
  return hash;
}

// Kafka: Utils.abs(groupId.hashCode()) % partitions; Utils.abs(Integer.MIN_VALUE) == 0.
int32_t expected_partition(std::u16string_view text, int32_t partitions) {
  const int64_t hash = java_hash(text);
  return static_cast<int32_t>((hash == INT32_MIN ? 0 : std::abs(hash)) % partitions);
}

TEST(OffsetsPartition, HelperMatchesKnownJavaHashCodes) {
  EXPECT_EQ(java_hash(u""), 0);
  EXPECT_EQ(java_hash(u"a"), 97);
  EXPECT_EQ(java_hash(u"hello"), 99162322);
  EXPECT_EQ(java_hash(u"polygenelubricants"), INT32_MIN);  // a well-known extreme
}

TEST(OffsetsPartition, AsciiGroupIds) {
  EXPECT_EQ(offsets_partition_for("", 50), 0);
  EXPECT_EQ(offsets_partition_for("a", 50), 97 % 50);
  EXPECT_EQ(offsets_partition_for("hello", 50), 99162322 % 50);
  EXPECT_EQ(offsets_partition_for("my-group", 50), expected_partition(u"my-group", 50));
  EXPECT_EQ(offsets_partition_for("my-group", 1), 0);
  EXPECT_EQ(offsets_partition_for("polygenelubricants", 50), 0);
  const std::u16string long_id(1000, u'z');
  EXPECT_EQ(offsets_partition_for(std::string(1000, 'z'), 7), expected_partition(long_id, 7));
}

// Values printed by OpenJDK 17 (`Utils.abs(new String(bytes, UTF_8).hashCode()) % 50`).
TEST(OffsetsPartition, MatchesKafkaForNegativeHashes) {
  EXPECT_EQ(java_hash(u"my-group"), -1906497762);
  EXPECT_EQ(offsets_partition_for("my-group", 50), 12);  // `& 0x7fffffff` would give 36
  EXPECT_EQ(offsets_partition_for("gr\xC3\xBCppe", 50), 12);
  EXPECT_EQ(offsets_partition_for("test-group", 50), 12);
  EXPECT_EQ(offsets_partition_for("\xE6\xB6\x88\xE8\xB4\xB9", 50), 43);
  EXPECT_EQ(offsets_partition_for("g-\xF0\x9F\x98\x80", 50), 17);
}

TEST(OffsetsPartition, NonAsciiGroupIdsHashUtf16CodeUnits) {
  // 2-, 3- and 4-byte UTF-8; the last is a surrogate pair in UTF-16.
  EXPECT_EQ(offsets_partition_for("gr\xC3\xBCppe", 50), expected_partition(u"gr\u00FCppe", 50));
  EXPECT_EQ(offsets_partition_for("\xE6\xB6\x88\xE8\xB4\xB9", 50),
            expected_partition(u"\u6D88\u8D39", 50));
  EXPECT_EQ(offsets_partition_for("g-\xF0\x9F\x98\x80", 50),
            expected_partition(u"g-\U0001F600", 50));
  EXPECT_EQ(offsets_partition_for("\xEF\xBF\xBF", 1000), expected_partition(u"\uFFFF", 1000));
}

TEST(OffsetsPartition, InvalidUtf8IsHashedAsLatin1) {
  const char* invalid[] = {"\xFF",         "ab\xC3",           "\xC0\xAF",
                           "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80x"};
  for (const char* text : invalid) {
    std::u16string latin1;
    for (const char* p = text; *p; ++p) latin1.push_back(static_cast<uint8_t>(*p));
    EXPECT_EQ(offsets_partition_for(text, 50), expected_partition(latin1, 50)) << text;
  }
}

}  // namespace
}  // namespace fjord::groups
