// The transaction admin requests (ListTransactions, FindCoordinator +
// DescribeTransactions, Metadata + DescribeProducers) sent to the brokers that
// answer them, returning the plain structs of txn_types.h. librdkafka 2.0 has
// no API for them, so they go over BrokerConnection (generated protocol code).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/kafka_client.h"
#include "cli/txn_abort.h"
#include "cli/txn_types.h"
#include "common/result.h"

namespace fjord::cli {

struct TransactionFilter {
  std::vector<std::string> states;  // canonical names; empty: every state
  std::vector<int64_t> producer_ids;
};

// The transactions every broker coordinates, merged.
Result<std::vector<TransactionListing>> list_transactions(const ClientOptions& options,
                                                          const TransactionFilter& filter);

// One lookup per id, in the order given; each asks the id's coordinator.
Result<std::vector<TransactionLookup>> describe_transactions(const ClientOptions& options,
                                                             const std::vector<std::string>& ids);

// The active producers of `topic` (or of one partition of it), asked of each
// partition's leader; sorted by partition.
Result<std::vector<PartitionProducers>> describe_producers(const ClientOptions& options,
                                                           const std::string& topic,
                                                           std::optional<int32_t> partition);

// Sends the ABORT marker of `target` to its partition's leader
// (WriteTxnMarkers) and returns the error code the leader answered (0: written).
Result<int16_t> write_abort_marker(const ClientOptions& options, const AbortTarget& target);

}  // namespace fjord::cli
