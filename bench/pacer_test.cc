#include "pacer.h"

#include <gtest/gtest.h>

#include <limits>

namespace fjord::bench {
namespace {

constexpr int64_t kStartNs = 1'000'000'000;

TEST(RatePacerTest, PlansMessagesEvenlyAtTheRate) {
  // 1 MB/s of 1000-byte messages: one message per millisecond.
  const RatePacer pacer(1e6, 1000, kStartNs);
  EXPECT_FALSE(pacer.unlimited());
  EXPECT_EQ(pacer.intended_send_ns(0), kStartNs);
  EXPECT_EQ(pacer.intended_send_ns(1), kStartNs + 1'000'000);
  EXPECT_EQ(pacer.intended_send_ns(1000), kStartNs + 1'000'000'000);
}

TEST(RatePacerTest, CountsMessagesDueIncludingTheBoundary) {
  const RatePacer pacer(1e6, 1000, kStartNs);
  EXPECT_EQ(pacer.messages_due(kStartNs - 1), 0u);
  EXPECT_EQ(pacer.messages_due(kStartNs), 1u);
  EXPECT_EQ(pacer.messages_due(kStartNs + 999'999), 1u);
  EXPECT_EQ(pacer.messages_due(kStartNs + 1'000'000), 2u);
  EXPECT_EQ(pacer.messages_due(kStartNs + 1'000'000'000), 1001u);
}

TEST(RatePacerTest, DueCountAgreesWithPlannedTimesForOddIntervals) {
  const RatePacer pacer(3e6, 1024, kStartNs);  // 341333.33 ns apart
  for (uint64_t sequence = 0; sequence < 5000; sequence += 13) {
    const int64_t planned = pacer.intended_send_ns(sequence);
    EXPECT_EQ(pacer.messages_due(planned), sequence + 1);
    EXPECT_EQ(pacer.messages_due(planned - 1), sequence);
  }
}

TEST(RatePacerTest, ZeroRateIsUnlimited) {
  const RatePacer pacer(0, 1024, kStartNs);
  EXPECT_TRUE(pacer.unlimited());
  EXPECT_EQ(pacer.messages_due(kStartNs), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(pacer.intended_send_ns(12345), kStartNs);
}

}  // namespace
}  // namespace fjord::bench
