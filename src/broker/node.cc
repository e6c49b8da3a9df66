#include "broker/node.h"

#include <fmt/core.h>

namespace fjord::broker {

// Placeholder until the broker lands (this commit only lets the CLI build).
int run_node(const NodeConfig& config) {
  fmt::print(stderr, "fjord: the broker is not built yet\n");
  return 1;
}

}  // namespace fjord::broker
