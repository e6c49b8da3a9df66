// The Raft core on LogStorage: a three-node group with a synchronous message
// pump, whose nodes crash (dropping LogStorage without close), restart from
// their directories, diverge and catch up by truncation or by a snapshot. After
// each scenario every node's log holds the same entries.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

#include "raft/log_storage/entry_matchers.h"
#include "raft/log_storage/log_storage.h"
#include "raft/raft.h"
#include "storage/test_util.h"

namespace fjord::raft {
namespace {

struct Node {
  std::unique_ptr<LogStorage> storage;
  std::unique_ptr<Raft> raft;
  Offset applied_end = 0;
  bool down = false;
};

class Group {
 public:
  explicit Group(std::vector<NodeId> voters) {
    for (NodeId id : voters) {
      open_storage(id);
      Raft::bootstrap(*nodes_[id].storage, Config{.voters = voters, .learners = {}});
      nodes_[id].storage->sync();
      start(id);
    }
  }

  void crash(NodeId id) {
    Node& node = nodes_.at(id);
    node.raft.reset();
    node.storage.reset();  // no close(): a crash (what was synced survives)
    node.down = true;
  }

  void restart(NodeId id) {
    open_storage(id);
    start(id);
  }

  void isolate(NodeId id) { isolated_.insert(id); }
  void heal() { isolated_.clear(); }

  Raft& raft(NodeId id) { return *nodes_.at(id).raft; }
  LogStorage& storage(NodeId id) { return *nodes_.at(id).storage; }
  Node& node(NodeId id) { return nodes_.at(id); }

  void process(NodeId id) {
    Node& node = nodes_.at(id);
    if (node.down) return;
    while (node.raft->has_ready()) {
      Ready ready = node.raft->ready();
      if (ready.must_sync) node.storage->sync();
      for (Message& m : ready.messages) network_.push_back(std::move(m));
      if (ready.snapshot) node.applied_end = ready.snapshot->end_offset;
      for (const Entry& entry : ready.committed) node.applied_end = entry.end_offset();
      node.raft->advance(ready);
    }
  }

  void deliver() {
    for (auto& [id, node] : nodes_) process(id);
    while (!network_.empty()) {
      Message m = std::move(network_.front());
      network_.pop_front();
      if (isolated_.count(m.from) || isolated_.count(m.to)) continue;
      Node& to = nodes_.at(m.to);
      if (to.down) continue;
      to.raft->step(m);
      process(m.to);
    }
  }

  void tick_all() {
    for (auto& [id, node] : nodes_) {
      if (node.down) continue;
      node.raft->tick();
      process(id);
    }
    deliver();
  }

  // Ticks until a node that is not isolated leads.
  NodeId tick_until_leader(NodeId not_this = kNoNode) {
    for (int i = 0; i < 2000; ++i) {
      for (auto& [id, node] : nodes_) {
        if (!node.down && id != not_this && !isolated_.count(id) &&
            node.raft->role() == Role::kLeader) {
          return id;
        }
      }
      tick_all();
    }
    ADD_FAILURE() << "no leader";
    return kNoNode;
  }

  // A batch of `count` records, as a producer or the controller builds it.
  Offset propose(NodeId leader, int count) {
    auto batch = storage::testing::make_value_batch(count, 50, 1'700'000'000'000, next_seed_++);
    auto offset = raft(leader).propose(std::move(batch), count);
    EXPECT_TRUE(offset.ok());
    process(leader);
    return offset.ok() ? *offset : -1;
  }

  void expect_same_logs(std::vector<NodeId> ids) {
    for (int i = 0; i < 3; ++i) tick_all();  // heartbeats carry the high watermark
    const Offset end = storage(ids[0]).end_offset();
    for (NodeId id : ids) {
      EXPECT_EQ(storage(id).end_offset(), end) << "node " << id;
      EXPECT_EQ(raft(id).high_watermark(), end) << "node " << id;
    }
    // Compare from the highest log start (snapshots differ per node).
    Offset from = 0;
    for (NodeId id : ids) from = std::max(from, storage(id).start_offset());
    const auto expected = storage(ids[0]).entries(from, end, SIZE_MAX);
    for (NodeId id : ids) {
      testing::expect_same_entries(storage(id).entries(from, end, SIZE_MAX), expected);
    }
  }

