#include "txn/txn_records.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "records/batch.h"
#include "records/builder.h"
#include "records/control.h"

namespace fjord::txn {
namespace {

using Bytes = std::vector<uint8_t>;

// Hand-built bytes, written field by field after Kafka's JSON schemas
// (TransactionLogKey/Value), so the tests do not depend on the generated code.
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
  ByteWriter& str(const std::string& s) {
    i16(static_cast<int16_t>(s.size()));
    return raw(s);
  }
  ByteWriter& compact_str(const std::string& s) {
    uvarint(static_cast<uint32_t>(s.size() + 1));
    return raw(s);
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

TxnMetadata ongoing() {
  TxnMetadata m;
  m.producer_id = 4000;
  m.producer_epoch = 3;
  m.timeout_ms = 60000;
  m.state = TxnState::kOngoing;
  m.partitions = {{"orders", 0}, {"orders", 2}, {"payments", 1}};
  m.start_ms = 1700000000000;
  m.last_update_ms = 1700000000500;
  return m;
}

Result<TxnLogRecord> decode_encoded(const EncodedRecord& encoded) {
  std::optional<std::span<const uint8_t>> value;
  if (encoded.value) value = std::span<const uint8_t>(*encoded.value);
  return decode(encoded.key, value);
}

TEST(TxnRecords, KeyIsVersionZeroThenTheId) {
  const EncodedRecord encoded = encode(TxnLogRecord{"my-txn", ongoing()});
  EXPECT_EQ(encoded.key, ByteWriter().i16(0).str("my-txn").done());
}

TEST(TxnRecords, OngoingValueIsWrittenAtV0AsKafkaWritesIt) {
  const EncodedRecord encoded = encode(TxnLogRecord{"t", ongoing()});
  const Bytes expected = ByteWriter()
                             .i16(0)         // version
                             .i64(4000)      // ProducerId
                             .i16(3)         // ProducerEpoch
                             .i32(60000)     // TransactionTimeoutMs
                             .i8(1)          // TransactionStatus: Ongoing
                             .i32(2)         // TransactionPartitions: 2 topics
                             .str("orders")  //
                             .i32(2)
                             .i32(0)
                             .i32(2)           // partitions 0, 2
                             .str("payments")  //
                             .i32(1)
                             .i32(1)              // partition 1
                             .i64(1700000000500)  // TransactionLastUpdateTimestampMs
                             .i64(1700000000000)  // TransactionStartTimestampMs
                             .done();
  ASSERT_TRUE(encoded.value.has_value());
  EXPECT_EQ(*encoded.value, expected);
}

TEST(TxnRecords, EmptyStateWritesNullPartitions) {
  TxnMetadata empty;
  empty.producer_id = 9;
  empty.producer_epoch = 0;
  empty.timeout_ms = 1000;
  empty.state = TxnState::kEmpty;
  empty.last_update_ms = 5;
  const EncodedRecord encoded = encode(TxnLogRecord{"t", empty});
  const Bytes expected =
      ByteWriter().i16(0).i64(9).i16(0).i32(1000).i8(0).i32(-1).i64(5).i64(-1).done();
  ASSERT_TRUE(encoded.value.has_value());
  EXPECT_EQ(*encoded.value, expected);
  auto decoded = decode_encoded(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->value, empty);
}

TEST(TxnRecords, EveryStateRoundTrips) {
  for (int8_t s = 0; s <= 7; ++s) {
    TxnMetadata m = ongoing();
    m.state = static_cast<TxnState>(s);
    if (m.state == TxnState::kEmpty) m.partitions.clear();
    auto decoded = decode_encoded(encode(TxnLogRecord{"id", m}));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->transactional_id, "id");
    EXPECT_EQ(decoded->value, m) << state_name(m.state);
  }
}

TEST(TxnRecords, LastProducerIdIsNotWrittenAtV0) {
  TxnMetadata m = ongoing();
  m.last_producer_id = 77;
  auto decoded = decode_encoded(encode(TxnLogRecord{"id", m}));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->value->last_producer_id, kNoProducerId);
}

TEST(TxnRecords, TombstoneRoundTrips) {
  const EncodedRecord encoded = encode(TxnLogRecord{"gone", std::nullopt});
  EXPECT_FALSE(encoded.value.has_value());
  auto decoded = decode_encoded(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, (TxnLogRecord{"gone", std::nullopt}));
}

TEST(TxnRecords, DecodesFlexibleV1WithTaggedFields) {
  const Bytes key = ByteWriter().i16(0).str("t1").done();
  const Bytes value = ByteWriter()
                          .i16(1)
                          .i64(50)
                          .i16(7)
                          .i32(30000)
                          .i8(2)             // PrepareCommit
                          .uvarint(2)        // compact array: 1 topic
                          .compact_str("a")  //
                          .uvarint(2)
                          .i32(4)      // compact array: partition 4
                          .uvarint(0)  // the topic's tagged fields
                          .i64(11)
                          .i64(10)
                          .uvarint(3)  // three tagged fields
                          .uvarint(0)
                          .uvarint(8)
                          .i64(49)  // tag 0: PreviousProducerId
                          .uvarint(1)
                          .uvarint(8)
                          .i64(51)  // tag 1: NextProducerId
                          .uvarint(9)
                          .uvarint(1)
                          .i8(1)  // an unknown tag
                          .done();
  auto decoded = decode(key, std::span<const uint8_t>(value));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_TRUE(decoded->value.has_value());
  EXPECT_EQ(decoded->value->producer_id, 50);
  EXPECT_EQ(decoded->value->last_producer_id, 49);
  EXPECT_EQ(decoded->value->producer_epoch, 7);
  EXPECT_EQ(decoded->value->state, TxnState::kPrepareCommit);
  EXPECT_EQ(decoded->value->partitions, (std::set<TopicPartition>{{"a", 4}}));
  EXPECT_EQ(decoded->value->start_ms, 10);
  EXPECT_EQ(decoded->value->last_update_ms, 11);
}

TEST(TxnRecords, MalformedRecordsAreCorrupt) {
  const Bytes key = ByteWriter().i16(0).str("t").done();
  const EncodedRecord good = encode(TxnLogRecord{"t", ongoing()});
  const auto corrupt = [](const Result<TxnLogRecord>& r) {
    return !r.ok() && r.error().code == ErrorCode::kCorruptMessage;
  };
  EXPECT_TRUE(corrupt(decode(Bytes{0}, std::nullopt)));
  EXPECT_TRUE(corrupt(decode(ByteWriter().i16(1).str("t").done(), std::nullopt)));
  EXPECT_TRUE(corrupt(decode(ByteWriter().i16(0).i16(5).raw("ab").done(), std::nullopt)));
  Bytes truncated(good.value->begin(), good.value->end() - 1);
  EXPECT_TRUE(corrupt(decode(key, std::span<const uint8_t>(truncated))));
  Bytes longer = *good.value;
  longer.push_back(0);
  EXPECT_TRUE(corrupt(decode(key, std::span<const uint8_t>(longer))));
  Bytes bad_version = *good.value;
  bad_version[1] = 2;
  EXPECT_TRUE(corrupt(decode(key, std::span<const uint8_t>(bad_version))));
  Bytes bad_state = ByteWriter().i16(0).i64(1).i16(0).i32(1).i8(8).i32(-1).i64(0).i64(0).done();
  EXPECT_TRUE(corrupt(decode(key, std::span<const uint8_t>(bad_state))));
}

TEST(TxnRecords, StateNamesAreKafkas) {
  EXPECT_EQ(state_name(TxnState::kPrepareEpochFence), "PrepareEpochFence");
  EXPECT_EQ(state_name(TxnState::kCompleteCommit), "CompleteCommit");
  EXPECT_EQ(parse_state("Ongoing"), TxnState::kOngoing);
  EXPECT_EQ(parse_state("ongoing"), std::nullopt);
  EXPECT_EQ(parse_state("Bogus"), std::nullopt);
}

std::vector<TxnLogRecord> read_all(std::span<const uint8_t> log, Status* status) {
  std::vector<TxnLogRecord> out;
  *status = for_each_record(log, [&](TxnLogRecord&& r) { out.push_back(std::move(r)); });
  return out;
}

TEST(TxnBatches, BuildThenReadSkippingControlBatches) {
  const std::vector<TxnLogRecord> written = {{"a", ongoing()}, {"b", std::nullopt}};
  auto batch = build_batch(written, 123, 1 << 20);
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  Bytes log;
  records::BatchBuilder marker_builder;
  auto marker = records::build_end_txn_marker(marker_builder, 77, 0, {true, 0}, 5);
  ASSERT_TRUE(marker.ok());
  log.insert(log.end(), marker->begin(), marker->end());
  log.insert(log.end(), batch->begin(), batch->end());
  Status status;
  EXPECT_EQ(read_all(log, &status), written);
  EXPECT_TRUE(status.ok()) << status.error().message;
}

TEST(TxnBatches, ReadsCompressedBatches) {
  records::BatchOptions options;
  options.compression = records::Compression::kZstd;
  records::BatchBuilder builder(options);
  const EncodedRecord encoded = encode(TxnLogRecord{"z", ongoing()});
  ASSERT_TRUE(builder.append(1, records::Bytes(encoded.key), records::Bytes(*encoded.value)).ok());
  auto built = builder.build();
  ASSERT_TRUE(built.ok());
  Status status;
  auto read = read_all(*built, &status);
  EXPECT_TRUE(status.ok());
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0], (TxnLogRecord{"z", ongoing()}));
}

