#include "group_options.h"

namespace fjord::bench {

void add_group_join_options(CLI::App& command, LoadOptions& options) {
  command.add_option("--members", options.members, "consumers in the group, one handle each")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  command.add_option("--rounds", options.rounds, "fresh groups formed one after another")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
}

void add_commit_options(CLI::App& command, LoadOptions& options) {
  command.add_option("--seconds,--duration-s", options.duration_s, "how long to commit")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("--commit-partitions", options.commit_partitions, "partitions per commit")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  command
      .add_option("--in-flight", options.commits_in_flight,
                  "0: synchronous commits; else async commits, at most this many outstanding")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
}

}  // namespace fjord::bench
