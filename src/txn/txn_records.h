// The records of the internal topic __transaction_state, as Kafka writes them:
// key = transactional id (TransactionLogKey v0), value = the transaction's
// metadata (TransactionLogValue), each prefixed by a big-endian int16 version; a
// null value is a tombstone (the transactional id expired). docs/transactions.md
// describes the bytes; the schemas are the generated protocol::internal structs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace fjord::txn {

// Kafka's TransactionState, with its ids (the byte written in the log).
enum class TxnState : int8_t {
  kEmpty = 0,
  kOngoing = 1,
  kPrepareCommit = 2,
  kPrepareAbort = 3,
  kCompleteCommit = 4,
  kCompleteAbort = 5,
  kDead = 6,
  kPrepareEpochFence = 7,
};
// Kafka's names ("Empty", "PrepareCommit", ...), as DescribeTransactions and
// ListTransactions carry them.
std::string_view state_name(TxnState state);
// Exact names, as Kafka's ListTransactions StateFilters match them.
std::optional<TxnState> parse_state(std::string_view name);

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;

// What one record of a transactional id holds (Kafka's TxnTransitMetadata).
struct TxnMetadata {
  int64_t producer_id = kNoProducerId;
  // The producer id before the last rotation (KIP-360), for a retried InitProducerId.
  // Written only at value v1 (a tagged field); -1 after reading v0.
  int64_t last_producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  // Not written by Kafka: -1 after a load.
  int16_t last_producer_epoch = kNoProducerEpoch;
  int32_t timeout_ms = 0;
  TxnState state = TxnState::kEmpty;
  std::set<TopicPartition> partitions;
  int64_t start_ms = -1;  // -1: no transaction started
  int64_t last_update_ms = -1;
  bool operator==(const TxnMetadata&) const = default;
};

// value == nullopt: a tombstone.
struct TxnLogRecord {
  std::string transactional_id;
  std::optional<TxnMetadata> value;
  bool operator==(const TxnLogRecord&) const = default;
};

struct EncodedRecord {
  std::vector<uint8_t> key;
  std::optional<std::vector<uint8_t>> value;  // nullopt: tombstone
};

// The key's version is not flexible: a transactional id longer than this cannot
// be written. The coordinator refuses such ids; encode() aborts on them.
inline constexpr size_t kMaxTransactionalIdBytes = 32767;

// Key v0 and value v0, as Kafka 3.x writes them (v0 has no last producer id;
// it is dropped; v1 if a topic name is too long for v0). The partitions are
// null in state Empty, as Kafka writes them.
EncodedRecord encode(const TxnLogRecord& record);

// Decodes one record: key v0, value v0 or v1. kCorruptMessage, with what is
// wrong, for malformed bytes, unknown versions or an unknown state.
Result<TxnLogRecord> decode(std::span<const uint8_t> key,
                            std::optional<std::span<const uint8_t>> value);

// One uncompressed v2 record batch holding `records`, stamped `now_ms`, ready for
// storage::PartitionLog::append. kMessageTooLarge beyond `max_batch_bytes`;
// kInvalidRequest for a transactional id over kMaxTransactionalIdBytes or no records.
Result<std::vector<uint8_t>> build_batch(std::span<const TxnLogRecord> records, int64_t now_ms,
                                         size_t max_batch_bytes);

// Calls `fn` for each record of `batches` (whole v2 batches, concatenated, as
// read from the log, possibly compressed), in log order; control batches are
// skipped and CRCs checked. kCorruptMessage on malformed input (including a
// partial batch at the end); `fn` has then seen the records before the fault.
Status for_each_record(std::span<const uint8_t> batches,
                       const std::function<void(TxnLogRecord&&)>& fn);

// The __transaction_state partition of `transactional_id`, as Kafka computes it:
// Utils.abs(transactionalId.hashCode()) % partitions (the same hash as groups').
int32_t txn_state_partition_for(std::string_view transactional_id, int32_t partitions);

}  // namespace fjord::txn
