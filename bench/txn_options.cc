#include "txn_options.h"

#include <map>
#include <string>

namespace fjord::bench {

std::string_view txn_producer_name(TxnProducer producer) {
  switch (producer) {
    case TxnProducer::kTransactional:
      return "transactional";
    case TxnProducer::kIdempotent:
      return "idempotent";
    case TxnProducer::kPlain:
      return "plain";
  }
  return "unknown";
}

void add_txn_options(CLI::App& command, LoadOptions& options) {
  const std::map<std::string, TxnProducer> producers = {
      {"transactional", TxnProducer::kTransactional},
      {"idempotent", TxnProducer::kIdempotent},
      {"plain", TxnProducer::kPlain}};
  command
      .add_option("--producer", options.txn_producer,
                  "transactional: commit each batch in a transaction; idempotent or plain: "
                  "the same batches, each flushed (acks=all) instead of committed; "
                  "default transactional")
      ->transform(CLI::CheckedTransformer(producers, CLI::ignore_case));
  command.add_option("--messages-per-txn", options.messages_per_txn, "messages in each batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command.add_option("--message-bytes", options.message_bytes)
      ->capture_default_str()
      ->check(CLI::Range(int64_t{40}, int64_t{1} << 20));
  command.add_option("--duration-s", options.duration_s, "how long to run")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      .add_option("--transactions", options.transactions,
                  "stop after this many batches instead (0: run for --duration-s)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  command.add_flag("--flush-before-commit", options.flush_before_commit,
                   "flush (wait for the produce acks) before the commit, timing both apart");
}

}  // namespace fjord::bench
