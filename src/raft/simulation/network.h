// The simulated network: decides the fate of every message. Each message may be
// lost, duplicated, and delayed by a random latency (which also reorders
// messages); links can be cut in one direction (asymmetric partitions) or both.
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "raft/message.h"
#include "raft/simulation/random.h"

namespace fjord::raft::sim {

struct NetworkFaults {
  double loss = 0;       // probability a message is dropped
  double duplicate = 0;  // probability a message is delivered twice
  double slow = 0;       // probability of a long delay (reorders messages)
  int64_t min_delay_us = 100;
  int64_t max_delay_us = 2000;
  int64_t max_slow_delay_us = 300'000;
};

class Network {
 public:
  Network(Rng& rng, NetworkFaults faults) : rng_(rng), faults_(faults) {}

  // Delivery delays for one message sent now: empty if it is lost or its link
  // is cut, two if it is duplicated.
  std::vector<int64_t> delivery_delays_us(const Message& message);

  void cut(NodeId from, NodeId to) { cut_links_.insert({from, to}); }
  // Cuts every link between the two sides, both ways.
  void partition(const std::vector<NodeId>& side_a, const std::vector<NodeId>& side_b);
  void heal() { cut_links_.clear(); }
  bool is_cut(NodeId from, NodeId to) const { return cut_links_.count({from, to}) != 0; }
  size_t cut_links() const { return cut_links_.size(); }

  // The quiet phase: no loss, no duplicates, no partitions, and latencies well
  // below any election timeout (liveness needs them to be).
  void calm() {
    heal();
    faults_.loss = faults_.duplicate = faults_.slow = 0;
    faults_.max_delay_us = std::min(faults_.max_delay_us, kCalmMaxDelayUs);
  }
  static constexpr int64_t kCalmMaxDelayUs = 5'000;
  const NetworkFaults& faults() const { return faults_; }

 private:
  int64_t delay_us();

  Rng& rng_;
  NetworkFaults faults_;
  std::set<std::pair<NodeId, NodeId>> cut_links_;  // at most nodes^2
};

}  // namespace fjord::raft::sim
