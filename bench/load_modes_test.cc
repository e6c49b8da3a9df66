// The load tool's modes end to end against librdkafka's mock cluster: what they
// count must add up. Throughput and latency values are not asserted (no timing).
#include <gtest/gtest.h>

#include "fake_broker.h"
#include "modes.h"

namespace fjord::bench {
namespace {

class LoadModesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.topic = "load-test";
    options_.partitions = 3;
    options_.message_bytes = 1000;
    options_.duration_s = 1;
    options_.rate_mb_s = 0.2;  // 200 messages/s: ~200 messages in a second
    options_.warmup_s = 0.2;
    options_.timeout_s = 20;
    options_.overrides = {{"log_level", "3"}};
    auto broker = FakeBroker::start(options_);
    ASSERT_TRUE(broker.ok()) << broker.error().message;
    broker_ = std::move(broker).value();
    options_.bootstrap = broker_->bootstrap();
  }

  LoadOptions options_;
  std::unique_ptr<FakeBroker> broker_;
};

TEST_F(LoadModesTest, ConsumeReadsExactlyWhatProduceDelivered) {
  auto produced = run_produce(options_);
  ASSERT_TRUE(produced.ok()) << produced.error().message;
  const double delivered = produced->metric("messages");
  EXPECT_GT(delivered, 0);
  EXPECT_EQ(produced->metric("delivery_errors"), 0);
  EXPECT_EQ(produced->metric("undelivered"), 0);
  EXPECT_EQ(produced->metric("bytes"), delivered * 1000);
  EXPECT_GT(produced->metric("batch_bytes_mean"), 0) << "statistics were not collected";

  auto consumed = run_consume(options_);
  ASSERT_TRUE(consumed.ok()) << consumed.error().message;
  EXPECT_EQ(consumed->metric("messages"), delivered);
  EXPECT_EQ(consumed->metric("log_messages"), delivered);
  EXPECT_EQ(consumed->metric("bytes"), delivered * 1000);
  EXPECT_EQ(consumed->metric("consume_errors"), 0);
  EXPECT_TRUE(consumed->notes.empty());
}

TEST_F(LoadModesTest, LatencyMeasuresEveryMessageOfItsOwnRunAfterWarmUp) {
  // An earlier run's messages sit before the latency run's start offsets.
  ASSERT_TRUE(run_produce(options_).ok());
  auto report = run_latency(options_);
  ASSERT_TRUE(report.ok()) << report.error().message;
  const double delivered = report->metric("delivered");
  EXPECT_GT(delivered, 0);
  EXPECT_EQ(report->metric("received"), delivered);
  EXPECT_GT(report->metric("measured"), 0);
  EXPECT_LT(report->metric("measured"), delivered);  // the warm-up is left out
  EXPECT_LE(report->metric("e2e_p50_us"), report->metric("e2e_p99_us"));
  EXPECT_LE(report->metric("e2e_p99_us"), report->metric("e2e_max_us"));
  EXPECT_GT(report->metric("e2e_p50_us"), 0);
  EXPECT_TRUE(report->notes.empty()) << report->notes.front();
}

TEST_F(LoadModesTest, CreateTopicAcceptsAnExistingTopic) {
  auto report = run_create_topic(options_);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->metric("partitions"), 3);
}

TEST_F(LoadModesTest, ConsumeOfAMissingTopicIsAnError) {
  options_.topic = "no-such-topic";
  auto report = run_consume(options_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kUnknownTopicOrPartition);
}

TEST(LoadReportTest, JsonCarriesSettingsAndMetrics) {
  Report report("produce");
  report.producer_settings = {{"linger.ms", "5"}};
  report.add("mb_per_s", 12.5);
  const std::string json = format_json(report);
  EXPECT_NE(json.find(R"("linger.ms":"5")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("mb_per_s":1.25E1)"), std::string::npos) << json;
}

}  // namespace
}  // namespace fjord::bench
