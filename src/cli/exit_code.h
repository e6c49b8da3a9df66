// Exit codes of the `fjord` command and the one-line error report.
#pragma once

#include <fmt/core.h>

#include <cstdio>
#include <string_view>

namespace fjord::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (server, network, data)
inline constexpr int kExitUsage = 2;    // bad arguments or configuration

// Prints "fjord: <message>" on stderr and returns `exit_code`.
inline int fail(int exit_code, std::string_view message) {
  fmt::print(stderr, "fjord: {}\n", message);
  return exit_code;
}

inline void warn(std::string_view message) { fmt::print(stderr, "fjord: warning: {}\n", message); }

}  // namespace fjord::cli
