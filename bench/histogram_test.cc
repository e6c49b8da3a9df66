#include "histogram.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace fjord::bench {
namespace {

TEST(LatencyHistogramTest, EmptyReportsZeros) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.count(), 0);
  EXPECT_EQ(histogram.value_at_quantile(0.99), 0);
  EXPECT_EQ(histogram.max(), 0);
  EXPECT_EQ(histogram.min(), 0);
  EXPECT_EQ(histogram.mean(), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (int64_t value = 0; value < LatencyHistogram::kSubBuckets; ++value) histogram.record(value);
  EXPECT_EQ(histogram.value_at_quantile(0.5), 31);
  EXPECT_EQ(histogram.value_at_quantile(1.0), 63);
  EXPECT_EQ(histogram.min(), 0);
  EXPECT_EQ(histogram.max(), 63);
}

TEST(LatencyHistogramTest, BucketsCoverEveryValueInOrderWithBoundedError) {
  int previous_index = -1;
  for (int64_t value = 0; value < (int64_t{1} << 20); value += 1 + value / 100) {
    const int index = LatencyHistogram::bucket_index(value);
    EXPECT_GE(index, previous_index);
    const int64_t upper = LatencyHistogram::bucket_upper_bound(index);
    EXPECT_GE(upper, value);
    // Within 1/32 of the value: the promise of 6 significant bits.
    EXPECT_LE(upper - value, value / 32) << value;
    previous_index = index;
  }
  EXPECT_LT(LatencyHistogram::bucket_index(LatencyHistogram::kMaxValue),
            LatencyHistogram::kBucketCount);
  EXPECT_EQ(LatencyHistogram::bucket_upper_bound(LatencyHistogram::kBucketCount - 1),
            LatencyHistogram::kMaxValue);
}

TEST(LatencyHistogramTest, QuantilesOfAUniformSpreadAreWithinThreePercent) {
  LatencyHistogram histogram;
  for (int64_t micros = 1; micros <= 10000; ++micros) histogram.record(micros * 1000);
  const auto near = [](int64_t actual, double expected) {
    EXPECT_GE(static_cast<double>(actual), expected);
    EXPECT_LE(static_cast<double>(actual), expected * 1.032);
  };
  near(histogram.value_at_quantile(0.5), 5000e3);
  near(histogram.value_at_quantile(0.99), 9900e3);
  near(histogram.value_at_quantile(0.999), 9990e3);
  EXPECT_EQ(histogram.value_at_quantile(1.0), 10000000);  // capped at the exact max
  EXPECT_DOUBLE_EQ(histogram.mean(), 5000.5e3);
}

TEST(LatencyHistogramTest, ClampsOutOfRangeValues) {
  LatencyHistogram histogram;
  histogram.record(-5);
  histogram.record(LatencyHistogram::kMaxValue + 1000);
  EXPECT_EQ(histogram.min(), 0);
  EXPECT_EQ(histogram.max(), LatencyHistogram::kMaxValue);
  EXPECT_EQ(histogram.count(), 2);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram left;
  LatencyHistogram right;
  LatencyHistogram both;
  for (int64_t value = 100; value < 5000; value += 7) {
    (value % 2 == 0 ? left : right).record(value);
    both.record(value);
  }
  left.merge(right);
  EXPECT_EQ(left.count(), both.count());
  EXPECT_EQ(left.min(), both.min());
  EXPECT_EQ(left.max(), both.max());
  for (double quantile : {0.1, 0.5, 0.9, 0.99}) {
    EXPECT_EQ(left.value_at_quantile(quantile), both.value_at_quantile(quantile));
  }
}

}  // namespace
}  // namespace fjord::bench
