// The command-line options of fjord-load's consumer-group modes, apart from
// main() so that tests can parse command lines.
#pragma once

#include <CLI/CLI.hpp>

#include "options.h"

namespace fjord::bench {

// group-join: --members N --rounds R (plus the common --partitions, --topic, ...).
void add_group_join_options(CLI::App& command, LoadOptions& options);
// commit: --seconds S (= --duration-s), --commit-partitions K, --in-flight F.
void add_commit_options(CLI::App& command, LoadOptions& options);

}  // namespace fjord::bench
