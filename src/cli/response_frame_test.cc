#include "client/response_frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace fjord::cli {
namespace {

using client::response_body_offset;

constexpr int16_t kListTransactions = 66;  // flexible from v0: response header v1
constexpr int16_t kApiVersions = 18;       // always response header v0

TEST(ResponseBodyOffset, SkipsTheTaggedFieldsOfAFlexibleHeader) {
  // Correlation id 7, then one tagged field (tag 3, two bytes), then the body.
  const std::vector<uint8_t> frame = {0, 0, 0, 7, 1, 3, 2, 0xAA, 0xBB, 0x42};
  auto offset = response_body_offset(frame, kListTransactions, 0, 7);
  ASSERT_TRUE(offset.ok()) << offset.error().message;
  EXPECT_EQ(*offset, 9u);
}

TEST(ResponseBodyOffset, ReadsOnlyTheCorrelationIdOfAnApiVersionsHeader) {
  const std::vector<uint8_t> frame = {0, 0, 0, 7, 0, 0};
  auto offset = response_body_offset(frame, kApiVersions, 3, 7);
  ASSERT_TRUE(offset.ok()) << offset.error().message;
  EXPECT_EQ(*offset, 4u);
}

TEST(ResponseBodyOffset, RefusesAnotherCorrelationId) {
  const std::vector<uint8_t> frame = {0, 0, 0, 8, 0};
  auto offset = response_body_offset(frame, kListTransactions, 0, 7);
  ASSERT_FALSE(offset.ok());
  EXPECT_EQ(offset.error().message, "correlation id 8 instead of 7");
}

TEST(ResponseBodyOffset, RefusesATruncatedHeader) {
  EXPECT_FALSE(response_body_offset(std::vector<uint8_t>{0, 0, 7}, kApiVersions, 0, 7).ok());
  // A tagged field longer than the frame.
  const std::vector<uint8_t> frame = {0, 0, 0, 7, 1, 3, 9, 0xAA};
  EXPECT_FALSE(response_body_offset(frame, kListTransactions, 0, 7).ok());
}

}  // namespace
}  // namespace fjord::cli
