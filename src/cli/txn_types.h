// Plain descriptions of transactions and producer state for the `fjord txn`
// commands, filled from the brokers' answers (txn_admin.h) and formatted by
// txn_report.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/group_types.h"

namespace fjord::cli {

struct TransactionListing {
  std::string transactional_id;
  int64_t producer_id = -1;
  std::string state;  // Kafka's names: Empty, Ongoing, PrepareCommit, CompleteCommit, ...
};

struct TransactionDescription {
  std::string transactional_id;
  std::string state;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t timeout_ms = 0;
  int64_t start_time_ms = -1;  // -1: no transaction in progress
  int32_t coordinator = -1;    // node id of the transaction coordinator
  std::vector<TopicPartitionId> partitions;
};

struct TransactionLookup {
  TransactionDescription description;  // transactional_id is always set
  int16_t error = 0;                   // Kafka error code
};

// One producer's state on one partition (DescribeProducers).
struct ProducerInfo {
  int64_t producer_id = -1;
  int32_t producer_epoch = -1;
  int32_t last_sequence = -1;
  int64_t last_timestamp_ms = -1;
  int32_t coordinator_epoch = -1;
  int64_t txn_start_offset = -1;  // -1: no open transaction on this partition
};

struct PartitionProducers {
  TopicPartitionId partition;
  int16_t error = 0;
  std::string error_message;
  std::vector<ProducerInfo> producers;
};

}  // namespace fjord::cli
