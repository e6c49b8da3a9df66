// TxnRegistry: the transaction coordinator's state for the __transaction_state
// partitions one shard owns. It answers the transactional APIs with Kafka's
// semantics and error codes, persists every transition to the transactional
// id's partition before applying it, writes the COMMIT/ABORT markers of a
// decided transaction, aborts transactions that outlive their timeout, expires
// idle transactional ids, and is rebuilt on start-up by replaying its
// partitions. Time, the log, markers and producer ids are injected. Used from
// its shard only. Every request's callback is called exactly once, possibly
// before the call returns.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error_code.h"
#include "common/result.h"
#include "txn/transaction.h"
#include "txn/txn_records.h"

namespace fjord::txn {

inline constexpr std::string_view kOffsetsTopic = "__consumer_offsets";
inline constexpr std::string_view kTxnStateTopic = "__transaction_state";

// Broker settings (Kafka's names in comments).
struct TxnConfig {
  int32_t max_timeout_ms = 900000;                    // transaction.max.timeout.ms
  int64_t id_expiration_ms = 7LL * 24 * 3600 * 1000;  // transactional.id.expiration.ms
  int32_t state_partitions = 50;                      // transaction.state.log.num.partitions
  int32_t offsets_partitions = 50;                    // offsets.topic.num.partitions
  int32_t coordinator_epoch = 0;                      // Fjord has one coordinator per id
  size_t max_batch_bytes = 1 << 20;                   // one record's bound (partitions of a txn)
  // Transactional ids one registry keeps (a bound clients could otherwise grow);
  // InitProducerId for a new id beyond it gets POLICY_VIOLATION.
  size_t max_transactional_ids = 100000;
};

struct InitResult {
  ErrorCode error = ErrorCode::kNone;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
};

struct MarkerRequest {
  std::vector<TopicPartition> partitions;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  bool commit = false;
  int32_t coordinator_epoch = 0;
};

struct TxnDescription {
  ErrorCode error = ErrorCode::kNone;
  std::string transactional_id;
  TxnState state = TxnState::kDead;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t timeout_ms = 0;
  int64_t start_ms = -1;
  std::vector<TopicPartition> partitions;
};

struct ListFilter {
  std::vector<TxnState> states;       // empty: any
  std::vector<int64_t> producer_ids;  // empty: any
  int64_t min_duration_ms = -1;       // ListTransactions v1: running longer than this
};

struct ListedTxn {
  std::string transactional_id;
  int64_t producer_id = kNoProducerId;
  TxnState state = TxnState::kEmpty;
};

using DoneCallback = std::function<void(ErrorCode)>;
using InitCallback = std::function<void(InitResult)>;

class TxnRegistry {
 public:
  // Appends one batch to `partition` of __transaction_state; calls back once it
  // is durable (kNone) or failed.
  using AppendFn =
      std::function<void(int32_t partition, std::vector<uint8_t> batch, DoneCallback done)>;
  // Writes the markers; calls back with one error per partition, in order.
  using MarkerFn = std::function<void(const MarkerRequest& request,
                                      std::function<void(std::vector<ErrorCode>)> done)>;
  // A producer id never handed out before.
  using ProducerIdFn = std::function<Result<int64_t>()>;
  using ClockFn = std::function<int64_t()>;

  TxnRegistry(const TxnConfig& config, AppendFn append, MarkerFn markers, ProducerIdFn producer_ids,
              ClockFn clock);
  TxnRegistry(const TxnRegistry&) = delete;
  TxnRegistry& operator=(const TxnRegistry&) = delete;

  // InitProducerId for a (non-empty) transactional id. `expected`: KIP-360's
  // producer id and epoch (v3+), nullopt when the request has -1/-1.
  void init_producer_id(const std::string& transactional_id, int32_t timeout_ms,
                        const std::optional<ProducerIdAndEpoch>& expected, InitCallback done);
  // AddPartitionsToTxn for partitions known to exist.
  void add_partitions(const std::string& transactional_id, ProducerIdAndEpoch producer,
                      const std::vector<TopicPartition>& partitions, DoneCallback done);
  // AddOffsetsToTxn: adds the group's __consumer_offsets partition.
  void add_offsets(const std::string& transactional_id, ProducerIdAndEpoch producer,
                   const std::string& group_id, DoneCallback done);
  // EndTxn: answers once the markers and the Complete record are written, or
  // kNone once the decision is durable if they fail (the tick retries them).
  void end_txn(const std::string& transactional_id, ProducerIdAndEpoch producer, bool commit,
               DoneCallback done);

  // Aborts (with an epoch bump) the Ongoing transactions past their timeout.
  void abort_timed_out();
  // Retries markers and Complete writes that failed.
  void retry_markers();
  // Tombstones idle ids (Empty/Complete*) older than transactional.id.expiration.ms.
  void expire_ids();

  // Start-up: applies the records of one partition, in log order.
  Status replay(std::span<const uint8_t> batches);
  // After replaying: resumes the markers of decided transactions.
  void finish_load() { retry_markers(); }

  // DescribeTransactions; in Prepare* the partitions are those still without a marker.
  TxnDescription describe(const std::string& transactional_id) const;
  std::vector<ListedTxn> list(const ListFilter& filter) const;
  // nullptr if unknown.
  const Transaction* find(const std::string& transactional_id) const;
  size_t size() const { return transactions_.size(); }

 private:
  using TxnPtr = std::shared_ptr<Transaction>;

  void init_existing(const TxnPtr& txn, int32_t timeout_ms,
                     const std::optional<ProducerIdAndEpoch>& expected, const InitCallback& done);
  ErrorCode check_producer(const TxnPtr& txn, ProducerIdAndEpoch producer) const;
  void add(const std::string& transactional_id, ProducerIdAndEpoch producer,
           std::set<TopicPartition> partitions, DoneCallback done);
  // Writes the decision, then the markers, then Complete; `done` gets kNone once
  // the decision is durable and the rest was tried, or the decision's write error.
  void decide(const TxnPtr& txn, TxnMetadata decision, DoneCallback done);
  void write_markers(const TxnPtr& txn, DoneCallback done);
  void write_complete(const TxnPtr& txn, DoneCallback done);
  // Persists `target` for `txn`; applies it if durable; calls `done` with the
  // write's error mapped to the coordinator's (Kafka's mapping).
  void write(const TxnPtr& txn, TxnMetadata target, DoneCallback done);
  void write_tombstone(const TxnPtr& txn);

  const TxnConfig& config_;
  AppendFn append_;
  MarkerFn markers_;
  ProducerIdFn producer_ids_;
  ClockFn clock_;
  std::unordered_map<std::string, TxnPtr> transactions_;
};

}  // namespace fjord::txn
