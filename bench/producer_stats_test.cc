#include "producer_stats.h"

#include <gtest/gtest.h>

namespace fjord::bench {
namespace {

// Trimmed from a librdkafka 2.0.2 statistics callback: one broker, one topic.
constexpr std::string_view kWindow = R"({
  "name": "fjord-load#producer-1", "type": "producer",
  "brokers": {
    "127.0.0.1:9092/1": {"nodeid": 1, "tx": 120, "txbytes": 4000000,
      "rtt": {"min": 200, "max": 900, "avg": 400, "sum": 40000, "cnt": 100, "p99": 880}}
  },
  "topics": {
    "bench": {"topic": "bench",
      "batchsize": {"min": 1000, "max": 60000, "avg": 40000, "sum": 4000000, "cnt": 100},
      "batchcnt": {"min": 1, "max": 58, "avg": 39, "sum": 3900, "cnt": 100}},
    "other": {"topic": "other",
      "batchsize": {"sum": 999999999, "cnt": 1}, "batchcnt": {"sum": 1, "cnt": 1}}
  }
})";

TEST(ProducerStatsTest, SumsWindowsOfItsTopic) {
  ProducerStats stats("bench");
  ASSERT_TRUE(stats.add_window(kWindow));
  ASSERT_TRUE(stats.add_window(kWindow));
  EXPECT_EQ(stats.batches(), 200);
  EXPECT_DOUBLE_EQ(stats.mean_batch_bytes(), 40000);
  EXPECT_DOUBLE_EQ(stats.mean_batch_messages(), 39);
  EXPECT_DOUBLE_EQ(stats.mean_rtt_us(), 400);
  // tx/txbytes are cumulative counters: the last window's value, not a sum.
  EXPECT_EQ(stats.requests_sent(), 120);
  EXPECT_EQ(stats.request_bytes_sent(), 4000000);
}

TEST(ProducerStatsTest, IgnoresWindowsItCannotRead) {
  ProducerStats stats("bench");
  EXPECT_FALSE(stats.add_window("{not json"));
  EXPECT_FALSE(stats.add_window(R"({"brokers": {"b": {"tx": "many"}}})"));
  EXPECT_EQ(stats.batches(), 0);
  EXPECT_EQ(stats.mean_batch_bytes(), 0);
}

}  // namespace
}  // namespace fjord::bench
