#include "cli/progress.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

TEST(ProgressLine, ShowsMessagesMegabytesAndRate) {
  EXPECT_EQ(progress_line("produced", 120000, 11'400'000, 2.0),
            "produced 120000 msgs, 11.4 MB, 60000 msgs/s");
}

TEST(ProgressLine, ZeroElapsedTimeHasZeroRate) {
  EXPECT_EQ(progress_line("consumed", 5, 0, 0.0), "consumed 5 msgs, 0.0 MB, 0 msgs/s");
}

TEST(SummaryLine, UsesSingularForOneMessage) {
  EXPECT_EQ(summary_line("produced", 1, 1'000'000, 0.5),
            "produced 1 message (1.0 MB) in 0.5 s (2 msgs/s, 2.0 MB/s)");
  EXPECT_EQ(summary_line("consumed", 3, 0, 1.0),
            "consumed 3 messages (0.0 MB) in 1.0 s (3 msgs/s, 0.0 MB/s)");
}

TEST(ProgressMeter, CountsMessagesAndBytesWhenDisabled) {
  ProgressMeter meter("consumed", false);
  meter.add(2, 10);
  meter.add(1, 5);
  EXPECT_EQ(meter.messages(), 3u);
  EXPECT_EQ(meter.bytes(), 15u);
}

}  // namespace
}  // namespace fjord::cli
