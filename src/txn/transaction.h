// Transaction: the state of one transactional id, as a state machine with
// Kafka's states and transitions. A transition is first prepared (the target
// metadata), then written to __transaction_state, and only applied once the
// write is durable; while it is in flight the transaction has a pending
// target and other requests get CONCURRENT_TRANSACTIONS. A transaction knows
// nothing of the log, threads or sockets: time comes in as `now_ms`.
//
// States: Empty -> Ongoing (partitions added) -> PrepareCommit|PrepareAbort
// (the decision, durable before any marker) -> CompleteCommit|CompleteAbort
// (every marker written) -> Ongoing again, or Empty after InitProducerId bumps
// the epoch; Dead while the id expires. Fjord fences an ongoing transaction by
// writing PrepareAbort with the bumped epoch directly, so PrepareEpochFence
// (Kafka's in-memory step before that write) is never entered.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "common/error_code.h"
#include "common/result.h"
#include "txn/txn_records.h"

namespace fjord::txn {

// Kafka's TransactionState.validPreviousStates, plus staying in a state.
bool is_legal_transition(TxnState from, TxnState to);

// Kafka's TransactionMetadata.isEpochExhausted: one epoch must stay free to fence.
inline bool is_epoch_exhausted(int16_t epoch) { return epoch >= INT16_MAX - 1; }

struct ProducerIdAndEpoch {
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
};

class Transaction {
 public:
  Transaction(std::string id, TxnMetadata current)
      : id_(std::move(id)), current_(std::move(current)) {}

  const std::string& id() const { return id_; }
  const TxnMetadata& current() const { return current_; }
  TxnState state() const { return current_.state; }
  bool has_pending() const { return pending_.has_value(); }
  const std::optional<TxnMetadata>& pending() const { return pending_; }
  // Durable at least once (false for an id whose first write is in flight or failed).
  bool durable() const { return durable_; }

  // Starts a write of `target`; aborts if a transition is in flight or illegal.
  void begin(TxnMetadata target);
  // The write is durable: `target` becomes the current state.
  void complete_pending();
  // The write failed: the state stays as it was.
  void abort_pending();
  // Start-up: a record read from the log.
  void restore(TxnMetadata metadata);

  // Targets (none of them applied). InitProducerId on Empty/Complete*: the epoch
  // bump with KIP-360's checks (kProducerFenced). `new_producer_id` is used when
  // the epoch is exhausted.
  Result<TxnMetadata> prepare_init(int32_t timeout_ms,
                                   const std::optional<ProducerIdAndEpoch>& expected,
                                   const std::optional<int64_t>& new_producer_id,
                                   int64_t now_ms) const;
  // KIP-360: whether a request carrying `expected` may re-initialise this id.
  bool accepts_expected(const ProducerIdAndEpoch& expected) const;
  // Needs a new producer id for InitProducerId (epoch exhausted, and the expected
  // epoch, if any, is the current one).
  bool needs_new_producer_id(const std::optional<ProducerIdAndEpoch>& expected) const;
  TxnMetadata prepare_add_partitions(const std::set<TopicPartition>& added, int64_t now_ms) const;
  TxnMetadata prepare_end(bool commit, int64_t now_ms) const;
  // Ongoing -> PrepareAbort with the epoch bumped (when it can be): the producer
  // is fenced and its transaction aborted (InitProducerId from a new producer, timeout).
  TxnMetadata prepare_fence_and_abort(int64_t now_ms) const;
  TxnMetadata prepare_complete(int64_t now_ms) const;
  TxnMetadata prepare_dead() const;

  // Markers of a PrepareCommit/PrepareAbort still to write (set when the
  // decision is durable), and whether a write of them is in flight.
  std::set<TopicPartition> markers_pending;
  bool markers_in_flight = false;

 private:
  std::string id_;
  TxnMetadata current_;
  std::optional<TxnMetadata> pending_;
  bool durable_ = false;
};

}  // namespace fjord::txn
