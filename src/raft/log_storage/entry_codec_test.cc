#include "raft/log_storage/entry_codec.h"

#include <gtest/gtest.h>

#include "records/batch.h"
#include "records/control.h"
#include "records/record.h"
#include "storage/test_util.h"

namespace fjord::raft {
namespace {

Entry data_entry(Offset offset, Term term, int count) {
  Entry entry;
  entry.offset = offset;
  entry.term = term;
  entry.count = count;
  entry.type = EntryType::kData;
  auto batch = storage::testing::make_value_batch(count, 20, 1'700'000'000'000, 7);
  records::set_base_offset(batch, 12345);  // whatever the producer sent
  entry.data = std::make_shared<const Bytes>(std::move(batch));
  return entry;
}

Entry round_trip(const Entry& entry) {
  EXPECT_TRUE(check_entry(entry).ok());
  std::vector<uint8_t> stored;
  append_entry_batch(entry, stored);
  auto decoded = decode_entry(stored);
  EXPECT_TRUE(decoded.ok()) << decoded.error().message;
  return std::move(decoded).value();
}

TEST(EntryCodec, DataEntryKeepsItsBatchWithOffsetAndEpochSet) {
  const Entry entry = data_entry(40, 7, 3);
  const Entry back = round_trip(entry);
  EXPECT_EQ(back.type, EntryType::kData);
  EXPECT_EQ(back.offset, 40);
  EXPECT_EQ(back.count, 3);
  EXPECT_EQ(back.term, 7);
  const auto header = records::read_header(*back.data);
  EXPECT_EQ(header.base_offset, 40);
  EXPECT_EQ(header.partition_leader_epoch, 7);
  // Offset and epoch are outside the CRC'd range: the batch is still valid.
  EXPECT_TRUE(records::check_batch_framing(*back.data).ok());
  auto expected = *entry.data;
  records::set_base_offset(expected, 40);
  records::set_partition_leader_epoch(expected, 7);
  EXPECT_EQ(*back.data, expected);
}

TEST(EntryCodec, ConfigEntryIsAVotersControlBatch) {
  Entry entry;
  entry.offset = 9;
  entry.term = 2;
  entry.type = EntryType::kConfig;
  entry.config = Config{{1, 2, 3}, {7, 8}};
  std::vector<uint8_t> stored;
  append_entry_batch(entry, stored);
  const auto header = records::read_header(stored);
  EXPECT_TRUE(header.is_control());
  std::vector<uint8_t> scratch;
  std::optional<records::ControlType> type;
  ASSERT_TRUE(records::for_each_record(stored, scratch, 1 << 20, [&](const records::Record& r) {
                type = records::control_type(r);
              }).ok());
  EXPECT_EQ(type, records::ControlType::kKraftVoters);
  const Entry back = round_trip(entry);
  EXPECT_EQ(back.type, EntryType::kConfig);
  EXPECT_EQ(back.config, entry.config);
  EXPECT_EQ(back.offset, 9);
  EXPECT_EQ(back.term, 2);
  EXPECT_EQ(back.count, 1);
}

TEST(EntryCodec, LeaderChangeEntryIsALeaderChangeControlBatch) {
  Entry entry;
  entry.offset = 0;
  entry.term = 1;
  entry.type = EntryType::kLeaderChange;
  const Entry back = round_trip(entry);
  EXPECT_EQ(back.type, EntryType::kLeaderChange);
  EXPECT_EQ(back.term, 1);
  EXPECT_EQ(back.count, 1);
  EXPECT_EQ(back.data, nullptr);
}

TEST(EntryCodec, SameEntrySameBytes) {
  Entry entry;
  entry.offset = 5;
  entry.term = 3;
  entry.type = EntryType::kConfig;
  entry.config = Config{{1}, {}};
  std::vector<uint8_t> a, b;
  append_entry_batch(entry, a);
  append_entry_batch(entry, b);
  EXPECT_EQ(a, b);
}

TEST(EntryCodec, CheckRejectsBadDataEntries) {
  Entry wrong_count = data_entry(0, 1, 3);
  wrong_count.count = 2;
  EXPECT_EQ(check_entry(wrong_count).code(), ErrorCode::kCorruptMessage);
  Entry bad_crc = data_entry(0, 1, 3);
  auto bytes = *bad_crc.data;
  bytes.back() ^= 1;
  bad_crc.data = std::make_shared<const Bytes>(bytes);
  EXPECT_EQ(check_entry(bad_crc).code(), ErrorCode::kCorruptMessage);
  Entry two_batches = data_entry(0, 1, 3);
  bytes = *two_batches.data;
  bytes.insert(bytes.end(), two_batches.data->begin(), two_batches.data->end());
  two_batches.data = std::make_shared<const Bytes>(bytes);
  EXPECT_EQ(check_entry(two_batches).code(), ErrorCode::kCorruptMessage);
  Entry no_data = data_entry(0, 1, 3);
  no_data.data = nullptr;
  EXPECT_FALSE(check_entry(no_data).ok());
  Entry big_term = data_entry(0, int64_t{INT32_MAX} + 1, 3);
  EXPECT_FALSE(check_entry(big_term).ok());
}

TEST(EntryCodec, DecodeRejectsForeignControlBatches) {
  records::BatchBuilder builder;
  auto marker = records::build_end_txn_marker(builder, 5, 0, {true, 0}, 0);
  ASSERT_TRUE(marker.ok());
  std::vector<uint8_t> bytes(marker->begin(), marker->end());
  records::set_partition_leader_epoch(bytes, 0);
  EXPECT_EQ(decode_entry(bytes).code(), ErrorCode::kCorruptMessage);
  EXPECT_EQ(decode_entry(std::span(bytes).first(30)).code(), ErrorCode::kCorruptMessage);
}

}  // namespace
}  // namespace fjord::raft
