// The `fjord` command line: argument parsing and dispatch to the commands.
#pragma once

namespace fjord::cli {

inline constexpr char kFjordVersion[] = "0.1.0";

// Parses the arguments, runs the chosen command and returns the exit code
// (0 ok, 1 the operation failed, 2 bad arguments or configuration).
int run(int argc, char** argv);

}  // namespace fjord::cli
