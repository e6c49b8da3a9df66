#include "cli/txn_report.h"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "cli/group_report.h"

namespace fjord::cli {
namespace {

constexpr std::array<std::string_view, 8> kTransactionStates = {
    "Empty",          "Ongoing",       "PrepareCommit", "PrepareAbort",
    "CompleteCommit", "CompleteAbort", "Dead",          "PrepareEpochFence"};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string number_or_dash(int64_t value) {
  return value < 0 ? std::string("-") : std::to_string(value);
}

std::vector<std::string> producer_row(const TopicPartitionId& id, const ProducerInfo& producer) {
  return {id.topic,
          std::to_string(id.partition),
          std::to_string(producer.producer_id),
          std::to_string(producer.producer_epoch),
          std::to_string(producer.last_sequence),
          format_utc(producer.last_timestamp_ms),
          number_or_dash(producer.txn_start_offset)};
}

}  // namespace

Result<std::string> parse_transaction_state(std::string_view name) {
  for (std::string_view state : kTransactionStates) {
    if (equal_ignoring_case(name, state)) return std::string(state);
  }
  return Error{ErrorCode::kInvalidConfig,
               fmt::format("unknown transaction state '{}': expected one of {}", name,
                           fmt::join(kTransactionStates, ", "))};
}

std::string wire_error_text(int16_t code) {
  const std::string_view name = error_name(static_cast<ErrorCode>(code));
  if (name == "UNKNOWN_ERROR_CODE") return fmt::format("error code {}", code);
  return fmt::format("{} ({})", name, code);
}

std::string format_age(int64_t elapsed_ms) {
  elapsed_ms = std::max<int64_t>(0, elapsed_ms);
  constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;
  if (elapsed_ms < kSecond) return fmt::format("{}ms", elapsed_ms);
  if (elapsed_ms < kMinute) return fmt::format("{}s", elapsed_ms / kSecond);
  if (elapsed_ms < kHour) {
    return fmt::format("{}m{:02}s", elapsed_ms / kMinute, elapsed_ms % kMinute / kSecond);
  }
  if (elapsed_ms < kDay) {
    return fmt::format("{}h{:02}m", elapsed_ms / kHour, elapsed_ms % kHour / kMinute);
  }
  return fmt::format("{}d{:02}h", elapsed_ms / kDay, elapsed_ms % kDay / kHour);
}

std::string format_utc(int64_t time_ms) {
  if (time_ms < 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(time_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", utc);
}

std::string format_start_time(int64_t start_time_ms, int64_t now_ms) {
  if (start_time_ms < 0) return "-";
  return fmt::format("{} ({} ago)", format_utc(start_time_ms), format_age(now_ms - start_time_ms));
}

std::string format_transaction_list(std::vector<TransactionListing> transactions) {
  std::sort(transactions.begin(), transactions.end(),
            [](const TransactionListing& a, const TransactionListing& b) {
              return a.transactional_id < b.transactional_id;
            });
  std::vector<std::vector<std::string>> rows;
  for (const TransactionListing& transaction : transactions) {
    rows.push_back(
        {transaction.transactional_id, std::to_string(transaction.producer_id), transaction.state});
  }
  return format_table({"TRANSACTIONAL-ID", "PRODUCER-ID", "STATE"}, rows);
}

std::string format_transaction_description(const TransactionDescription& transaction,
                                           int64_t now_ms) {
  std::string out = fmt::format("Transactional id: {}\n", transaction.transactional_id);
  out += fmt::format("State:            {}\n", transaction.state);
  out += fmt::format("Producer:         id {}, epoch {}\n", transaction.producer_id,
                     transaction.producer_epoch);
  out += fmt::format("Timeout:          {} ms\n", transaction.timeout_ms);
  out +=
      fmt::format("Started:          {}\n", format_start_time(transaction.start_time_ms, now_ms));
  out += fmt::format("Coordinator:      {}\n", number_or_dash(transaction.coordinator));
  out += fmt::format("Partitions:       {}\n", transaction.partitions.empty()
                                                   ? std::string("-")
                                                   : format_partitions(transaction.partitions));
  return out;
}

size_t partitions_with_open_transactions(const std::vector<PartitionProducers>& partitions) {
  return static_cast<size_t>(
      std::count_if(partitions.begin(), partitions.end(), [](const PartitionProducers& partition) {
        return std::any_of(
            partition.producers.begin(), partition.producers.end(),
            [](const ProducerInfo& producer) { return producer.txn_start_offset >= 0; });
      }));
}

std::string format_producers(const std::vector<PartitionProducers>& partitions) {
  std::vector<std::vector<std::string>> rows;
  for (const PartitionProducers& partition : partitions) {
    if (partition.error != 0) continue;  // reported on stderr
    if (partition.producers.empty()) {
      rows.push_back({partition.partition.topic, std::to_string(partition.partition.partition), "-",
                      "-", "-", "-", "-"});
    }
    std::vector<ProducerInfo> producers = partition.producers;
    std::sort(producers.begin(), producers.end(), [](const ProducerInfo& a, const ProducerInfo& b) {
      return a.producer_id < b.producer_id;
    });
    for (const ProducerInfo& producer : producers) {
      rows.push_back(producer_row(partition.partition, producer));
    }
  }
  std::string out = format_table({"TOPIC", "PARTITION", "PRODUCER-ID", "EPOCH", "LAST-SEQUENCE",
                                  "LAST-TIMESTAMP", "TXN-START-OFFSET"},
                                 rows);
  const size_t open = partitions_with_open_transactions(partitions);
  if (open == 0) {
    out += "\nNo open transactions.\n";
  } else {
    out += fmt::format(
        "\n{} partition(s) with open transactions: read_committed consumers of a partition stop "
        "at its lowest TXN-START-OFFSET until that transaction ends.\n",
        open);
  }
  return out;
}

}  // namespace fjord::cli
