#include "cli/group_admin.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

TEST(GroupState, ParsesKafkaNamesInAnyCase) {
  EXPECT_EQ(*parse_group_state("Stable"), RD_KAFKA_CONSUMER_GROUP_STATE_STABLE);
  EXPECT_EQ(*parse_group_state("empty"), RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY);
  EXPECT_EQ(*parse_group_state("PREPARINGREBALANCE"),
            RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE);
  EXPECT_EQ(*parse_group_state("CompletingRebalance"),
            RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE);
  EXPECT_EQ(*parse_group_state("Dead"), RD_KAFKA_CONSUMER_GROUP_STATE_DEAD);
}

TEST(GroupState, RejectsUnknownNamesListingTheValidOnes) {
  for (const char* name : {"", "stab", "Stablex", "Unknown"}) {
    auto state = parse_group_state(name);
    ASSERT_FALSE(state.ok()) << name;
    EXPECT_EQ(state.error().code, ErrorCode::kInvalidConfig);
    EXPECT_NE(state.error().message.find("Stable, Empty, PreparingRebalance"), std::string::npos)
        << state.error().message;
  }
}

}  // namespace
}  // namespace fjord::cli
