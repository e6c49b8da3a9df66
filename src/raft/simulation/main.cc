// raft_sim: runs (and replays) simulated Raft histories.
//   raft_sim --seed 1234 [--steps 3000] [--planted-bug commit-without-majority] [--trace]
//            [--driver seed|queue|step]   (how a node treats input during an fsync; default:
//                                          the seed chooses)
//   raft_sim --seed 1 --seeds 100000 --seconds 1800     (a soak: many seeds from --seed on)
// Exit status 1 when a history violates a property; the output names the seed
// and the command that replays it.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "raft/simulation/cluster.h"
#include "raft/simulation/replay_on_abort.h"

namespace {

using fjord::raft::sim::SimOptions;
using fjord::raft::sim::SimResult;

void usage() {
  std::fprintf(
      stderr,
      "usage: raft_sim --seed N [--steps N] [--planted-bug none|commit-without-majority|"
      "grant-every-vote] [--driver seed|queue|step] [--trace] [--seeds COUNT] [--seconds S]\n");
  std::exit(2);
}

void print_failure(const std::string& self, const SimOptions& options, const SimResult& result) {
  std::printf("seed %llu FAILED: %s\n", static_cast<unsigned long long>(options.seed),
              result.violation.c_str());
  std::printf("last events:\n");
  for (const std::string& line : result.last_events) std::printf("  %s\n", line.c_str());
  std::printf("replay: %s\n", fjord::raft::sim::replay_command(self, options).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a soak's failures show up as they happen
  SimOptions options;
  uint64_t seeds = 1;
  double seconds = 0;  // 0: no wall-time budget
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (arg == "--seed") {
      options.seed = std::stoull(value());
    } else if (arg == "--steps") {
      options.steps = std::stoll(value());
    } else if (arg == "--planted-bug") {
      auto bug = fjord::raft::sim::planted_bug_from_name(value());
      if (!bug) usage();
      options.planted_bug = *bug;
    } else if (arg == "--driver") {
      const std::string mode = value();
      if (mode == "queue") {
        options.driver = fjord::raft::sim::DriverMode::kQueueWhileSyncing;
      } else if (mode == "step") {
        options.driver = fjord::raft::sim::DriverMode::kStepWhileSyncing;
      } else if (mode != "seed") {
        usage();
      }
    } else if (arg == "--trace") {
      options.trace = true;
    } else if (arg == "--seeds") {
      seeds = std::stoull(value());
    } else if (arg == "--seconds") {
      seconds = std::stod(value());
    } else {
      usage();
    }
  }

  const auto started = std::chrono::steady_clock::now();
  auto elapsed_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const uint64_t first_seed = options.seed;
  uint64_t ran = 0;
  int failures = 0;
  fjord::raft::sim::SimStats stats;
  fjord::raft::sim::install_replay_on_abort();
  for (; ran < seeds && (seconds == 0 || elapsed_s() < seconds); ++ran) {
    options.seed = first_seed + ran;
    fjord::raft::sim::set_replay_on_abort(fjord::raft::sim::replay_command(argv[0], options));
    const SimResult result = fjord::raft::sim::run_simulation(options);
    stats.add(result.stats);
    if (seeds == 1) {
      std::printf(
          "seed %llu: %s, %lld events, %.3f s simulated, %zu nodes, %zu entries committed, "
          "%zu leaders; %s; history %016llx\n",
          static_cast<unsigned long long>(options.seed), result.ok ? "ok" : "FAILED",
          static_cast<long long>(result.events), result.sim_time_us / 1e6, result.nodes,
          result.committed_entries, result.leaders, result.stats.to_string().c_str(),
          static_cast<unsigned long long>(result.history_hash));
    }
    if (!result.ok) {
      ++failures;
      print_failure(argv[0], options, result);
    }
  }
  std::printf("%llu seeds from %llu in %.1f s: %d failed; %s\n",
              static_cast<unsigned long long>(ran), static_cast<unsigned long long>(first_seed),
              elapsed_s(), failures, stats.to_string().c_str());
  return failures == 0 ? 0 : 1;
}
