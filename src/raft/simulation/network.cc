#include "raft/simulation/network.h"

namespace fjord::raft::sim {

int64_t Network::delay_us() {
  if (rng_.chance(faults_.slow))
    return rng_.between(faults_.max_delay_us, faults_.max_slow_delay_us);
  return rng_.between(faults_.min_delay_us, faults_.max_delay_us);
}

std::vector<int64_t> Network::delivery_delays_us(const Message& message) {
  std::vector<int64_t> delays;
  if (is_cut(message.from, message.to) || rng_.chance(faults_.loss)) return delays;
  delays.push_back(delay_us());
  if (rng_.chance(faults_.duplicate)) delays.push_back(delay_us());
  return delays;
}

void Network::partition(const std::vector<NodeId>& side_a, const std::vector<NodeId>& side_b) {
  for (NodeId a : side_a) {
    for (NodeId b : side_b) {
      cut(a, b);
      cut(b, a);
    }
  }
}

}  // namespace fjord::raft::sim
