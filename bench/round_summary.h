// RoundSummary: the median and the extremes of a few repeated measurements (the
// rounds of group-join), where a histogram would be overkill.
#pragma once

#include <vector>

namespace fjord::bench {

struct RoundSummary {
  int count = 0;
  double median = 0;  // the mean of the two middle values for an even count
  double min = 0;
  double max = 0;
};

// All zero for no values.
RoundSummary summarize_rounds(std::vector<double> values);

}  // namespace fjord::bench
