#include "cli/txn_abort.h"

#include <fmt/core.h>

#include <algorithm>
#include <vector>

#include "cli/txn_report.h"

namespace fjord::cli {
namespace {

std::string name_of(const TopicPartitionId& partition) {
  return fmt::format("{}:{}", partition.topic, partition.partition);
}

std::string see_producers(const TopicPartitionId& partition) {
  return fmt::format("see 'fjord txn producers --topic {} --partition {}'", partition.topic,
                     partition.partition);
}

// "transactions are open at offsets 3 (producer 7), 9 (producer 8)" or "no
// transaction is open": what the person can choose from instead.
std::string open_transactions_text(const PartitionProducers& partition) {
  std::vector<const ProducerInfo*> open;
  for (const ProducerInfo& producer : partition.producers) {
    if (producer.txn_start_offset >= 0) open.push_back(&producer);
  }
  if (open.empty()) return "no transaction is open there";
  std::sort(open.begin(), open.end(), [](const ProducerInfo* a, const ProducerInfo* b) {
    return a->txn_start_offset < b->txn_start_offset;
  });
  std::string text =
      open.size() == 1 ? "a transaction is open at offset " : "transactions are open at offsets ";
  for (size_t i = 0; i < open.size(); ++i) {
    if (i > 0) text += ", ";
    text += fmt::format("{} (producer {})", open[i]->txn_start_offset, open[i]->producer_id);
  }
  return text;
}

Error no_transaction(const PartitionProducers& partition, const std::string& what) {
  return Error{ErrorCode::kInvalidTxnState,
               fmt::format("{} on {}: {}; {}", what, name_of(partition.partition),
                           open_transactions_text(partition), see_producers(partition.partition))};
}

const ProducerInfo* find_by_start_offset(const PartitionProducers& partition, int64_t offset) {
  for (const ProducerInfo& producer : partition.producers) {
    if (producer.txn_start_offset >= 0 && producer.txn_start_offset == offset) return &producer;
  }
  return nullptr;
}

const ProducerInfo* find_by_producer_id(const PartitionProducers& partition, int64_t id) {
  for (const ProducerInfo& producer : partition.producers) {
    if (producer.producer_id == id) return &producer;
  }
  return nullptr;
}

Result<const ProducerInfo*> find_producer(const PartitionProducers& partition,
                                          const AbortSelector& selector) {
  if (selector.start_offset) {
    const ProducerInfo* found = find_by_start_offset(partition, *selector.start_offset);
    if (found == nullptr) {
      return no_transaction(partition, fmt::format("no open transaction starts at offset {}",
                                                   *selector.start_offset));
    }
    return found;
  }
  if (!selector.producer_id || !selector.producer_epoch) {
    return Error{ErrorCode::kInvalidConfig,
                 "name the transaction: --start-offset O, or --producer-id X with "
                 "--producer-epoch E"};
  }
  const ProducerInfo* found = find_by_producer_id(partition, *selector.producer_id);
  if (found == nullptr || found->txn_start_offset < 0) {
    return no_transaction(
        partition, fmt::format("producer {} has no open transaction", *selector.producer_id));
  }
  if (found->producer_epoch != *selector.producer_epoch) {
    return Error{
        ErrorCode::kInvalidProducerEpoch,
        fmt::format("producer {} has epoch {} on {}, not {}: give --producer-epoch {}",
                    found->producer_id, found->producer_epoch, name_of(partition.partition),
                    *selector.producer_epoch, found->producer_epoch)};
  }
  return found;
}

}  // namespace

Result<AbortTarget> choose_transaction_to_abort(const PartitionProducers& partition,
                                                const AbortSelector& selector) {
  if (partition.error != 0) {
    const std::string detail =
        partition.error_message.empty() ? "" : fmt::format(": {}", partition.error_message);
    return Error{
        static_cast<ErrorCode>(partition.error),
        fmt::format("cannot describe the producers of {}: {}{}", name_of(partition.partition),
                    wire_error_text(partition.error), detail)};
  }
  auto producer = find_producer(partition, selector);
  if (!producer.ok()) return producer.error();
  const ProducerInfo& found = **producer;
  AbortTarget target;
  target.partition = partition.partition;
  target.producer_id = found.producer_id;
  target.producer_epoch = static_cast<int16_t>(found.producer_epoch);
  target.start_offset = found.txn_start_offset;
  // Kafka's tool takes the producer's coordinator epoch, or 0 when the broker
  // keeps none (Fjord's does not: its coordinator epoch is always 0).
  target.coordinator_epoch =
      selector.coordinator_epoch.value_or(std::max<int32_t>(found.coordinator_epoch, 0));
  return target;
}

Result<int16_t> abort_marker_error(const protocol::WriteTxnMarkersResponse& response,
                                   const AbortTarget& target) {
  for (const auto& marker : response.markers) {
    if (marker.producer_id != target.producer_id) continue;
    for (const auto& topic : marker.topics) {
      if (topic.name != target.partition.topic) continue;
      for (const auto& partition : topic.partitions) {
        if (partition.partition_index == target.partition.partition) return partition.error_code;
      }
    }
  }
  return Error{ErrorCode::kCorruptMessage,
               fmt::format("malformed WriteTxnMarkers response: no answer for producer {} on {}",
                           target.producer_id, name_of(target.partition))};
}

std::string format_abort(const AbortTarget& target) {
  return fmt::format(
      "Aborted the transaction of producer {} (epoch {}) on {} that started at offset {} (ABORT "
      "marker written, coordinator epoch {})\n",
      target.producer_id, target.producer_epoch, name_of(target.partition), target.start_offset,
      target.coordinator_epoch);
}

}  // namespace fjord::cli
