// LatencyHistogram: a small HdrHistogram-like recorder with logarithmic buckets.
// Values keep their top kSubBucketBits significant bits, so every power of two is
// split into kSubBuckets/2 linear sub-buckets and a value is reported within ~3%, with a fixed
// memory footprint (no allocation while recording). Not thread-safe: give each
// thread its own histogram and merge them.
#pragma once

#include <array>
#include <cstdint>

namespace fjord::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 6;
  static constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;
  // Values at or above 2^kMaxValueBits (about 18 minutes in nanoseconds) are clamped.
  static constexpr int kMaxValueBits = 40;
  static constexpr int64_t kMaxValue = (int64_t{1} << kMaxValueBits) - 1;
  // Values below kSubBuckets get one bucket each; then one row of kSubBuckets/2 per power of two.
  static constexpr int kBucketCount = (kMaxValueBits - kSubBucketBits + 2) * (kSubBuckets / 2);

  // Records one value; negative values count as 0, values above kMaxValue as kMaxValue.
  void record(int64_t value);
  void merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double mean() const;
  // The smallest bucket upper bound below which at least `quantile` (0..1] of the
  // values lie; 0 when empty. Never above max().
  int64_t value_at_quantile(double quantile) const;

  // Exposed for tests: the bucket of a value and the highest value in a bucket.
  static int bucket_index(int64_t value);
  static int64_t bucket_upper_bound(int index);

 private:
  std::array<int64_t, kBucketCount> counts_{};
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace fjord::bench
