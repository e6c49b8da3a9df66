#include "cli/txn_report.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

constexpr int64_t kNoon = 1709294400000;  // 2024-03-01T12:00:00Z

TEST(ParseTransactionState, AcceptsKafkasNamesInAnyCase) {
  EXPECT_EQ(*parse_transaction_state("ongoing"), "Ongoing");
  EXPECT_EQ(*parse_transaction_state("COMPLETECOMMIT"), "CompleteCommit");
  EXPECT_EQ(*parse_transaction_state("PrepareEpochFence"), "PrepareEpochFence");
}

TEST(ParseTransactionState, NamesTheValidStatesForAnUnknownOne) {
  auto state = parse_transaction_state("Committed");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, ErrorCode::kInvalidConfig);
  EXPECT_NE(state.error().message.find("'Committed'"), std::string::npos);
  EXPECT_NE(state.error().message.find("CompleteCommit"), std::string::npos);
}

TEST(WireErrorText, NamesKnownCodesAndNumbersTheOthers) {
  EXPECT_EQ(wire_error_text(105), "TRANSACTIONAL_ID_NOT_FOUND (105)");
  EXPECT_EQ(wire_error_text(9999), "error code 9999");
}

TEST(FormatAge, UsesTheTwoLargestUnits) {
  EXPECT_EQ(format_age(850), "850ms");
  EXPECT_EQ(format_age(42'000), "42s");
  EXPECT_EQ(format_age(187'000), "3m07s");
  EXPECT_EQ(format_age(2 * 3600'000 + 5 * 60'000 + 59'000), "2h05m");
  EXPECT_EQ(format_age(4 * 86400'000LL + 3 * 3600'000), "4d03h");
}

TEST(FormatAge, ShowsZeroForATimeInTheFuture) { EXPECT_EQ(format_age(-5000), "0ms"); }

TEST(FormatStartTime, ShowsTheUtcTimeAndTheAge) {
  EXPECT_EQ(format_start_time(kNoon, kNoon + 187'000), "2024-03-01T12:00:00Z (3m07s ago)");
  EXPECT_EQ(format_start_time(-1, kNoon), "-");
}

TEST(FormatTransactionList, SortsByTransactionalId) {
  EXPECT_EQ(format_transaction_list({{"payments", 7, "Ongoing"}, {"orders-app", 1000, "Empty"}}),
            "TRANSACTIONAL-ID  PRODUCER-ID  STATE\n"
            "orders-app        1000         Empty\n"
            "payments          7            Ongoing\n");
}

TEST(FormatTransactionDescription, ShowsEveryFieldAndThePartitions) {
  TransactionDescription transaction;
  transaction.transactional_id = "orders-app";
  transaction.state = "Ongoing";
  transaction.producer_id = 4000;
  transaction.producer_epoch = 3;
  transaction.timeout_ms = 60000;
  transaction.start_time_ms = kNoon;
  transaction.coordinator = 1;
  transaction.partitions = {{"payments", 3}, {"orders", 1}, {"orders", 0}};
  EXPECT_EQ(format_transaction_description(transaction, kNoon + 42'000),
            "Transactional id: orders-app\n"
            "State:            Ongoing\n"
            "Producer:         id 4000, epoch 3\n"
            "Timeout:          60000 ms\n"
            "Started:          2024-03-01T12:00:00Z (42s ago)\n"
            "Coordinator:      1\n"
            "Partitions:       orders:0,1 payments:3\n");
}

TEST(FormatTransactionDescription, ShowsDashesWithoutATransaction) {
  TransactionDescription transaction;
  transaction.transactional_id = "idle";
  transaction.state = "CompleteCommit";
  const std::string text = format_transaction_description(transaction, kNoon);
  EXPECT_NE(text.find("Started:          -\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Partitions:       -\n"), std::string::npos) << text;
}

PartitionProducers partition_with(int32_t index, std::vector<ProducerInfo> producers) {
  PartitionProducers partition;
  partition.partition = {"orders", index};
  partition.producers = std::move(producers);
  return partition;
}

TEST(FormatProducers, ShowsOneRowPerProducerAndDashesForAnIdlePartition) {
  const ProducerInfo open{7, 2, 41, kNoon, 0, 120};
  const ProducerInfo idempotent{3, 0, 9, kNoon, -1, -1};
  EXPECT_EQ(format_producers({partition_with(0, {open, idempotent}), partition_with(1, {})}),
            "TOPIC   PARTITION  PRODUCER-ID  EPOCH  LAST-SEQUENCE  LAST-TIMESTAMP        "
            "TXN-START-OFFSET\n"
            "orders  0          3            0      9              2024-03-01T12:00:00Z  -\n"
            "orders  0          7            2      41             2024-03-01T12:00:00Z  120\n"
            "orders  1          -            -      -              -                     -\n"
            "\n"
            "1 partition(s) with open transactions: read_committed consumers of a partition stop "
            "at its lowest TXN-START-OFFSET until that transaction ends.\n");
}

TEST(FormatProducers, SaysSoWhenNoTransactionIsOpen) {
  const ProducerInfo committed{7, 2, 41, kNoon, 0, -1};
  const std::string text = format_producers({partition_with(0, {committed})});
  EXPECT_NE(text.find("\nNo open transactions.\n"), std::string::npos) << text;
}

TEST(FormatProducers, LeavesOutPartitionsWithAnError) {
  PartitionProducers failed = partition_with(2, {});
  failed.error = 6;
  EXPECT_EQ(format_producers({failed}).find("orders  2"), std::string::npos);
}

TEST(PartitionsWithOpenTransactions, CountsPartitionsWithAProducerWithAStartOffset) {
  const ProducerInfo open{7, 2, 41, kNoon, 0, 120};
  const ProducerInfo other_open{9, 0, 3, kNoon, 0, 130};
  const ProducerInfo closed{8, 2, 41, kNoon, 0, -1};
  EXPECT_EQ(
      partitions_with_open_transactions({partition_with(0, {open, closed, other_open}),
                                         partition_with(1, {closed}), partition_with(2, {open})}),
      2u);
}

}  // namespace
}  // namespace fjord::cli
