// raft_sim_test: the deterministic simulation as part of `make test`.
// - SeedsWithinTheTimeBudget runs seeds 1, 2, ... until RAFT_SIM_SECONDS (60 by
//   default; RAFT_SIM_SOAK=1 makes it 1800) and fails on the first few that
//   violate a property, printing the raft_sim command that replays each.
//   RAFT_SIM_FIRST_SEED starts elsewhere (a soak explores new seeds).
// - A seed replays exactly (same history hash twice).
// - The checker catches the core's planted bugs within a bounded number of seeds.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "raft/simulation/cluster.h"
#include "raft/simulation/replay_on_abort.h"

namespace fjord::raft::sim {
namespace {

SimOptions test_options(uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  return options;
}

double env_or(const char* name, double fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::stod(value) : fallback;
}

// raft_sim is built next to this test binary.
std::string raft_sim_path() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return "raft_sim";
  return (self.parent_path() / "raft_sim").string();
}

std::string describe_failure(const SimOptions& options, const SimResult& result) {
  std::string text = "seed " + std::to_string(options.seed) + ": " + result.violation + "\n";
  for (const std::string& line : result.last_events) text += "  " + line + "\n";
  text += "replay: " + replay_command(raft_sim_path(), options);
  return text;
}

TEST(RaftSimTest, SeedsWithinTheTimeBudget) {
  const bool soak = env_or("RAFT_SIM_SOAK", 0) != 0;
  const double budget_s = env_or("RAFT_SIM_SECONDS", soak ? 1800 : 60);
  const auto first_seed = static_cast<uint64_t>(env_or("RAFT_SIM_FIRST_SEED", 1));
  install_replay_on_abort();
  constexpr int kMaxReportedFailures = 5;
  const auto started = std::chrono::steady_clock::now();
  auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  uint64_t ran = 0;
  int failures = 0;
  int64_t events = 0;
  size_t committed = 0;
  SimStats stats;
  while (elapsed_s() < budget_s && failures < kMaxReportedFailures) {
    const SimOptions options = test_options(first_seed + ran++);
    set_replay_on_abort(replay_command(raft_sim_path(), options));
    const SimResult result = run_simulation(options);
    events += result.events;
    committed += result.committed_entries;
    stats.add(result.stats);
    if (!result.ok) {
      ++failures;
      ADD_FAILURE() << describe_failure(options, result);
    }
  }
  std::printf(
      "raft simulation: %llu seeds (from %llu) in %.1f s, %lld events, %zu entries "
      "committed, %d failed; %s\n",
      static_cast<unsigned long long>(ran), static_cast<unsigned long long>(first_seed),
      elapsed_s(), static_cast<long long>(events), committed, failures, stats.to_string().c_str());
  EXPECT_GT(ran, 0u);
}

TEST(RaftSimTest, ASeedReplaysTheSameHistory) {
  for (uint64_t seed : {7u, 8u}) {
    const SimOptions options = test_options(seed);
    const SimResult first = run_simulation(options);
    const SimResult second = run_simulation(options);
    EXPECT_EQ(first.history_hash, second.history_hash) << "seed " << seed;
    EXPECT_EQ(first.events, second.events);
    EXPECT_EQ(first.committed_entries, second.committed_entries);
  }
  const SimOptions other = test_options(9);
  const SimOptions seven = test_options(7);
  EXPECT_NE(run_simulation(other).history_hash, run_simulation(seven).history_hash);
}

TEST(RaftSimTest, HistoriesCommitEntries) {
  // A simulation that commits nothing checks nothing.
  size_t committed = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    committed += run_simulation(test_options(seed)).committed_entries;
  }
  EXPECT_GT(committed, 100u);
}

// Runs seeds 1..max_seeds with the core's planted bug until the checker reports
// a violation; returns the seed, or 0.
uint64_t first_seed_that_catches(PlantedBug bug, uint64_t max_seeds) {
  for (uint64_t seed = 1; seed <= max_seeds; ++seed) {
    SimOptions options = test_options(seed);
    options.planted_bug = bug;
    const SimResult result = run_simulation(options);
    if (!result.ok) {
      std::printf("%s caught at seed %llu: %s\n", planted_bug_name(bug),
                  static_cast<unsigned long long>(seed), result.violation.c_str());
      return seed;
    }
  }
  return 0;
}

TEST(RaftSimTest, TheCheckerCatchesCommitWithoutMajority) {
  EXPECT_NE(first_seed_that_catches(PlantedBug::kCommitWithoutMajority, 200), 0u);
}

TEST(RaftSimTest, TheCheckerCatchesGrantEveryVote) {
  EXPECT_NE(first_seed_that_catches(PlantedBug::kGrantEveryVote, 200), 0u);
}

}  // namespace
}  // namespace fjord::raft::sim
