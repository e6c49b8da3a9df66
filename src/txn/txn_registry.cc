#include "txn/txn_registry.h"

#include <algorithm>
#include <utility>

#include "groups/offsets_records.h"

namespace fjord::txn {
namespace {

bool is_prepare(TxnState state) {
  return state == TxnState::kPrepareCommit || state == TxnState::kPrepareAbort;
}

bool is_complete(TxnState state) {
  return state == TxnState::kCompleteCommit || state == TxnState::kCompleteAbort;
}

// Kafka's TransactionStateManager maps a failed append to what the client
// understands: retry here, look for the coordinator again, or give up.
ErrorCode coordinator_error(ErrorCode append_error) {
  switch (append_error) {
    case ErrorCode::kNone:
      return ErrorCode::kNone;
    case ErrorCode::kMessageTooLarge:
    case ErrorCode::kRecordListTooLarge:
      return ErrorCode::kUnknownServerError;
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kKafkaStorageError:
    case ErrorCode::kNotCoordinator:
      return ErrorCode::kNotCoordinator;
    default:
      return ErrorCode::kCoordinatorNotAvailable;
  }
}

}  // namespace

TxnRegistry::TxnRegistry(const TxnConfig& config, AppendFn append, MarkerFn markers,
                         ProducerIdFn producer_ids, ClockFn clock)
    : config_(config),
      append_(std::move(append)),
      markers_(std::move(markers)),
      producer_ids_(std::move(producer_ids)),
      clock_(std::move(clock)) {}

const Transaction* TxnRegistry::find(const std::string& transactional_id) const {
  auto it = transactions_.find(transactional_id);
  return it == transactions_.end() ? nullptr : it->second.get();
}

void TxnRegistry::init_producer_id(const std::string& transactional_id, int32_t timeout_ms,
                                   const std::optional<ProducerIdAndEpoch>& expected,
                                   InitCallback done) {
  if (transactional_id.empty() || transactional_id.size() > kMaxTransactionalIdBytes) {
    done(InitResult{ErrorCode::kInvalidRequest});
    return;
  }
  if (timeout_ms <= 0 || timeout_ms > config_.max_timeout_ms) {
    done(InitResult{ErrorCode::kInvalidTransactionTimeout});
    return;
  }
  auto it = transactions_.find(transactional_id);
  if (it == transactions_.end()) {
    if (transactions_.size() >= config_.max_transactional_ids) {
      done(InitResult{ErrorCode::kPolicyViolation});
      return;
    }
    auto producer_id = producer_ids_();
    if (!producer_id) {
      done(InitResult{ErrorCode::kCoordinatorNotAvailable});
      return;
    }
    TxnMetadata fresh;
    fresh.producer_id = *producer_id;
    fresh.timeout_ms = timeout_ms;
    fresh.last_update_ms = clock_();
    it = transactions_
             .emplace(transactional_id, std::make_shared<Transaction>(transactional_id, fresh))
             .first;
  }
  const TxnPtr txn = it->second;
  init_existing(txn, timeout_ms, expected, done);
}

void TxnRegistry::init_existing(const TxnPtr& txn, int32_t timeout_ms,
                                const std::optional<ProducerIdAndEpoch>& expected,
                                const InitCallback& done) {
  if (txn->has_pending()) {
    done(InitResult{ErrorCode::kConcurrentTransactions});
    return;
  }
  if (expected && !txn->accepts_expected(*expected)) {
    done(InitResult{ErrorCode::kProducerFenced});
    return;
  }
  const TxnState state = txn->state();
  if (state == TxnState::kOngoing) {
    // The new producer fences the old one: its transaction is aborted with a bumped
    // epoch, and the client retries to get an epoch of its own.
    decide(txn, txn->prepare_fence_and_abort(clock_()), [done](ErrorCode error) {
      done(InitResult{error == ErrorCode::kNone ? ErrorCode::kConcurrentTransactions : error});
    });
    return;
  }
  if (state != TxnState::kEmpty && !is_complete(state)) {
    done(InitResult{ErrorCode::kConcurrentTransactions});  // Prepare*: markers still to write
    return;
  }
  std::optional<int64_t> new_producer_id;
  if (txn->needs_new_producer_id(expected)) {
    auto allocated = producer_ids_();
    if (!allocated) {
      done(InitResult{ErrorCode::kCoordinatorNotAvailable});
      return;
    }
    new_producer_id = *allocated;
  }
  auto target = txn->prepare_init(timeout_ms, expected, new_producer_id, clock_());
  if (!target) {
    done(InitResult{target.error().code});
    return;
  }
  write(txn, std::move(*target), [this, txn, done](ErrorCode error) {
    if (error != ErrorCode::kNone) {
      // An id whose first record failed is forgotten: it was never handed out.
      auto it = transactions_.find(txn->id());
      if (!txn->durable() && it != transactions_.end() && it->second == txn) {
        transactions_.erase(it);
      }
      done(InitResult{error});
      return;
    }
    done(InitResult{ErrorCode::kNone, txn->current().producer_id, txn->current().producer_epoch});
  });
}

ErrorCode TxnRegistry::check_producer(const TxnPtr& txn, ProducerIdAndEpoch producer) const {
  if (!txn || !txn->durable() || txn->current().producer_id != producer.producer_id) {
    return ErrorCode::kInvalidProducerIdMapping;
  }
  if (txn->current().producer_epoch != producer.producer_epoch) return ErrorCode::kProducerFenced;
  if (txn->has_pending()) return ErrorCode::kConcurrentTransactions;
  return ErrorCode::kNone;
}

void TxnRegistry::add_partitions(const std::string& transactional_id, ProducerIdAndEpoch producer,
                                 const std::vector<TopicPartition>& partitions, DoneCallback done) {
  add(transactional_id, producer, std::set<TopicPartition>(partitions.begin(), partitions.end()),
      std::move(done));
}

void TxnRegistry::add_offsets(const std::string& transactional_id, ProducerIdAndEpoch producer,
                              const std::string& group_id, DoneCallback done) {
  TopicPartition offsets{std::string(kOffsetsTopic),
                         groups::offsets_partition_for(group_id, config_.offsets_partitions)};
  add(transactional_id, producer, {std::move(offsets)}, std::move(done));
}

void TxnRegistry::add(const std::string& transactional_id, ProducerIdAndEpoch producer,
                      std::set<TopicPartition> partitions, DoneCallback done) {
  if (transactional_id.empty()) {  // Kafka: INVALID_REQUEST, not an unknown id
    done(ErrorCode::kInvalidRequest);
    return;
  }
  auto it = transactions_.find(transactional_id);
  const TxnPtr txn = it == transactions_.end() ? nullptr : it->second;
  if (ErrorCode error = check_producer(txn, producer); error != ErrorCode::kNone) {
    done(error);
    return;
  }
  const TxnState state = txn->state();
  if (state != TxnState::kOngoing && state != TxnState::kEmpty && !is_complete(state)) {
    done(ErrorCode::kConcurrentTransactions);
    return;
  }
  const auto& known = txn->current().partitions;
  const bool all_known =
      std::includes(known.begin(), known.end(), partitions.begin(), partitions.end());
  if (state == TxnState::kOngoing && all_known) {
    done(ErrorCode::kNone);
    return;
  }
  write(txn, txn->prepare_add_partitions(partitions, clock_()), std::move(done));
}

void TxnRegistry::end_txn(const std::string& transactional_id, ProducerIdAndEpoch producer,
                          bool commit, DoneCallback done) {
  if (transactional_id.empty()) {
    done(ErrorCode::kInvalidRequest);
    return;
  }
  auto it = transactions_.find(transactional_id);
  const TxnPtr txn = it == transactions_.end() ? nullptr : it->second;
  if (ErrorCode error = check_producer(txn, producer); error != ErrorCode::kNone) {
    done(error);
    return;
  }
  const TxnState wanted_complete = commit ? TxnState::kCompleteCommit : TxnState::kCompleteAbort;
  const TxnState wanted_prepare = commit ? TxnState::kPrepareCommit : TxnState::kPrepareAbort;
  switch (txn->state()) {
    case TxnState::kOngoing:
      decide(txn, txn->prepare_end(commit, clock_()), std::move(done));
      return;
    case TxnState::kCompleteCommit:
    case TxnState::kCompleteAbort:
      // A retry of an EndTxn that completed: the same outcome is fine.
      done(txn->state() == wanted_complete ? ErrorCode::kNone : ErrorCode::kInvalidTxnState);
      return;
    case TxnState::kPrepareCommit:
    case TxnState::kPrepareAbort:
      done(txn->state() == wanted_prepare ? ErrorCode::kConcurrentTransactions
                                          : ErrorCode::kInvalidTxnState);
      return;
    case TxnState::kEmpty:
      done(ErrorCode::kInvalidTxnState);
      return;
    case TxnState::kDead:
    case TxnState::kPrepareEpochFence:
      done(ErrorCode::kProducerFenced);
      return;
  }
}

void TxnRegistry::decide(const TxnPtr& txn, TxnMetadata decision, DoneCallback done) {
  write(txn, std::move(decision), [this, txn, done](ErrorCode error) {
    if (error != ErrorCode::kNone) {
      done(error);
      return;
    }
    txn->markers_pending = txn->current().partitions;
    write_markers(txn, done);
  });
}

void TxnRegistry::write_markers(const TxnPtr& txn, DoneCallback done) {
  if (txn->markers_pending.empty()) {
    write_complete(txn, std::move(done));
    return;
  }
  MarkerRequest request;
  request.partitions.assign(txn->markers_pending.begin(), txn->markers_pending.end());
  request.producer_id = txn->current().producer_id;
  request.producer_epoch = txn->current().producer_epoch;
  request.commit = txn->state() == TxnState::kPrepareCommit;
  request.coordinator_epoch = config_.coordinator_epoch;
  txn->markers_in_flight = true;
  auto partitions = request.partitions;
  markers_(request, [this, txn, partitions = std::move(partitions),
                     done = std::move(done)](std::vector<ErrorCode> errors) {
    txn->markers_in_flight = false;
    for (size_t i = 0; i < partitions.size() && i < errors.size(); ++i) {
      // A partition that no longer exists (its topic was deleted) needs no marker.
      if (errors[i] == ErrorCode::kNone || errors[i] == ErrorCode::kUnknownTopicOrPartition) {
        txn->markers_pending.erase(partitions[i]);
      }
    }
    if (!txn->markers_pending.empty()) {
      done(ErrorCode::kNone);  // the decision stands; retry_markers() finishes it
      return;
    }
    write_complete(txn, done);
  });
}

void TxnRegistry::write_complete(const TxnPtr& txn, DoneCallback done) {
  // Whether or not Complete is durable, the outcome is decided: a failed write is
  // retried by retry_markers() (the state stays Prepare* with no markers left).
  write(txn, txn->prepare_complete(clock_()),
        [done = std::move(done)](ErrorCode) { done(ErrorCode::kNone); });
}

void TxnRegistry::write(const TxnPtr& txn, TxnMetadata target, DoneCallback done) {
  const TxnLogRecord record{txn->id(), target};
  auto batch = build_batch(std::span(&record, 1), clock_(), config_.max_batch_bytes);
  if (!batch) {
    done(batch.error().code == ErrorCode::kMessageTooLarge ? ErrorCode::kUnknownServerError
                                                           : batch.error().code);
    return;
  }
  txn->begin(std::move(target));
  const int32_t partition = txn_state_partition_for(txn->id(), config_.state_partitions);
  append_(partition, std::move(*batch), [txn, done = std::move(done)](ErrorCode error) {
    if (error == ErrorCode::kNone) {
      txn->complete_pending();
    } else {
      txn->abort_pending();
    }
    done(coordinator_error(error));
  });
}

void TxnRegistry::abort_timed_out() {
  const int64_t now_ms = clock_();
  std::vector<TxnPtr> expired;
  for (const auto& [id, txn] : transactions_) {
    const TxnMetadata& current = txn->current();
    if (txn->state() == TxnState::kOngoing && !txn->has_pending() &&
        current.start_ms + current.timeout_ms < now_ms) {
      expired.push_back(txn);
    }
  }
  for (const TxnPtr& txn : expired) {
    decide(txn, txn->prepare_fence_and_abort(now_ms), [](ErrorCode) {});
  }
}

void TxnRegistry::retry_markers() {
  std::vector<TxnPtr> undone;
  for (const auto& [id, txn] : transactions_) {
    if (is_prepare(txn->state()) && !txn->has_pending() && !txn->markers_in_flight) {
      undone.push_back(txn);
    }
  }
  for (const TxnPtr& txn : undone) write_markers(txn, [](ErrorCode) {});
}

void TxnRegistry::expire_ids() {
  const int64_t now_ms = clock_();
  std::vector<TxnPtr> idle;
  for (const auto& [id, txn] : transactions_) {
    const TxnState state = txn->state();
    if ((state == TxnState::kEmpty || is_complete(state)) && !txn->has_pending() &&
        txn->durable() && txn->current().last_update_ms + config_.id_expiration_ms <= now_ms) {
      idle.push_back(txn);
    }
  }
  for (const TxnPtr& txn : idle) write_tombstone(txn);
}

void TxnRegistry::write_tombstone(const TxnPtr& txn) {
  const TxnLogRecord record{txn->id(), std::nullopt};
  auto batch = build_batch(std::span(&record, 1), clock_(), config_.max_batch_bytes);
  if (!batch) return;
  txn->begin(txn->prepare_dead());
  const int32_t partition = txn_state_partition_for(txn->id(), config_.state_partitions);
  append_(partition, std::move(*batch), [this, txn](ErrorCode error) {
    if (error != ErrorCode::kNone) {
      txn->abort_pending();
      return;
    }
    txn->complete_pending();
    auto it = transactions_.find(txn->id());
    if (it != transactions_.end() && it->second == txn) transactions_.erase(it);
  });
}

Status TxnRegistry::replay(std::span<const uint8_t> batches) {
  return for_each_record(batches, [this](TxnLogRecord&& record) {
    // Kafka never writes Dead (an expiring id gets a tombstone); read it as one.
    if (!record.value || record.value->state == TxnState::kDead) {
      transactions_.erase(record.transactional_id);
      return;
    }
    auto& slot = transactions_[record.transactional_id];
    if (!slot) slot = std::make_shared<Transaction>(record.transactional_id, *record.value);
    slot->restore(std::move(*record.value));
    if (is_prepare(slot->state())) slot->markers_pending = slot->current().partitions;
  });
}

TxnDescription TxnRegistry::describe(const std::string& transactional_id) const {
  TxnDescription description;
  description.transactional_id = transactional_id;
  const Transaction* txn = find(transactional_id);
  if (!txn || !txn->durable() || txn->state() == TxnState::kDead) {
    description.error = ErrorCode::kTransactionalIdNotFound;
    return description;
  }
  const TxnMetadata& current = txn->current();
  description.state = current.state;
  description.producer_id = current.producer_id;
  description.producer_epoch = current.producer_epoch;
  description.timeout_ms = current.timeout_ms;
  description.start_ms = current.start_ms;
  // While deciding, only the partitions still waiting for their marker (Kafka's reading).
  const auto& partitions = is_prepare(current.state) ? txn->markers_pending : current.partitions;
  description.partitions.assign(partitions.begin(), partitions.end());
  return description;
}

std::vector<ListedTxn> TxnRegistry::list(const ListFilter& filter) const {
  const int64_t now_ms = clock_();
  std::vector<ListedTxn> listed;
  for (const auto& [id, txn] : transactions_) {
    const TxnMetadata& current = txn->current();
    if (!txn->durable() || current.state == TxnState::kDead) continue;
    if (!filter.producer_ids.empty() &&
        std::find(filter.producer_ids.begin(), filter.producer_ids.end(), current.producer_id) ==
            filter.producer_ids.end()) {
      continue;
    }
    if (!filter.states.empty() && std::find(filter.states.begin(), filter.states.end(),
                                            current.state) == filter.states.end()) {
      continue;
    }
    // Kafka's test, as it is: an Empty id (start -1) counts as running since the epoch.
    if (filter.min_duration_ms >= 0 && now_ms - current.start_ms <= filter.min_duration_ms) {
      continue;
    }
    listed.push_back(ListedTxn{id, current.producer_id, current.state});
  }
  return listed;
}

}  // namespace fjord::txn
