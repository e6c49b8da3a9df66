// `fjord txn abort`: which open transaction to abort (chosen from the
// partition's DescribeProducers answer), what the leader answered to the
// WriteTxnMarkers request and what is printed. Pure functions (no I/O), so they
// are unit-tested and fuzzed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/txn_types.h"
#include "common/result.h"
#include "protocol/generated/write_txn_markers_response.h"

namespace fjord::cli {

// How the person named the transaction: by the offset it starts at, or by its
// producer id and epoch (as kafka-transactions.sh abort does).
struct AbortSelector {
  std::optional<int64_t> start_offset;
  std::optional<int64_t> producer_id;
  std::optional<int16_t> producer_epoch;     // with producer_id
  std::optional<int32_t> coordinator_epoch;  // nothing: the producer's, or 0 if unknown
};

// One open transaction on one partition, and the marker that ends it.
struct AbortTarget {
  TopicPartitionId partition;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t coordinator_epoch = 0;
  int64_t start_offset = -1;  // where the transaction's first record is
};

// The open transaction of `partition` that `selector` names. Fails with
// kInvalidTxnState and a message saying what is open instead when there is no
// such transaction, and with kInvalidProducerEpoch when the epoch given is not
// the producer's current one.
Result<AbortTarget> choose_transaction_to_abort(const PartitionProducers& partition,
                                                const AbortSelector& selector);

// The error code the leader answered for the target's partition (0: the ABORT
// marker is written); kCorruptMessage if the answer does not mention it.
Result<int16_t> abort_marker_error(const protocol::WriteTxnMarkersResponse& response,
                                   const AbortTarget& target);

// "Aborted the transaction of producer 7 (epoch 2) on orders:1 that started at
// offset 42 (ABORT marker written, coordinator epoch 0)".
std::string format_abort(const AbortTarget& target);

}  // namespace fjord::cli
