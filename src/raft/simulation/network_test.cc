// The simulated network: cut links drop, faults are what the options say, and
// calm() removes every fault.
#include "raft/simulation/network.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

#include "raft/simulation/replay_on_abort.h"

namespace fjord::raft::sim {
namespace {

Message message_from_to(NodeId from, NodeId to) {
  Message message;
  message.from = from;
  message.to = to;
  return message;
}

TEST(NetworkTest, CutLinksDropOneDirectionPartitionsBoth) {
  Rng rng(1);
  Network network(rng, NetworkFaults{});
  network.cut(1, 2);
  EXPECT_TRUE(network.delivery_delays_us(message_from_to(1, 2)).empty());
  EXPECT_EQ(network.delivery_delays_us(message_from_to(2, 1)).size(), 1u);
  network.heal();
  network.partition({1}, {2, 3});
  EXPECT_TRUE(network.delivery_delays_us(message_from_to(3, 1)).empty());
  EXPECT_TRUE(network.delivery_delays_us(message_from_to(1, 2)).empty());
  EXPECT_EQ(network.delivery_delays_us(message_from_to(2, 3)).size(), 1u);
}

TEST(NetworkTest, LossDuplicatesAndDelaysFollowTheFaults) {
  Rng rng(1);
  Network lossy(rng, NetworkFaults{.loss = 1});
  EXPECT_TRUE(lossy.delivery_delays_us(message_from_to(1, 2)).empty());
  Network duplicating(rng, NetworkFaults{.duplicate = 1, .min_delay_us = 10, .max_delay_us = 20});
  auto delays = duplicating.delivery_delays_us(message_from_to(1, 2));
  ASSERT_EQ(delays.size(), 2u);
  for (int64_t delay : delays) {
    EXPECT_GE(delay, 10);
    EXPECT_LE(delay, 20);
  }
}

TEST(NetworkTest, CalmRemovesEveryFault) {
  Rng rng(1);
  Network network(rng, NetworkFaults{.loss = 1, .duplicate = 1, .slow = 1, .max_delay_us = 60'000});
  network.cut(1, 2);
  network.calm();
  for (int i = 0; i < 100; ++i) {
    auto delays = network.delivery_delays_us(message_from_to(1, 2));
    ASSERT_EQ(delays.size(), 1u);
    EXPECT_LE(delays[0], Network::kCalmMaxDelayUs);
  }
}

TEST(ReplayOnAbortDeathTest, AnAbortPrintsTheReplayCommand) {
  EXPECT_DEATH(
      {
        install_replay_on_abort();
        set_replay_on_abort("raft_sim --seed 42 --steps 3000");
        std::abort();
      },
      "replay: raft_sim --seed 42 --steps 3000");
}

}  // namespace
}  // namespace fjord::raft::sim
