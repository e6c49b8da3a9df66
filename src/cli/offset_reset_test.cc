#include "cli/offset_reset.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

TEST(TopicScope, ATopicAloneMeansAllItsPartitions) {
  auto scope = parse_topic_scope("orders");
  ASSERT_TRUE(scope.ok());
  EXPECT_EQ(scope->topic, "orders");
  EXPECT_TRUE(scope->partitions.empty());
}

TEST(TopicScope, ListsPartitionsSortedWithoutDuplicates) {
  auto scope = parse_topic_scope("orders:3,0,3,1");
  ASSERT_TRUE(scope.ok());
  EXPECT_EQ(scope->topic, "orders");
  EXPECT_EQ(scope->partitions, (std::vector<int32_t>{0, 1, 3}));
}

TEST(TopicScope, RejectsBadPartitionLists) {
  for (const char* text : {"orders:", "orders:1,", "orders:x", "orders:-1", ":1", "", "orders:1,,2",
                           "orders:99999999999"}) {
    auto scope = parse_topic_scope(text);
    ASSERT_FALSE(scope.ok()) << text;
    EXPECT_EQ(scope.error().code, ErrorCode::kInvalidConfig);
    EXPECT_NE(scope.error().message.find("TOPIC:P,P"), std::string::npos) << text;
  }
}

TEST(TimestampMs, TakesMillisecondsSinceTheEpoch) {
  EXPECT_EQ(*parse_timestamp_ms("0"), 0);
  EXPECT_EQ(*parse_timestamp_ms("1700000000123"), 1700000000123);
}

TEST(TimestampMs, TakesIso8601InUtc) {
  EXPECT_EQ(*parse_timestamp_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14T22:13:20.123Z"), 1700000000123);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14T22:13:20.5Z"), 1700000000500);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14T22:13:20.123456Z"), 1700000000123);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14T22:13"), 1700000000000 - 20000);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14 22:13:20"), 1700000000000);
}

TEST(TimestampMs, WithoutAZoneTheTimeIsUtc) {
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14T22:13:20"), 1700000000000);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14"), 1700000000000 - (22 * 3600 + 13 * 60 + 20) * 1000);
}

TEST(TimestampMs, AppliesZoneOffsets) {
  EXPECT_EQ(*parse_timestamp_ms("2023-11-15T00:13:20+02:00"), 1700000000000);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-15T00:13:20+0200"), 1700000000000);
  EXPECT_EQ(*parse_timestamp_ms("2023-11-14T17:13:20-05:00"), 1700000000000);
}

TEST(TimestampMs, RejectsWhatIsNotATime) {
  for (const char* text : {"", "-5", "yesterday", "2023-02-30", "2023-13-01", "2023-11-14T25:00",
                           "2023-11-14T22:13:20Zjunk", "2023-11-14T22:13:20+2", "2023-11-14T22",
                           "2023-11-14T22:13:20.", "1969-12-31T23:59:59Z"}) {
    auto ms = parse_timestamp_ms(text);
    ASSERT_FALSE(ms.ok()) << text;
    EXPECT_NE(ms.error().message.find("ISO 8601"), std::string::npos) << text;
  }
}

TEST(ResetTarget, NeedsExactlyOneTarget) {
  EXPECT_FALSE(choose_reset_target(false, false, std::nullopt, std::nullopt).ok());
  auto two = choose_reset_target(true, true, std::nullopt, std::nullopt);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("exactly one"), std::string::npos);
  EXPECT_FALSE(choose_reset_target(true, false, std::string("5"), std::nullopt).ok());
}

