// `fjord txn list|describe|producers|abort`, like kafka-transactions.sh.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>

#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/txn_abort.h"
#include "cli/txn_admin.h"
#include "cli/txn_report.h"

namespace fjord::cli {
namespace {

int fail_with(const Error& error) {
  return fail(error.code == ErrorCode::kInvalidConfig ? kExitUsage : kExitFailure, error.message);
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lookup_error_message(const TransactionLookup& lookup) {
  const std::string& id = lookup.description.transactional_id;
  switch (static_cast<ErrorCode>(lookup.error)) {
    case ErrorCode::kTransactionalIdNotFound:
      return fmt::format(
          "transactional id '{}' not found: see the transactions with 'fjord txn list'", id);
    case ErrorCode::kCoordinatorLoadInProgress:
    case ErrorCode::kCoordinatorNotAvailable:
    case ErrorCode::kNotCoordinator:
      return fmt::format(
          "cannot describe transactional id '{}': its coordinator is not ready: {}; retry, or "
          "raise --timeout-ms",
          id, wire_error_text(lookup.error));
    default:
      return fmt::format("cannot describe transactional id '{}': {}", id,
                         wire_error_text(lookup.error));
  }
}

std::vector<std::string> without_repeats(const std::vector<std::string>& names) {
  std::vector<std::string> unique;
  for (const std::string& name : names) {
    if (std::find(unique.begin(), unique.end(), name) == unique.end()) unique.push_back(name);
  }
  return unique;
}

std::string marker_error_message(const AbortTarget& target, int16_t error) {
  const std::string what =
      fmt::format("cannot abort the transaction of producer {} on {}:{}: the leader answered {}",
                  target.producer_id, target.partition.topic, target.partition.partition,
                  wire_error_text(error));
  switch (static_cast<ErrorCode>(error)) {
    case ErrorCode::kInvalidProducerEpoch:
      return fmt::format(
          "{}: the producer has a newer epoch now; see 'fjord txn producers "
          "--topic {} --partition {}'",
          what, target.partition.topic, target.partition.partition);
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kLeaderNotAvailable:
      return fmt::format("{}: the partition's leader moved; retry", what);
    default:
      return what;
  }
}

}  // namespace

int txn_list(const ClientOptions& client, const TxnListOptions& options) {
  TransactionFilter filter;
  for (const std::string& name : options.states) {
    auto state = parse_transaction_state(name);
    if (!state.ok()) return fail_with(state.error());
    filter.states.push_back(*state);
  }
  filter.producer_ids = options.producer_ids;
  auto transactions = list_transactions(client, filter);
  if (!transactions.ok()) return fail_with(transactions.error());
  fmt::print("{}", format_transaction_list(std::move(*transactions)));
  return kExitOk;
}

int txn_describe(const ClientOptions& client, const std::vector<std::string>& ids) {
  auto lookups = describe_transactions(client, without_repeats(ids));
  if (!lookups.ok()) return fail_with(lookups.error());
  const int64_t now_ms = wall_clock_ms();
  int exit_code = kExitOk;
  bool first = true;
  for (const TransactionLookup& lookup : *lookups) {
    if (lookup.error != 0) {
      exit_code = fail(kExitFailure, lookup_error_message(lookup));
      continue;
    }
    if (!first) fmt::print("\n");
    first = false;
    fmt::print("{}", format_transaction_description(lookup.description, now_ms));
  }
  return exit_code;
}

int txn_producers(const ClientOptions& client, const TxnProducersOptions& options) {
  auto partitions = describe_producers(client, options.topic, options.partition);
  if (!partitions.ok()) return fail_with(partitions.error());
  fmt::print("{}", format_producers(*partitions));
  int exit_code = kExitOk;
  for (const PartitionProducers& partition : *partitions) {
    if (partition.error == 0) continue;
    const std::string detail =
        partition.error_message.empty() ? "" : fmt::format(": {}", partition.error_message);
    exit_code =
        fail(kExitFailure,
             fmt::format("cannot describe the producers of {}:{}: {}{}; check 'fjord topic "
                         "describe {}'",
                         partition.partition.topic, partition.partition.partition,
                         wire_error_text(partition.error), detail, partition.partition.topic));
  }
  return exit_code;
}

int txn_abort(const ClientOptions& client, const TxnAbortOptions& options) {
  auto partitions = describe_producers(client, options.topic, options.partition);
  if (!partitions.ok()) return fail_with(partitions.error());
  if (partitions->size() != 1) {
    return fail(kExitFailure, fmt::format("{}:{}: the broker described {} partitions, not one",
                                          options.topic, options.partition, partitions->size()));
  }
  const AbortSelector selector{options.start_offset, options.producer_id, options.producer_epoch,
                               options.coordinator_epoch};
  auto target = choose_transaction_to_abort(partitions->front(), selector);
  if (!target.ok()) return fail_with(target.error());
  auto error = write_abort_marker(client, *target);
  if (!error.ok()) return fail_with(error.error());
  if (*error != 0) return fail(kExitFailure, marker_error_message(*target, *error));
  fmt::print("{}", format_abort(*target));
  return kExitOk;
}

}  // namespace fjord::cli
