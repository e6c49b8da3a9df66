#include "txn/transaction.h"

#include <cstdio>
#include <cstdlib>

namespace fjord::txn {
namespace {

[[noreturn]] void broken(const char* what, TxnState from, TxnState to) {
  std::fprintf(stderr, "transaction: %s (%.*s -> %.*s)\n", what,
               static_cast<int>(state_name(from).size()), state_name(from).data(),
               static_cast<int>(state_name(to).size()), state_name(to).data());
  std::abort();
}

}  // namespace

bool is_legal_transition(TxnState from, TxnState to) {
  using S = TxnState;
  const bool from_complete = from == S::kCompleteCommit || from == S::kCompleteAbort;
  switch (to) {
    case S::kEmpty:
      return from == S::kEmpty || from_complete;
    case S::kOngoing:
      return from == S::kOngoing || from == S::kEmpty || from_complete;
    case S::kPrepareCommit:
      return from == S::kOngoing;
    case S::kPrepareAbort:
      return from == S::kOngoing || from == S::kPrepareEpochFence;
    case S::kCompleteCommit:
      return from == S::kPrepareCommit;
    case S::kCompleteAbort:
      return from == S::kPrepareAbort;
    case S::kDead:
      return from == S::kEmpty || from_complete;
    case S::kPrepareEpochFence:
      return from == S::kOngoing;
  }
  return false;
}

void Transaction::begin(TxnMetadata target) {
  if (pending_) broken("a transition is already in flight", current_.state, target.state);
  if (!is_legal_transition(current_.state, target.state)) {
    broken("illegal transition", current_.state, target.state);
  }
  pending_ = std::move(target);
}

void Transaction::complete_pending() {
  if (!pending_) broken("no transition in flight", current_.state, current_.state);
  current_ = std::move(*pending_);
  pending_.reset();
  durable_ = true;
}

void Transaction::abort_pending() { pending_.reset(); }

void Transaction::restore(TxnMetadata metadata) {
  current_ = std::move(metadata);
  pending_.reset();
  durable_ = true;
  markers_pending.clear();
  markers_in_flight = false;
}

bool Transaction::accepts_expected(const ProducerIdAndEpoch& expected) const {
  return current_.producer_epoch == kNoProducerEpoch ||
         expected.producer_id == current_.producer_id ||
         (expected.producer_id == current_.last_producer_id &&
          is_epoch_exhausted(expected.producer_epoch));
}

bool Transaction::needs_new_producer_id(const std::optional<ProducerIdAndEpoch>& expected) const {
  return is_epoch_exhausted(current_.producer_epoch) &&
         (!expected || expected->producer_epoch == current_.producer_epoch);
}

Result<TxnMetadata> Transaction::prepare_init(int32_t timeout_ms,
                                              const std::optional<ProducerIdAndEpoch>& expected,
                                              const std::optional<int64_t>& new_producer_id,
                                              int64_t now_ms) const {
  TxnMetadata target = current_;
  target.state = TxnState::kEmpty;
  target.timeout_ms = timeout_ms;
  target.partitions.clear();
  target.start_ms = -1;
  target.last_update_ms = now_ms;
  if (new_producer_id) {
    // Rotation: the old id is kept so that a retry of this very request is recognised.
    target.last_producer_id = current_.producer_id;
    target.producer_id = *new_producer_id;
    target.producer_epoch = 0;
    target.last_producer_epoch = expected ? current_.producer_epoch : kNoProducerEpoch;
    return target;
  }
  const auto bumped = static_cast<int16_t>(current_.producer_epoch + 1);
  if (!expected) {
    target.producer_epoch = bumped;
    target.last_producer_epoch = kNoProducerEpoch;
  } else if (current_.producer_epoch == kNoProducerEpoch ||
             expected->producer_epoch == current_.producer_epoch) {
    target.producer_epoch = bumped;
    target.last_producer_epoch = current_.producer_epoch;
  } else if (expected->producer_epoch == current_.last_producer_epoch) {
    // A retry of a bump that succeeded but whose answer was lost: no new bump.
  } else {
    return Error{ErrorCode::kProducerFenced, "the producer's epoch is not the current one"};
  }
  return target;
}

TxnMetadata Transaction::prepare_add_partitions(const std::set<TopicPartition>& added,
                                                int64_t now_ms) const {
  TxnMetadata target = current_;
  if (current_.state != TxnState::kOngoing) target.start_ms = now_ms;
  target.state = TxnState::kOngoing;
  target.partitions.insert(added.begin(), added.end());
  target.last_update_ms = now_ms;
  return target;
}

TxnMetadata Transaction::prepare_end(bool commit, int64_t now_ms) const {
  TxnMetadata target = current_;
  target.state = commit ? TxnState::kPrepareCommit : TxnState::kPrepareAbort;
  target.last_update_ms = now_ms;
  return target;
}

TxnMetadata Transaction::prepare_fence_and_abort(int64_t now_ms) const {
  TxnMetadata target = prepare_end(false, now_ms);
  // Kafka bumps up to Short.MaxValue; the next InitProducerId then rotates the id.
  if (current_.producer_epoch < INT16_MAX) {
    target.producer_epoch = static_cast<int16_t>(current_.producer_epoch + 1);
  }
  target.last_producer_epoch = kNoProducerEpoch;
  return target;
}

TxnMetadata Transaction::prepare_complete(int64_t now_ms) const {
  TxnMetadata target = current_;
  target.state = current_.state == TxnState::kPrepareCommit ? TxnState::kCompleteCommit
                                                            : TxnState::kCompleteAbort;
  target.partitions.clear();
  target.last_update_ms = now_ms;
  return target;
}

TxnMetadata Transaction::prepare_dead() const {
  TxnMetadata target = current_;
  target.state = TxnState::kDead;
  target.partitions.clear();
  return target;
}

}  // namespace fjord::txn