TEST(ResetTarget, ParsesEachKind) {
  EXPECT_EQ(choose_reset_target(true, false, std::nullopt, std::nullopt)->kind,
            ResetTarget::Kind::kEarliest);
  EXPECT_EQ(choose_reset_target(false, true, std::nullopt, std::nullopt)->kind,
            ResetTarget::Kind::kLatest);
  auto time = choose_reset_target(false, false, std::string("1970-01-01T00:00:01Z"), std::nullopt);
  ASSERT_TRUE(time.ok());
  EXPECT_EQ(time->kind, ResetTarget::Kind::kTimestamp);
  EXPECT_EQ(time->value, 1000);
  auto offset = choose_reset_target(false, false, std::nullopt, std::string("42"));
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(offset->kind, ResetTarget::Kind::kOffset);
  EXPECT_EQ(offset->value, 42);
}

TEST(ResetTarget, RejectsABadOffset) {
  for (const char* text : {"-1", "x", "", "1.5"}) {
    auto target = choose_reset_target(false, false, std::nullopt, std::string(text));
    ASSERT_FALSE(target.ok()) << text;
    EXPECT_NE(target.error().message.find("--to-offset"), std::string::npos);
  }
}

const TopicPartitionId kPartition{"orders", 0};
const PartitionLog kLog{10, 50, std::nullopt};  // messages 10..49 remain

ResetPlanRow plan(ResetTarget target, std::optional<int64_t> current, PartitionLog log = kLog) {
  return plan_partition_reset(target, kPartition, current, log);
}

TEST(PlanPartitionReset, EarliestAndLatestAreTheLogBounds) {
  EXPECT_EQ(plan({ResetTarget::Kind::kEarliest}, 30).new_offset, 10);
  EXPECT_EQ(plan({ResetTarget::Kind::kLatest}, 30).new_offset, 50);
  EXPECT_EQ(plan({ResetTarget::Kind::kLatest}, 30).current, 30);
  EXPECT_EQ(plan({ResetTarget::Kind::kLatest}, std::nullopt).current, std::nullopt);
}

TEST(PlanPartitionReset, AnOffsetInsideTheLogIsTakenAsIs) {
  const ResetPlanRow row = plan({ResetTarget::Kind::kOffset, 25}, std::nullopt);
  EXPECT_EQ(row.new_offset, 25);
  EXPECT_EQ(row.note, "");
  EXPECT_EQ(plan({ResetTarget::Kind::kOffset, 50}, 0).new_offset, 50);  // the end is valid
}

TEST(PlanPartitionReset, ClampsOffsetsOutsideTheLogAndSaysSo) {
  const ResetPlanRow high = plan({ResetTarget::Kind::kOffset, 99}, 30);
  EXPECT_EQ(high.new_offset, 50);
  EXPECT_EQ(high.note, "99 is beyond the log end: clamped to 50");
  const ResetPlanRow low = plan({ResetTarget::Kind::kOffset, 3}, 30);
  EXPECT_EQ(low.new_offset, 10);
  EXPECT_EQ(low.note, "3 is before the log start: clamped to 10");
}

TEST(PlanPartitionReset, ATimestampTakesTheOffsetFoundForIt) {
  const ResetPlanRow row =
      plan({ResetTarget::Kind::kTimestamp, 1000}, 30, PartitionLog{10, 50, 17});
  EXPECT_EQ(row.new_offset, 17);
  EXPECT_EQ(row.note, "");
}

TEST(PlanPartitionReset, ATimestampAfterEveryMessageGoesToTheEnd) {
  const ResetPlanRow row = plan({ResetTarget::Kind::kTimestamp, 1000}, 30);
  EXPECT_EQ(row.new_offset, 50);
  EXPECT_EQ(row.note, "no message at or after the time: log end");
}

TEST(FormatResetPlan, ShowsCurrentAndNewOffsets) {
  const std::vector<ResetPlanRow> rows = {
      {{"orders", 0}, 30, 50, ""},
      {{"orders", 1}, std::nullopt, 10, "3 is before the log start: clamped to 10"},
  };
  EXPECT_EQ(format_reset_plan(rows),
            "TOPIC   PARTITION  CURRENT-OFFSET  NEW-OFFSET  NOTE\n"
            "orders  0          30              50\n"
            "orders  1          -               10          3 is before the log start: clamped "
            "to 10\n");
}

}  // namespace
}  // namespace fjord::cli
