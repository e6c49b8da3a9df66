#include "round_summary.h"

#include <algorithm>

namespace fjord::bench {

RoundSummary summarize_rounds(std::vector<double> values) {
  RoundSummary summary;
  if (values.empty()) return summary;
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  summary.count = static_cast<int>(values.size());
  summary.median =
      values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
  summary.min = values.front();
  summary.max = values.back();
  return summary;
}

}  // namespace fjord::bench
