// What `fjord txn list|describe|producers` print, and the parsing of their
// arguments. Pure functions, so that layout and arithmetic are unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cli/txn_types.h"
#include "common/result.h"

namespace fjord::cli {

// Kafka's transaction state names, matched case-insensitively: Empty, Ongoing,
// PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead,
// PrepareEpochFence. Returns the canonical spelling.
Result<std::string> parse_transaction_state(std::string_view name);

// A Kafka error code for a message: "TRANSACTIONAL_ID_NOT_FOUND (105)".
std::string wire_error_text(int16_t code);

// A duration for people: "850ms", "42s", "3m07s", "2h05m", "4d03h".
std::string format_age(int64_t elapsed_ms);

// "2024-03-01T12:30:00Z", or "-" for a negative time (unknown).
std::string format_utc(int64_t time_ms);

// The start of a transaction: "2024-03-01T12:30:00Z (3m07s ago)", or "-" when
// there is none.
std::string format_start_time(int64_t start_time_ms, int64_t now_ms);

// Sorted by transactional id.
std::string format_transaction_list(std::vector<TransactionListing> transactions);

std::string format_transaction_description(const TransactionDescription& transaction,
                                           int64_t now_ms);

// One row per producer of each partition (a partition without producers gets
// a row of dashes), then how many partitions have an open transaction.
std::string format_producers(const std::vector<PartitionProducers>& partitions);

// How many of `partitions` have a producer with an open transaction.
size_t partitions_with_open_transactions(const std::vector<PartitionProducers>& partitions);

}  // namespace fjord::cli
