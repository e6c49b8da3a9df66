// The txn mode of the load tool: its options, and every producer kind end to end
// against librdkafka's mock cluster (counts only, never timings).
#include <gtest/gtest.h>

#include "fake_broker.h"
#include "modes.h"
#include "settings.h"
#include "txn_options.h"

namespace fjord::bench {
namespace {

// Parses `arguments` (without the program name) with the txn options added.
void parse(LoadOptions& options, std::vector<std::string> arguments) {
  CLI::App app;
  add_txn_options(app, options);
  std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them last to first
  app.parse(arguments);
}

std::string setting(const Settings& settings, const std::string& key) {
  std::string value;
  for (const auto& [name, set_to] : settings) {
    if (name == key) value = set_to;  // later entries win, as in librdkafka
  }
  return value;
}

TEST(TxnOptionsTest, DefaultsToTransactionsOfTenMessagesForTheDuration) {
  LoadOptions options;
  parse(options, {});
  EXPECT_EQ(options.txn_producer, TxnProducer::kTransactional);
  EXPECT_EQ(options.messages_per_txn, 10);
  EXPECT_EQ(options.transactions, 0);
  EXPECT_FALSE(options.flush_before_commit);
}

TEST(TxnOptionsTest, TakesSizesCountAndProducerKind) {
  LoadOptions options;
  parse(options, {"--messages-per-txn", "100", "--message-bytes", "512", "--duration-s", "3",
                  "--transactions", "50", "--producer", "idempotent", "--flush-before-commit"});
  EXPECT_EQ(options.messages_per_txn, 100);
  EXPECT_EQ(options.message_bytes, 512);
  EXPECT_EQ(options.duration_s, 3);
  EXPECT_EQ(options.transactions, 50);
  EXPECT_EQ(options.txn_producer, TxnProducer::kIdempotent);
  EXPECT_TRUE(options.flush_before_commit);
}

TEST(TxnOptionsTest, PlainProducerIsAccepted) {
  LoadOptions options;
  parse(options, {"--producer", "plain"});
  EXPECT_EQ(options.txn_producer, TxnProducer::kPlain);
  EXPECT_EQ(txn_producer_name(options.txn_producer), "plain");
}

TEST(TxnOptionsTest, RejectsAnUnknownProducerKind) {
  LoadOptions options;
  EXPECT_THROW(parse(options, {"--producer", "exactly-once"}), CLI::ValidationError);
}

TEST(TxnOptionsTest, RejectsEmptyTransactions) {
  LoadOptions options;
  EXPECT_THROW(parse(options, {"--messages-per-txn", "0"}), CLI::ValidationError);
}

TEST(TxnOptionsTest, RejectsMessagesShorterThanTheStamp) {
  LoadOptions options;
  EXPECT_THROW(parse(options, {"--message-bytes", "39"}), CLI::ValidationError);
}

TEST(TxnSettingsTest, OnlyTheTransactionalKindHasATransactionalId) {
  LoadOptions options;
  const Settings transactional = txn_producer_settings(options, "id-1");
  EXPECT_EQ(setting(transactional, "transactional.id"), "id-1");
  EXPECT_EQ(setting(transactional, "enable.idempotence"), "true");
  EXPECT_EQ(setting(transactional, "acks"), "all");

  options.txn_producer = TxnProducer::kIdempotent;
  const Settings idempotent = txn_producer_settings(options, "id-1");
  EXPECT_EQ(setting(idempotent, "transactional.id"), "");
  EXPECT_EQ(setting(idempotent, "enable.idempotence"), "true");

  options.txn_producer = TxnProducer::kPlain;
  const Settings plain = txn_producer_settings(options, "id-1");
  EXPECT_EQ(setting(plain, "enable.idempotence"), "false");
  EXPECT_EQ(setting(plain, "acks"), "all");
  EXPECT_EQ(setting(plain, "max.in.flight.requests.per.connection"),
            setting(idempotent, "max.in.flight.requests.per.connection"));
}

class TxnModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.topic = "txn-test";
    options_.partitions = 3;
    options_.message_bytes = 100;
    options_.messages_per_txn = 10;
    options_.transactions = 20;
    options_.timeout_s = 30;
    options_.overrides = {{"log_level", "3"}};
    auto broker = FakeBroker::start(options_);
    ASSERT_TRUE(broker.ok()) << broker.error().message;
    broker_ = std::move(broker).value();
    options_.bootstrap = broker_->bootstrap();
  }

  // Runs the mode and checks what every kind must count.
  Report run_and_check_counts() {
    auto report = run_txn(options_);
    EXPECT_TRUE(report.ok()) << report.error().message;
    if (!report.ok()) return Report("failed");
    EXPECT_EQ(report->metric("transactions"), 20);
    EXPECT_EQ(report->metric("messages"), 200);
    EXPECT_EQ(report->metric("bytes"), 200 * 100);
    EXPECT_EQ(report->metric("delivered"), 200) << "every message acknowledged";
    EXPECT_EQ(report->metric("aborted"), 0);
    EXPECT_EQ(report->metric("delivery_errors"), 0);
    EXPECT_GT(report->metric("txn_per_s"), 0);
    EXPECT_LE(report->metric("commit_p50_us"), report->metric("commit_p99_us"));
    EXPECT_LE(report->metric("commit_p50_us"), report->metric("txn_p50_us"))
        << "the commit is part of the transaction";
    EXPECT_TRUE(report->notes.empty()) << report->notes.front();
    return std::move(report).value();
  }

  LoadOptions options_;
  std::unique_ptr<FakeBroker> broker_;
};

TEST_F(TxnModeTest, TransactionalProducerCommitsEveryTransaction) {
  const Report report = run_and_check_counts();
  EXPECT_GE(report.metric("init_ms"), 0);
  EXPECT_NE(setting(report.parameters, "transactional_id"), "");
}

TEST_F(TxnModeTest, FlushBeforeCommitIsTimedApart) {
  options_.flush_before_commit = true;
  const Report report = run_and_check_counts();
  EXPECT_GT(report.metric("flush_p50_us"), 0);
  EXPECT_LE(report.metric("flush_p50_us"), report.metric("txn_max_us"));
}

TEST_F(TxnModeTest, IdempotentProducerSendsTheSameBatches) {
  options_.txn_producer = TxnProducer::kIdempotent;
  const Report report = run_and_check_counts();
  EXPECT_EQ(setting(report.parameters, "producer"), "idempotent");
  EXPECT_EQ(setting(report.producer_settings, "enable.idempotence"), "true");
}

TEST_F(TxnModeTest, PlainProducerSendsTheSameBatches) {
  options_.txn_producer = TxnProducer::kPlain;
  const Report report = run_and_check_counts();
  EXPECT_EQ(setting(report.producer_settings, "enable.idempotence"), "false");
}

TEST_F(TxnModeTest, RunsForTheDurationWithoutACount) {
  options_.transactions = 0;
  options_.duration_s = 0.3;
  auto report = run_txn(options_);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_GT(report->metric("transactions"), 0);
  EXPECT_EQ(report->metric("messages"), report->metric("transactions") * 10);
  EXPECT_EQ(report->metric("delivered"), report->metric("messages"));
}

}  // namespace
}  // namespace fjord::bench
