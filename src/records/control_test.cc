#include "records/control.h"

#include <gtest/gtest.h>

#include <vector>

#include "records/validate.h"

namespace fjord::records {
namespace {

TEST(Control, EndTxnMarkerRoundTrip) {
  for (bool commit : {true, false}) {
    BatchBuilder builder;
    auto batch = build_end_txn_marker(builder, 4242, 7, EndTxnMarker{commit, 19}, 1234);
    ASSERT_TRUE(batch.ok()) << batch.error().message;
    ValidationLimits limits;
    limits.allow_control_batches = true;
    auto validated = validate_produce_records(*batch, limits);
    ASSERT_TRUE(validated.ok()) << validated.error().message;
    const BatchHeader& h = validated->batches[0].header;
    EXPECT_TRUE(h.is_control());
    EXPECT_TRUE(h.is_transactional());
    EXPECT_EQ(h.producer_id, 4242);
    EXPECT_EQ(h.producer_epoch, 7);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.records_count, 1);
    std::vector<uint8_t> scratch;
    auto count = for_each_record(*batch, scratch, 1 << 20, [&](const Record& r) {
      EXPECT_EQ(control_type(r), commit ? ControlType::kCommit : ControlType::kAbort);
      auto marker = parse_end_txn_marker(r);
      ASSERT_TRUE(marker.has_value());
      EXPECT_EQ(marker->commit, commit);
      EXPECT_EQ(marker->coordinator_epoch, 19);
    });
    ASSERT_TRUE(count.ok());
  }
}

TEST(Control, MalformedOrOtherKeys) {
  Record record;
  EXPECT_FALSE(control_type(record).has_value());
  const std::vector<uint8_t> short_key = {0, 0, 1};
  record.key = Bytes(short_key);
  EXPECT_FALSE(control_type(record).has_value());
  const std::vector<uint8_t> negative_version = {0xff, 0xff, 0, 1};
  record.key = Bytes(negative_version);
  EXPECT_FALSE(control_type(record).has_value());
  const std::vector<uint8_t> leader_change = {0, 0, 0, 2};
  record.key = Bytes(leader_change);
  EXPECT_EQ(control_type(record), ControlType::kLeaderChange);
  EXPECT_FALSE(parse_end_txn_marker(record).has_value());
  const std::vector<uint8_t> unknown = {0, 0, 0, 99};
  record.key = Bytes(unknown);
  EXPECT_EQ(static_cast<int16_t>(*control_type(record)), 99);
  const std::vector<uint8_t> commit = {0, 0, 0, 1};
  record.key = Bytes(commit);
  const std::vector<uint8_t> short_value = {0, 0, 0};
  record.value = Bytes(short_value);
  EXPECT_FALSE(parse_end_txn_marker(record).has_value());
}

}  // namespace
}  // namespace fjord::records
