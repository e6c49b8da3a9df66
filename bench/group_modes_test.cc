// The consumer-group modes of the load tool: option parsing, the round
// statistics, the assignment bookkeeping, and both modes end to end against
// librdkafka's mock cluster (counts only, never timings).
#include <gtest/gtest.h>

#include "fake_broker.h"
#include "group_member.h"
#include "group_options.h"
#include "modes.h"
#include "round_summary.h"

namespace fjord::bench {
namespace {

TEST(RoundSummaryTest, OddCountTakesTheMiddleValue) {
  const RoundSummary summary = summarize_rounds({30, 10, 20});
  EXPECT_EQ(summary.count, 3);
  EXPECT_EQ(summary.median, 20);
  EXPECT_EQ(summary.min, 10);
  EXPECT_EQ(summary.max, 30);
}

TEST(RoundSummaryTest, EvenCountAveragesTheTwoMiddleValues) {
  const RoundSummary summary = summarize_rounds({4, 1, 3, 100});
  EXPECT_EQ(summary.median, 3.5);
  EXPECT_EQ(summary.max, 100);
}

TEST(RoundSummaryTest, NoValuesGiveZeros) {
  const RoundSummary summary = summarize_rounds({});
  EXPECT_EQ(summary.count, 0);
  EXPECT_EQ(summary.median, 0);
  EXPECT_EQ(summary.max, 0);
}

// Parses `arguments` (without the program name) with the group options added.
void parse(void (*add)(CLI::App&, LoadOptions&), LoadOptions& options,
           std::vector<std::string> arguments) {
  CLI::App app;
  add(app, options);
  std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them last to first
  app.parse(arguments);
}

TEST(GroupOptionsTest, GroupJoinTakesMembersAndRounds) {
  LoadOptions options;
  parse(add_group_join_options, options, {"--members", "100", "--rounds", "5"});
  EXPECT_EQ(options.members, 100);
  EXPECT_EQ(options.rounds, 5);
}

TEST(GroupOptionsTest, GroupJoinRejectsAnEmptyGroup) {
  LoadOptions options;
  EXPECT_THROW(parse(add_group_join_options, options, {"--members", "0"}), CLI::ValidationError);
}

TEST(GroupOptionsTest, CommitDefaultsToSynchronousSinglePartitionCommits) {
  LoadOptions options;
  parse(add_commit_options, options, {"--seconds", "7"});
  EXPECT_EQ(options.duration_s, 7);
  EXPECT_EQ(options.commit_partitions, 1);
  EXPECT_EQ(options.commits_in_flight, 0);
}

TEST(GroupOptionsTest, CommitTakesPartitionsAndInFlight) {
  LoadOptions options;
  parse(add_commit_options, options,
        {"--duration-s", "2", "--commit-partitions", "6", "--in-flight", "16"});
  EXPECT_EQ(options.duration_s, 2);
  EXPECT_EQ(options.commit_partitions, 6);
  EXPECT_EQ(options.commits_in_flight, 16);
}

TEST(GroupOptionsTest, CommitRejectsANegativeInFlightBound) {
  LoadOptions options;
  EXPECT_THROW(parse(add_commit_options, options, {"--in-flight", "-1"}), CLI::ValidationError);
}

// A partition list of `topic` partitions, as librdkafka hands to a rebalance callback.
struct PartitionList {
  explicit PartitionList(std::initializer_list<int32_t> partitions)
      : list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()))) {
    for (int32_t partition : partitions) {
      rd_kafka_topic_partition_list_add(list, "t", partition);
    }
  }
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
  rd_kafka_topic_partition_list_t* list;
};

TEST(AssignmentBoardTest, SettlesWhenEveryMemberIsAssignedAndEachPartitionOwnedOnce) {
  AssignmentBoard board(/*members=*/3, /*partitions=*/2);
  board.assigned(0, *PartitionList({0}).list, false);
  board.assigned(1, *PartitionList({1}).list, false);
  EXPECT_FALSE(board.settled()) << "member 2 has had no callback yet";
  board.assigned(2, *PartitionList({}).list, false);  // more members than partitions
  EXPECT_TRUE(board.settled());
  EXPECT_EQ(board.assignments(), 3);
}

TEST(AssignmentBoardTest, ARevokedMemberUnsettlesTheGroup) {
  AssignmentBoard board(2, 2);
  board.assigned(0, *PartitionList({0, 1}).list, false);
  board.assigned(1, *PartitionList({}).list, false);
  ASSERT_TRUE(board.settled());
  board.revoked(0, *PartitionList({0, 1}).list, false);
  EXPECT_FALSE(board.settled());
  EXPECT_EQ(board.revocations(), 1);
}

TEST(AssignmentBoardTest, APartitionOwnedTwiceIsNotSettled) {
  AssignmentBoard board(2, 2);
  board.assigned(0, *PartitionList({0, 1}).list, false);
  board.assigned(1, *PartitionList({1}).list, false);
  EXPECT_FALSE(board.settled());
  board.assigned(0, *PartitionList({0}).list, false);  // eager: the new set replaces the old
  EXPECT_TRUE(board.settled());
}

TEST(AssignmentBoardTest, IncrementalCallbacksAddAndRemovePartitions) {
  AssignmentBoard board(2, 2);
  board.assigned(0, *PartitionList({0, 1}).list, true);
  board.assigned(1, *PartitionList({}).list, true);
  ASSERT_TRUE(board.settled());
  board.revoked(0, *PartitionList({1}).list, true);
  board.assigned(0, *PartitionList({}).list, true);
  EXPECT_FALSE(board.settled()) << "partition 1 has no owner";
  board.assigned(1, *PartitionList({1}).list, true);
  EXPECT_TRUE(board.settled());
}

class GroupModesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.topic = "group-test";
    options_.partitions = 4;
    options_.timeout_s = 30;
    options_.overrides = {{"log_level", "3"}};
    auto broker = FakeBroker::start(options_);
    ASSERT_TRUE(broker.ok()) << broker.error().message;
    broker_ = std::move(broker).value();
    options_.bootstrap = broker_->bootstrap();
  }

  LoadOptions options_;
  std::unique_ptr<FakeBroker> broker_;
};

TEST_F(GroupModesTest, GroupJoinAssignsEveryMemberInEveryRound) {
  options_.members = 3;
  options_.rounds = 2;
  auto report = run_group_join(options_);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->metric("rounds_assigned"), 2);
  EXPECT_GE(report->metric("assignments_per_member"), 1);
  EXPECT_LE(report->metric("first_assignment_ms_median"), report->metric("all_assigned_ms_median"));
}

TEST_F(GroupModesTest, SynchronousCommitsAllSucceed) {
  options_.duration_s = 0.5;
  options_.commit_partitions = 4;
  auto report = run_commit(options_);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_GT(report->metric("commits"), 0);
  EXPECT_EQ(report->metric("commit_errors"), 0);
  EXPECT_LE(report->metric("commit_p50_us"), report->metric("commit_p99_us"));
  EXPECT_TRUE(report->notes.empty()) << report->notes.front();
}

TEST_F(GroupModesTest, AsynchronousCommitsAllGetTheirResult) {
  options_.duration_s = 0.5;
  options_.commits_in_flight = 8;
  auto report = run_commit(options_);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_GT(report->metric("commits"), 0);
  EXPECT_EQ(report->metric("commit_errors"), 0);
  EXPECT_TRUE(report->notes.empty()) << report->notes.front();
}

TEST_F(GroupModesTest, CommitNeedsEnoughPartitions) {
  options_.commit_partitions = 5;  // the mock topic has 4 and exists already
  auto report = run_commit(options_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace fjord::bench
