#include "cli/txn_responses.h"

namespace fjord::cli {

std::vector<TransactionListing> listings_of(const protocol::ListTransactionsResponse& response) {
  std::vector<TransactionListing> listings;
  for (const auto& state : response.transaction_states) {
    listings.push_back({state.transactional_id, state.producer_id, state.transaction_state});
  }
  return listings;
}

TransactionDescription description_of(
    const protocol::DescribeTransactionsResponse::TransactionState& state, int32_t coordinator) {
  TransactionDescription description;
  description.transactional_id = state.transactional_id;
  description.state = state.transaction_state;
  description.producer_id = state.producer_id;
  description.producer_epoch = state.producer_epoch;
  description.timeout_ms = state.transaction_timeout_ms;
  description.start_time_ms = state.transaction_start_time_ms;
  description.coordinator = coordinator;
  for (const auto& topic : state.topics) {
    for (int32_t partition : topic.partitions) {
      description.partitions.push_back({topic.topic, partition});
    }
  }
  return description;
}

std::vector<PartitionProducers> producers_of(const protocol::DescribeProducersResponse& response) {
  std::vector<PartitionProducers> results;
  for (const auto& topic : response.topics) {
    for (const auto& answered : topic.partitions) {
      PartitionProducers result;
      result.partition = {topic.name, answered.partition_index};
      result.error = answered.error_code;
      result.error_message = answered.error_message.value_or("");
      for (const auto& state : answered.active_producers) {
        result.producers.push_back({state.producer_id, state.producer_epoch, state.last_sequence,
                                    state.last_timestamp, state.coordinator_epoch,
                                    state.current_txn_start_offset});
      }
      results.push_back(std::move(result));
    }
  }
  return results;
}

}  // namespace fjord::cli
