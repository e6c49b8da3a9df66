#include "txn/transaction.h"

#include <gtest/gtest.h>

namespace fjord::txn {
namespace {

using S = TxnState;

TxnMetadata with(S state, int64_t producer_id, int16_t epoch) {
  TxnMetadata m;
  m.producer_id = producer_id;
  m.producer_epoch = epoch;
  m.timeout_ms = 1000;
  m.state = state;
  return m;
}

TEST(TxnTransitions, KafkasValidPreviousStates) {
  EXPECT_TRUE(is_legal_transition(S::kEmpty, S::kOngoing));
  EXPECT_TRUE(is_legal_transition(S::kCompleteAbort, S::kOngoing));
  EXPECT_TRUE(is_legal_transition(S::kOngoing, S::kPrepareCommit));
  EXPECT_TRUE(is_legal_transition(S::kPrepareCommit, S::kCompleteCommit));
  EXPECT_TRUE(is_legal_transition(S::kCompleteCommit, S::kEmpty));
  EXPECT_TRUE(is_legal_transition(S::kPrepareEpochFence, S::kPrepareAbort));
  EXPECT_TRUE(is_legal_transition(S::kCompleteCommit, S::kDead));
  EXPECT_FALSE(is_legal_transition(S::kEmpty, S::kPrepareCommit));
  EXPECT_FALSE(is_legal_transition(S::kPrepareCommit, S::kCompleteAbort));
  EXPECT_FALSE(is_legal_transition(S::kPrepareAbort, S::kOngoing));
  EXPECT_FALSE(is_legal_transition(S::kOngoing, S::kDead));
  EXPECT_FALSE(is_legal_transition(S::kOngoing, S::kEmpty));
  EXPECT_FALSE(is_legal_transition(S::kDead, S::kEmpty));
}

TEST(Transaction, PendingTargetAppliesOnlyWhenCompleted) {
  Transaction txn("t", with(S::kEmpty, 1, 0));
  txn.begin(txn.prepare_add_partitions({{"a", 0}}, 50));
  EXPECT_TRUE(txn.has_pending());
  EXPECT_EQ(txn.state(), S::kEmpty);
  txn.abort_pending();
  EXPECT_FALSE(txn.has_pending());
  EXPECT_EQ(txn.state(), S::kEmpty);
  EXPECT_FALSE(txn.durable());
  txn.begin(txn.prepare_add_partitions({{"a", 0}}, 60));
  txn.complete_pending();
  EXPECT_EQ(txn.state(), S::kOngoing);
  EXPECT_EQ(txn.current().start_ms, 60);
  EXPECT_TRUE(txn.durable());
  // Adding more keeps the start time.
  txn.begin(txn.prepare_add_partitions({{"b", 1}}, 70));
  txn.complete_pending();
  EXPECT_EQ(txn.current().start_ms, 60);
  EXPECT_EQ(txn.current().partitions.size(), 2u);
}

TEST(TransactionDeathTest, IllegalOrOverlappingTransitionsAbort) {
  Transaction txn("t", with(S::kEmpty, 1, 0));
  EXPECT_DEATH(txn.begin(txn.prepare_end(true, 1)), "illegal transition");
  txn.begin(txn.prepare_add_partitions({{"a", 0}}, 1));
  EXPECT_DEATH(txn.begin(txn.prepare_add_partitions({{"a", 0}}, 1)), "already in flight");
}

TEST(Transaction, InitBumpsTheEpochAndRecordsTheLastOneForKip360) {
  Transaction txn("t", with(S::kCompleteCommit, 5, 3));
  auto plain = txn.prepare_init(2000, std::nullopt, std::nullopt, 9);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->producer_epoch, 4);
  EXPECT_EQ(plain->last_producer_epoch, kNoProducerEpoch);
  EXPECT_EQ(plain->state, S::kEmpty);
  EXPECT_EQ(plain->timeout_ms, 2000);

  auto with_expected = txn.prepare_init(2000, ProducerIdAndEpoch{5, 3}, std::nullopt, 9);
  ASSERT_TRUE(with_expected.ok());
  EXPECT_EQ(with_expected->producer_epoch, 4);
  EXPECT_EQ(with_expected->last_producer_epoch, 3);

  txn.begin(*with_expected);
  txn.complete_pending();
  // The same request again (its answer was lost): no second bump.
  auto retried = txn.prepare_init(2000, ProducerIdAndEpoch{5, 3}, std::nullopt, 10);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->producer_epoch, 4);
  // An older epoch is fenced.
  auto stale = txn.prepare_init(2000, ProducerIdAndEpoch{5, 1}, std::nullopt, 10);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kProducerFenced);
}

TEST(Transaction, ExhaustedEpochRotatesTheProducerId) {
  Transaction txn("t", with(S::kCompleteAbort, 5, INT16_MAX - 1));
  EXPECT_TRUE(txn.needs_new_producer_id(std::nullopt));
  EXPECT_TRUE(txn.needs_new_producer_id(ProducerIdAndEpoch{5, INT16_MAX - 1}));
  auto rotated = txn.prepare_init(1000, ProducerIdAndEpoch{5, INT16_MAX - 1}, 6, 1);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->producer_id, 6);
  EXPECT_EQ(rotated->producer_epoch, 0);
  EXPECT_EQ(rotated->last_producer_id, 5);
  txn.begin(*rotated);
  txn.complete_pending();
  // A retry with the old id and exhausted epoch is accepted and gets the same answer.
  EXPECT_TRUE(txn.accepts_expected(ProducerIdAndEpoch{5, INT16_MAX - 1}));
  EXPECT_FALSE(txn.accepts_expected(ProducerIdAndEpoch{5, 10}));
  EXPECT_FALSE(txn.needs_new_producer_id(ProducerIdAndEpoch{5, INT16_MAX - 1}));
  auto retried = txn.prepare_init(1000, ProducerIdAndEpoch{5, INT16_MAX - 1}, std::nullopt, 2);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->producer_id, 6);
  EXPECT_EQ(retried->producer_epoch, 0);
}

TEST(Transaction, FenceBumpsTheEpochUpToTheMaximum) {
  Transaction txn("t", with(S::kOngoing, 5, 7));
  TxnMetadata fenced = txn.prepare_fence_and_abort(3);
  EXPECT_EQ(fenced.state, S::kPrepareAbort);
  EXPECT_EQ(fenced.producer_epoch, 8);
  Transaction at_max("t", with(S::kOngoing, 5, INT16_MAX));
  EXPECT_EQ(at_max.prepare_fence_and_abort(3).producer_epoch, INT16_MAX);
}

TEST(Transaction, CompleteClearsThePartitions) {
  TxnMetadata m = with(S::kPrepareCommit, 5, 1);
  m.partitions = {{"a", 1}};
  Transaction txn("t", m);
  TxnMetadata done = txn.prepare_complete(4);
  EXPECT_EQ(done.state, S::kCompleteCommit);
  EXPECT_TRUE(done.partitions.empty());
  m.state = S::kPrepareAbort;
  EXPECT_EQ(Transaction("t", m).prepare_complete(4).state, S::kCompleteAbort);
}

}  // namespace
}  // namespace fjord::txn
