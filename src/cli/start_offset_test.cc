#include "cli/start_offset.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

namespace fjord::cli {
namespace {

TEST(StartOffset, ParsesNamedPositions) {
  EXPECT_EQ(parse_start_offset("earliest")->kind, StartOffset::Kind::kEarliest);
  EXPECT_EQ(parse_start_offset("beginning")->kind, StartOffset::Kind::kEarliest);
  EXPECT_EQ(parse_start_offset("latest")->kind, StartOffset::Kind::kLatest);
  EXPECT_EQ(parse_start_offset("end")->kind, StartOffset::Kind::kLatest);
}

TEST(StartOffset, ParsesAbsoluteAndFromEnd) {
  auto absolute = parse_start_offset("42");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(absolute->kind, StartOffset::Kind::kAbsolute);
  EXPECT_EQ(absolute->to_librdkafka(), 42);
  auto tail = parse_start_offset("-5");
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->kind, StartOffset::Kind::kFromEnd);
  EXPECT_EQ(tail->to_librdkafka(), RD_KAFKA_OFFSET_TAIL(5));
}

TEST(StartOffset, MapsNamedPositionsToLibrdkafka) {
  EXPECT_EQ(parse_start_offset("earliest")->to_librdkafka(), RD_KAFKA_OFFSET_BEGINNING);
  EXPECT_EQ(parse_start_offset("latest")->to_librdkafka(), RD_KAFKA_OFFSET_END);
}

TEST(StartOffset, RejectsGarbage) {
  EXPECT_FALSE(parse_start_offset("").ok());
  EXPECT_FALSE(parse_start_offset("first").ok());
  EXPECT_FALSE(parse_start_offset("-0").ok());
  EXPECT_FALSE(parse_start_offset("-").ok());
  EXPECT_FALSE(parse_start_offset("12x").ok());
  EXPECT_FALSE(parse_start_offset("--3").ok());
}

}  // namespace
}  // namespace fjord::cli
