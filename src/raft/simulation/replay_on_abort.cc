#include "raft/simulation/replay_on_abort.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace fjord::raft::sim {
namespace {

// Written outside the handler; the handler only reads it (async-signal-safe).
char replay_line[512] = {};
size_t replay_line_size = 0;

void on_fatal_signal(int signal) {
  static const char kPrefix[] = "\nthe simulation died during a history; replay: ";
  (void)!write(STDERR_FILENO, kPrefix, sizeof(kPrefix) - 1);
  (void)!write(STDERR_FILENO, replay_line, replay_line_size);
  (void)!write(STDERR_FILENO, "\n", 1);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

void install_replay_on_abort() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  std::signal(SIGABRT, on_fatal_signal);
  std::signal(SIGSEGV, on_fatal_signal);
}

void set_replay_on_abort(const std::string& line) {
  replay_line_size = std::min(line.size(), sizeof(replay_line));
  std::memcpy(replay_line, line.data(), replay_line_size);
}

}  // namespace fjord::raft::sim
