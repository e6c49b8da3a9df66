// The transaction admin responses as the plain structs of txn_types.h: what
// the brokers answered, nothing looked up (no I/O, so it is fuzzed).
#pragma once

#include <cstdint>
#include <vector>

#include "cli/txn_types.h"
#include "protocol/generated/describe_producers_response.h"
#include "protocol/generated/describe_transactions_response.h"
#include "protocol/generated/list_transactions_response.h"

namespace fjord::cli {

std::vector<TransactionListing> listings_of(const protocol::ListTransactionsResponse& response);

// One described transaction of a coordinator (node id `coordinator`).
TransactionDescription description_of(
    const protocol::DescribeTransactionsResponse::TransactionState& state, int32_t coordinator);

// Every partition of the response, in the order answered.
std::vector<PartitionProducers> producers_of(const protocol::DescribeProducersResponse& response);

}  // namespace fjord::cli
