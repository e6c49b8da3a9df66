// One-line event logs of the network layer (bind, shutdown, a connection closed
// for a protocol violation). Never per request: logging costs more than a
// small request does.
#pragma once

#include <fmt/core.h>

#include <cstdio>
#include <utility>

namespace fjord::net {

template <typename... Args>
void log_event(fmt::format_string<Args...> format, Args&&... args) {
  // One fmt::print call per line, so lines from different shards don't interleave.
  fmt::print(stderr, "fjord net: {}\n", fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace fjord::net
