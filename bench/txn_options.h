// The command-line options of fjord-load's txn mode, apart from main() so that
// tests can parse command lines.
#pragma once

#include <CLI/CLI.hpp>
#include <string_view>

#include "options.h"

namespace fjord::bench {

// txn: --producer transactional|idempotent|plain, --messages-per-txn K,
// --message-bytes S, --duration-s D, --transactions N, --flush-before-commit
// (plus the common --partitions, --topic, ...).
void add_txn_options(CLI::App& command, LoadOptions& options);

// "transactional", "idempotent" or "plain", as --producer takes it.
std::string_view txn_producer_name(TxnProducer producer);

}  // namespace fjord::bench
