// If the process dies while a history runs (a FJORD_CHECK in the core, an
// ASan report with abort_on_error), print the command that replays that
// history before dying: a crash must name its seed like any other failure.
#pragma once

#include <string>

namespace fjord::raft::sim {

// Installs the SIGABRT/SIGSEGV handler (once).
void install_replay_on_abort();
// The line the handler prints; set before each history.
void set_replay_on_abort(const std::string& line);

}  // namespace fjord::raft::sim
