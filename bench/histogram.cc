#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace fjord::bench {

int LatencyHistogram::bucket_index(int64_t value) {
  assert(value >= 0 && value <= kMaxValue);
  if (value < kSubBuckets) return static_cast<int>(value);
  // Keep the top kSubBucketBits bits: values in [2^e, 2^(e+1)) form row e-kSubBucketBits+1
  // of kSubBuckets/2 sub-buckets, placed right after the linear range and each other.
  const int row = std::bit_width(static_cast<uint64_t>(value)) - kSubBucketBits;
  const int64_t sub_bucket = value >> row;  // in [kSubBuckets/2, kSubBuckets)
  const int index = static_cast<int>(row * (kSubBuckets / 2) + sub_bucket);
  assert(index < kBucketCount);
  return index;
}

int64_t LatencyHistogram::bucket_upper_bound(int index) {
  assert(index >= 0 && index < kBucketCount);
  if (index < kSubBuckets) return index;
  const int64_t half = kSubBuckets / 2;
  const int row = static_cast<int>(index / half - 1);
  const int64_t sub_bucket = index - row * half;
  return ((sub_bucket + 1) << row) - 1;
}

void LatencyHistogram::record(int64_t value) {
  value = std::clamp<int64_t>(value, 0, kMaxValue);
  counts_[bucket_index(value)]++;
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<double>(value);
  count_++;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

int64_t LatencyHistogram::value_at_quantile(double quantile) const {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  const auto rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(quantile * static_cast<double>(count_))));
  int64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_upper_bound(i), max_);
  }
  return max_;
}

}  // namespace fjord::bench