 private:
  void open_storage(NodeId id) {
    LogStorageOptions options;
    options.log.segment_bytes = 4096;  // many segments
    auto opened = LogStorage::open(dir_.path() / ("node-" + std::to_string(id)), options);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    nodes_[id].storage = std::move(opened).value();
  }

  void start(NodeId id) {
    RaftOptions options;
    options.self = id;
    options.random_seed = 77 + static_cast<uint64_t>(id);
    Node& node = nodes_[id];
    node.raft = std::make_unique<Raft>(options, *node.storage);
    node.applied_end = node.storage->snapshot_meta().end_offset;
    node.down = false;
  }

  storage::testing::TempDir dir_;
  std::map<NodeId, Node> nodes_;
  std::set<NodeId> isolated_;
  std::deque<Message> network_;
  uint32_t next_seed_ = 1;
};

TEST(RaftOnLogStorage, ReplicatesAcrossCrashesAndRestarts) {
  Group group({1, 2, 3});
  NodeId leader = group.tick_until_leader();
  for (int i = 0; i < 30; ++i) group.propose(leader, 1 + i % 3);
  group.deliver();
  group.expect_same_logs({1, 2, 3});

  const NodeId follower = leader == 3 ? 2 : 3;
  group.crash(follower);
  for (int i = 0; i < 20; ++i) group.propose(leader, 2);
  group.deliver();
  group.restart(follower);
  group.tick_all();
  group.propose(leader, 1);
  group.deliver();
  group.expect_same_logs({1, 2, 3});

  // The leader crashes and comes back: a new leader, and the old one follows.
  group.crash(leader);
  const NodeId second = group.tick_until_leader();
  for (int i = 0; i < 20; ++i) group.propose(second, 3);
  group.deliver();
  group.restart(leader);
  group.tick_all();
  group.deliver();
  group.expect_same_logs({1, 2, 3});
  EXPECT_GT(group.raft(1).term(), 1);
}

TEST(RaftOnLogStorage, AnIsolatedLeaderTruncatesItsUncommittedSuffix) {
  Group group({1, 2, 3});
  const NodeId old_leader = group.tick_until_leader();
  for (int i = 0; i < 10; ++i) group.propose(old_leader, 1);
  group.deliver();
  group.isolate(old_leader);
  for (int i = 0; i < 15; ++i) group.propose(old_leader, 2);  // never committed
  const Offset divergent_end = group.storage(old_leader).end_offset();
  const NodeId new_leader = group.tick_until_leader(old_leader);
  for (int i = 0; i < 5; ++i) group.propose(new_leader, 3);
  group.deliver();
  group.heal();
  for (int i = 0; i < 50 && group.raft(old_leader).role() == Role::kLeader; ++i) group.tick_all();
  group.propose(new_leader, 1);
  group.deliver();
  group.expect_same_logs({1, 2, 3});
  EXPECT_NE(group.storage(old_leader).end_offset(), divergent_end);
  // And it survives a restart of the truncated node.
  group.crash(old_leader);
  group.restart(old_leader);
  group.tick_all();
  group.deliver();
  group.expect_same_logs({1, 2, 3});
}

TEST(RaftOnLogStorage, ALaggingFollowerInstallsTheSnapshot) {
  Group group({1, 2, 3});
  const NodeId leader = group.tick_until_leader();
  const NodeId lagging = leader == 3 ? 2 : 3;
  const NodeId other = 6 - leader - lagging;
  group.crash(lagging);
  for (int i = 0; i < 40; ++i) group.propose(leader, 2);
  group.deliver();
  for (NodeId id : {leader, other}) {
    const Offset end = group.node(id).applied_end;
    group.raft(id).snapshot_taken(end, std::make_shared<const Bytes>(Bytes{1, 2, 3}));
    group.process(id);
    EXPECT_EQ(group.storage(id).start_offset(), end);
  }
  group.restart(lagging);
  group.propose(leader, 1);
  for (int i = 0; i < 20 && group.storage(lagging).start_offset() == 0; ++i) group.tick_all();
  EXPECT_GT(group.storage(lagging).start_offset(), 0);
  EXPECT_EQ(*group.storage(lagging).snapshot_data(), (Bytes{1, 2, 3}));
  group.expect_same_logs({1, 2, 3});
  group.crash(lagging);
  group.restart(lagging);
  group.tick_all();
  group.deliver();
  group.expect_same_logs({1, 2, 3});
}

}  // namespace
}  // namespace fjord::raft