TEST(TxnBatches, DamagedOrTruncatedBatchesAreCorruptAfterEarlierRecords) {
  auto first = build_batch(std::vector<TxnLogRecord>{{"a", ongoing()}}, 1, 1 << 20);
  auto second = build_batch(std::vector<TxnLogRecord>{{"b", ongoing()}}, 1, 1 << 20);
  ASSERT_TRUE(first.ok() && second.ok());
  Bytes log = *first;
  log.insert(log.end(), second->begin(), second->end() - 3);
  Status status;
  auto read = read_all(log, &status);
  EXPECT_EQ(status.code(), ErrorCode::kCorruptMessage);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].transactional_id, "a");
  Bytes flipped = *first;
  flipped[flipped.size() - 1] ^= 0xff;
  read = read_all(flipped, &status);
  EXPECT_EQ(status.code(), ErrorCode::kCorruptMessage);
  EXPECT_TRUE(read.empty());
}

TEST(TxnBatches, BuildRefusesOversizedBatchesAndIds) {
  TxnMetadata big = ongoing();
  for (int32_t p = 0; p < 1000; ++p) big.partitions.insert({"topic-with-a-long-name", p});
  auto too_large = build_batch(std::vector<TxnLogRecord>{{"t", big}}, 1, 1024);
  ASSERT_FALSE(too_large.ok());
  EXPECT_EQ(too_large.error().code, ErrorCode::kMessageTooLarge);
  auto long_id = build_batch(
      std::vector<TxnLogRecord>{{std::string(kMaxTransactionalIdBytes + 1, 'x'), ongoing()}}, 1,
      1 << 20);
  ASSERT_FALSE(long_id.ok());
  EXPECT_EQ(long_id.error().code, ErrorCode::kInvalidRequest);
  EXPECT_FALSE(build_batch(std::vector<TxnLogRecord>{}, 1, 1 << 20).ok());
}

TEST(TxnStatePartition, MatchesKafkasHashing) {
  EXPECT_EQ(txn_state_partition_for("a", 50), 97 % 50);
  EXPECT_EQ(txn_state_partition_for("hello", 50), 99162322 % 50);
  // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs makes it 0.
  EXPECT_EQ(txn_state_partition_for("polygenelubricants", 50), 0);
  // "Aa" and "BB" collide in Java.
  EXPECT_EQ(txn_state_partition_for("Aa", 7), txn_state_partition_for("BB", 7));
}

}  // namespace
}  // namespace fjord::txn
