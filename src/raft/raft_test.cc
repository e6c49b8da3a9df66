// Unit tests of the Raft core with MemoryStorage and a tiny message pump: a
// FIFO network between the nodes of one group, links that can be cut, and a
// driver that syncs, sends, applies and advances every Ready at once.
#include "raft/raft.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "raft/memory_storage.h"

namespace fjord::raft {
namespace {

Bytes bytes_of(const std::string& text) { return Bytes(text.begin(), text.end()); }

std::string text_of(const Entry& entry) {
  return entry.data ? std::string(entry.data->begin(), entry.data->end()) : std::string();
}

struct Node {
  MemoryStorage storage;
  std::unique_ptr<Raft> raft;
  std::vector<Entry> applied;  // data entries, in order
  std::vector<ReadState> reads;
  std::optional<SnapshotMeta> installed_snapshot;
  bool down = false;
};

class Cluster {
 public:
  explicit Cluster(std::vector<NodeId> voters, RaftOptions base = {}) : base_(base) {
    for (NodeId id : voters) {
      Node& node = nodes_[id];
      Raft::bootstrap(node.storage, Config{.voters = voters, .learners = {}});
      start(id);
    }
  }

  // A node with empty storage: it learns its configuration from the leader.
  void add_empty_node(NodeId id) { start(id); }

  void start(NodeId id) {
    RaftOptions options = base_;
    options.self = id;
    options.random_seed = 1000 + static_cast<uint64_t>(id);
    Node& node = nodes_[id];
    node.raft = std::make_unique<Raft>(options, node.storage);
    node.down = false;
  }

  // The node stops; its MemoryStorage is kept (every Ready was synced), its
  // in-memory state machine is lost (it starts again from the snapshot).
  void crash(NodeId id) {
    nodes_[id].raft.reset();
    nodes_[id].down = true;
    nodes_[id].applied.clear();
  }

  Raft& raft(NodeId id) { return *nodes_.at(id).raft; }
  Node& node(NodeId id) { return nodes_.at(id); }

  void cut(NodeId a, NodeId b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void isolate(NodeId id) {
    for (auto& [other, node] : nodes_) {
      if (other != id) cut(id, other);
    }
  }
  void heal() { cut_.clear(); }

  // Drives every node's Ready: sync, queue messages, apply, advance.
  void process(NodeId id) {
    Node& node = nodes_.at(id);
    if (node.down) return;
    while (node.raft->has_ready()) {
      Ready ready = node.raft->ready();
      if (ready.must_sync) node.storage.sync();
      for (Message& m : ready.messages) {
        if (!cut_.count({m.from, m.to})) network_.push_back(std::move(m));
      }
      if (ready.snapshot) {
        node.installed_snapshot = ready.snapshot;
        node.applied.clear();  // the state machine is replaced by the snapshot
      }
      for (const Entry& entry : ready.committed) {
        if (entry.type == EntryType::kData) node.applied.push_back(entry);
      }
      for (const ReadState& read : ready.reads) node.reads.push_back(read);
      node.raft->advance(ready);
    }
  }

  void process_all() {
    for (auto& [id, node] : nodes_) process(id);
  }

  // Delivers messages until the network is quiet. `observe` runs after each step.
  void deliver(const std::function<void()>& observe = {}) {
    process_all();
    while (!network_.empty()) {
      Message m = std::move(network_.front());
      network_.pop_front();
      auto it = nodes_.find(m.to);
      if (it == nodes_.end() || it->second.down || cut_.count({m.from, m.to})) continue;
      it->second.raft->step(m);
      process(m.to);
      if (observe) observe();
    }
  }

  void tick(NodeId id, int times = 1) {
    for (int i = 0; i < times; ++i) {
      if (nodes_.at(id).down) return;
      raft(id).tick();
      process(id);
    }
  }

  void tick_all(int times = 1) {
    for (int i = 0; i < times; ++i) {
      for (auto& [id, node] : nodes_) tick(id);
      deliver();
    }
  }

  // Ticks only `id` until it starts an election.
  void start_campaign(NodeId id) {
    for (int i = 0; i < 1000 && raft(id).role() == Role::kFollower; ++i) tick(id);
  }

  // ... and lets it run.
  void elect(NodeId id) {
    start_campaign(id);
    deliver();
  }

  // Ticks every live node until one leads (after the previous leader was lost,
  // the others must first leave its lease).
  NodeId tick_until_leader() {
    for (int i = 0; i < 1000; ++i) {
      for (auto& [id, node] : nodes_) {
        if (!node.down && node.raft->role() == Role::kLeader) return id;
      }
      tick_all();
    }
    return kNoNode;
  }

  Offset propose(NodeId leader, const std::string& text) {
    Result<Offset> offset = raft(leader).propose(bytes_of(text));
    EXPECT_TRUE(offset.ok());
    return offset.ok() ? *offset : -1;
  }

  std::vector<std::string> applied_texts(NodeId id) {
    std::vector<std::string> texts;
    for (const Entry& entry : nodes_.at(id).applied) texts.push_back(text_of(entry));
    return texts;
  }

  std::map<NodeId, Node>& nodes() { return nodes_; }

 private:
  RaftOptions base_;
  std::map<NodeId, Node> nodes_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::deque<Message> network_;
};

void expect_one_leader(Cluster& cluster, NodeId leader) {
  Term term = cluster.raft(leader).term();
  EXPECT_EQ(cluster.raft(leader).role(), Role::kLeader);
  for (auto& [id, node] : cluster.nodes()) {
    if (node.down || id == leader) continue;
    EXPECT_NE(node.raft->role(), Role::kLeader) << "node " << id;
    EXPECT_EQ(node.raft->leader(), leader) << "node " << id;
    EXPECT_EQ(node.raft->term(), term) << "node " << id;
  }
}

TEST(RaftTest, SingleVoterElectsItselfAndCommitsOnItsOwnSync) {
  Cluster cluster({1});
  cluster.elect(1);
  EXPECT_EQ(cluster.raft(1).role(), Role::kLeader);
  EXPECT_EQ(cluster.raft(1).term(), 1);
  cluster.propose(1, "a");
  cluster.propose(1, "b");
  cluster.process_all();
  EXPECT_EQ(cluster.applied_texts(1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cluster.raft(1).high_watermark(), 3);  // LeaderChange + 2
}

TEST(RaftTest, ThreeNodesElectOneLeader) {
  Cluster cluster({1, 2, 3});
  cluster.elect(2);
  expect_one_leader(cluster, 2);
  EXPECT_EQ(cluster.raft(2).term(), 1);
}

TEST(RaftTest, FiveNodesElectOneLeaderAndSurviveItsLoss) {
  Cluster cluster({1, 2, 3, 4, 5});
  cluster.elect(4);
  expect_one_leader(cluster, 4);
  cluster.crash(4);
  NodeId leader = cluster.tick_until_leader();
  ASSERT_NE(leader, kNoNode);
  expect_one_leader(cluster, leader);
  EXPECT_EQ(cluster.raft(leader).term(), 2);
}

TEST(RaftTest, ReplicatesAndCommitsOnEveryNode) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    expected.push_back("entry-" + std::to_string(i));
    cluster.propose(1, expected.back());
  }
  cluster.deliver();
  cluster.tick(1);  // a heartbeat carries the final high watermark
  cluster.deliver();
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(cluster.applied_texts(id), expected) << "node " << id;
    EXPECT_EQ(cluster.raft(id).high_watermark(), 21) << "node " << id;
  }
}

TEST(RaftTest, EntriesSpanSeveralOffsets) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  EXPECT_EQ(*cluster.raft(1).propose(bytes_of("batch"), 5), 1);
  EXPECT_EQ(*cluster.raft(1).propose(bytes_of("next"), 2), 6);
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  for (NodeId id : {1, 2, 3}) {
    EXPECT_EQ(cluster.raft(id).high_watermark(), 8);
    EXPECT_EQ(cluster.node(id).storage.term_at(4), 1);
  }
}

TEST(RaftTest, CommitNeedsAMajority) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.tick(1);
  cluster.deliver();
  Offset before = cluster.raft(1).high_watermark();
  cluster.isolate(1);
  cluster.propose(1, "lonely");
  cluster.deliver();
  EXPECT_EQ(cluster.raft(1).high_watermark(), before);
  EXPECT_TRUE(cluster.applied_texts(1).empty());
}

// Node 3 holds entries of an old term that no majority has; the new leader's
// appends make it truncate them and take the leader's.
TEST(RaftTest, FollowerTruncatesADivergentSuffix) {
  Cluster cluster({1, 2, 3});
  auto entry = [](Offset offset, int32_t count, Term term, const std::string& text) {
    return Entry{.offset = offset,
                 .count = count,
                 .term = term,
                 .type = EntryType::kData,
                 .config = {},
                 .data = std::make_shared<const Bytes>(bytes_of(text))};
  };
  for (NodeId id : {1, 2, 3}) cluster.crash(id);
  std::vector<Entry> common = {entry(0, 1, 1, "common"), entry(1, 1, 1, "agreed")};
  std::vector<Entry> divergent = {entry(1, 2, 2, "stale-1"), entry(3, 1, 2, "stale-2")};
  for (NodeId id : {1, 2, 3}) cluster.node(id).storage.append(common);
  cluster.node(3).storage.append(divergent);
  cluster.node(1).storage.save_hard_state({.term = 3, .voted_for = kNoNode});
  cluster.node(2).storage.save_hard_state({.term = 3, .voted_for = kNoNode});
  cluster.node(3).storage.save_hard_state({.term = 2, .voted_for = 3});
  for (NodeId id : {1, 2, 3}) cluster.start(id);

  cluster.elect(1);  // node 2 votes for it; node 3 (a longer, newer log) does not
  ASSERT_EQ(cluster.raft(1).role(), Role::kLeader);
  cluster.propose(1, "new");
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  const MemoryStorage& log3 = cluster.node(3).storage;
  EXPECT_EQ(log3.term_at(1), 1);
  EXPECT_EQ(log3.term_at(2), 4);  // the leader's LeaderChange
  EXPECT_EQ(log3.end_offset(), cluster.node(1).storage.end_offset());
  EXPECT_EQ(cluster.applied_texts(3), (std::vector<std::string>{"common", "agreed", "new"}));
}

// Figure 8: an entry of an earlier term on a majority is not committed by
// counting; it commits with the first entry of the leader's own term.
TEST(RaftTest, AnOldTermEntryIsNotCommittedByCounting) {
  RaftOptions options;
  options.max_append_bytes = 1;  // one entry per Append, so the old one travels alone
  Cluster cluster({1, 2, 3}, options);
  for (NodeId id : {1, 2, 3}) cluster.crash(id);
  std::vector<Entry> old = {Entry{.offset = 0,
                                  .count = 1,
                                  .term = 2,
                                  .type = EntryType::kData,
                                  .config = {},
                                  .data = std::make_shared<const Bytes>(bytes_of("old"))}};
  cluster.node(1).storage.append(old);
  for (NodeId id : {1, 2, 3}) cluster.node(id).storage.save_hard_state({.term = 2});
  for (NodeId id : {1, 2, 3}) cluster.start(id);

  std::vector<Offset> watermarks;
  cluster.start_campaign(1);
  cluster.deliver([&] { watermarks.push_back(cluster.raft(1).high_watermark()); });
  cluster.tick(1);
  cluster.deliver([&] { watermarks.push_back(cluster.raft(1).high_watermark()); });
  ASSERT_EQ(cluster.raft(1).role(), Role::kLeader);
  EXPECT_EQ(cluster.node(2).storage.term_at(0), 2);  // the old entry reached a majority
  for (Offset hw : watermarks) EXPECT_NE(hw, 1) << "committed the old entry by counting";
  EXPECT_EQ(cluster.raft(1).high_watermark(), 2);
  EXPECT_EQ(cluster.applied_texts(1), (std::vector<std::string>{"old"}));
}

TEST(RaftTest, PreVoteKeepsAPartitionedNodeFromRaisingItsTerm) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  Term term = cluster.raft(1).term();
  cluster.isolate(3);
  for (int i = 0; i < 100; ++i) {
    cluster.tick(3);
    cluster.tick(1);
    cluster.deliver();
  }
  EXPECT_EQ(cluster.raft(3).term(), term);
  EXPECT_EQ(cluster.raft(3).role(), Role::kPreCandidate);
  cluster.heal();
  cluster.tick(1);
  cluster.deliver();
  expect_one_leader(cluster, 1);
  EXPECT_EQ(cluster.raft(1).term(), term);
}

TEST(RaftTest, WithoutPreVoteAPartitionedNodeRaisesItsTerm) {
  RaftOptions options;
  options.pre_vote = false;
  Cluster cluster({1, 2, 3}, options);
  cluster.elect(1);
  Term term = cluster.raft(1).term();
  cluster.isolate(3);
  for (int i = 0; i < 100; ++i) cluster.tick(3);
  EXPECT_GT(cluster.raft(3).term(), term);
}

TEST(RaftTest, FollowersInTheLeaderLeaseIgnoreVotes) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  Term term = cluster.raft(1).term();
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 3;
  vote.to = 2;
  vote.term = term + 5;
  vote.prev_end_offset = 100;
  vote.prev_term = term;
  cluster.raft(2).step(vote);
  vote.type = MessageType::kPreVote;
  cluster.raft(2).step(vote);
  EXPECT_EQ(cluster.raft(2).term(), term);
  EXPECT_EQ(cluster.raft(2).leader(), 1);
  EXPECT_FALSE(cluster.raft(2).has_ready());  // not even a refusal
  // A vote for a leadership transfer bypasses the lease.
  vote.type = MessageType::kVote;
  vote.leadership_transfer = true;
  cluster.raft(2).step(vote);
  EXPECT_EQ(cluster.raft(2).term(), term + 5);
  EXPECT_EQ(cluster.raft(2).status().voted_for, 3);
}

TEST(RaftTest, LeaderWithoutAQuorumStepsDown) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.isolate(1);
  for (int i = 0; i < 2 * 10 + 1; ++i) {
    cluster.tick(1);
    cluster.deliver();
  }
  EXPECT_NE(cluster.raft(1).role(), Role::kLeader);
  cluster.heal();
}

TEST(RaftTest, LeaderWithAQuorumStaysLeader) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.cut(1, 3);
  for (int i = 0; i < 50; ++i) {
    cluster.tick(1);
    cluster.deliver();
  }
  EXPECT_EQ(cluster.raft(1).role(), Role::kLeader);
}

TEST(RaftTest, LaggingFollowerGetsTheSnapshot) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.isolate(3);
  for (int i = 0; i < 10; ++i) cluster.propose(1, "e" + std::to_string(i));
  cluster.deliver();
  Offset hw = cluster.raft(1).high_watermark();
  ASSERT_EQ(hw, 11);
  cluster.raft(1).snapshot_taken(hw, std::make_shared<const Bytes>(bytes_of("state")));
  cluster.process_all();
  EXPECT_EQ(cluster.node(1).storage.start_offset(), hw);
  cluster.heal();
  // The appends sent while it was cut off are given up after an election timeout.
  for (int i = 0; i < 2 * 10; ++i) {
    cluster.tick(1);
    cluster.deliver();
  }
  Node& lagging = cluster.node(3);
  ASSERT_TRUE(lagging.installed_snapshot.has_value());
  EXPECT_EQ(lagging.installed_snapshot->end_offset, hw);
  EXPECT_EQ(*lagging.storage.snapshot_data(), bytes_of("state"));
  EXPECT_EQ(lagging.storage.snapshot_meta().config.voters, (std::vector<NodeId>{1, 2, 3}));
  cluster.propose(1, "after");
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  EXPECT_EQ(cluster.applied_texts(3), (std::vector<std::string>{"after"}));
  EXPECT_EQ(cluster.raft(3).status().applied_offset, cluster.raft(1).high_watermark());
}

// A second snapshot must not replace the first in Storage while the driver is
// still applying the first (its Ready not advanced yet).
TEST(RaftTest, NoSecondSnapshotIsInstalledWhileTheFirstIsBeingApplied) {
  Cluster cluster({1, 2, 3});
  auto snapshot_message = [](Offset end_offset) {
    Message m;
    m.type = MessageType::kSnapshot;
    m.from = 1;
    m.to = 2;
    m.term = 1;
    m.snapshot = {.end_offset = end_offset, .last_term = 1, .config = {{1, 2, 3}, {}}};
    m.snapshot_data = std::make_shared<const Bytes>(bytes_of("s" + std::to_string(end_offset)));
    return m;
  };
  Raft& follower = cluster.raft(2);
  follower.step(snapshot_message(10));
  Ready first = follower.ready();
  ASSERT_TRUE(first.snapshot.has_value());
  follower.step(snapshot_message(20));
  EXPECT_EQ(cluster.node(2).storage.snapshot_meta().end_offset, 10);
  follower.advance(first);
  follower.step(snapshot_message(20));
  Ready second = follower.ready();
  ASSERT_TRUE(second.snapshot.has_value());
  EXPECT_EQ(second.snapshot->end_offset, 20);
  EXPECT_EQ(cluster.node(2).storage.snapshot_meta().end_offset, 20);
  follower.advance(second);
  EXPECT_EQ(follower.status().applied_offset, 20);
}

TEST(RaftTest, AddsALearnerPromotesItAndRemovesVoters) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.tick(1);
  cluster.deliver();
  cluster.add_empty_node(4);
  cluster.propose(1, "before");
  ASSERT_TRUE(cluster.raft(1).change_config({ConfigChangeType::kAddLearner, 4}).ok());
  // One change at a time.
  EXPECT_EQ(cluster.raft(1).change_config({ConfigChangeType::kAddVoter, 5}).code(),
            ErrorCode::kRequestTimedOut);
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  EXPECT_EQ(cluster.raft(4).role(), Role::kLearner);
  EXPECT_EQ(cluster.applied_texts(4), (std::vector<std::string>{"before"}));
  // A learner never campaigns.
  for (int i = 0; i < 100; ++i) cluster.tick(4);
  EXPECT_EQ(cluster.raft(4).role(), Role::kLearner);

  ASSERT_TRUE(cluster.raft(1).change_config({ConfigChangeType::kAddVoter, 4}).ok());
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  EXPECT_EQ(cluster.raft(4).role(), Role::kFollower);
  EXPECT_EQ(cluster.raft(1).status().config.voters, (std::vector<NodeId>{1, 2, 3, 4}));

  ASSERT_TRUE(cluster.raft(1).change_config({ConfigChangeType::kRemoveVoter, 3}).ok());
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  for (NodeId id : {1, 2, 3, 4}) {
    EXPECT_EQ(cluster.raft(id).status().config.voters, (std::vector<NodeId>{1, 2, 4}))
        << "node " << id;
  }
  // The removed node does not start elections.
  cluster.crash(1);
  for (int i = 0; i < 100; ++i) cluster.tick(3);
  EXPECT_EQ(cluster.raft(3).role(), Role::kFollower);
  EXPECT_EQ(cluster.raft(3).term(), cluster.raft(2).term());
}

TEST(RaftTest, RemovedLeaderStepsDownOnceTheChangeCommits) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.tick(1);
  cluster.deliver();
  ASSERT_TRUE(cluster.raft(1).change_config({ConfigChangeType::kRemoveVoter, 1}).ok());
  EXPECT_EQ(cluster.raft(1).role(), Role::kLeader);  // until the change commits
  cluster.deliver();
  EXPECT_NE(cluster.raft(1).role(), Role::kLeader);
  NodeId leader = cluster.tick_until_leader();
  ASSERT_TRUE(leader == 2 || leader == 3) << leader;
  NodeId other = leader == 2 ? 3 : 2;
  EXPECT_EQ(cluster.raft(other).leader(), leader);
  // The removed node never campaigned.
  EXPECT_EQ(cluster.raft(1).role(), Role::kFollower);
  EXPECT_EQ(cluster.raft(1).term(), 1);
  cluster.propose(leader, "without-1");
  cluster.deliver();
  cluster.tick(leader);
  cluster.deliver();
  EXPECT_EQ(cluster.applied_texts(3), (std::vector<std::string>{"without-1"}));
}

// The leader removes itself, but the change reaches nobody before it loses its
// quorum. The remaining voter needs its vote, which its longer log refuses; the
// removed voter must campaign (for the new configuration) to commit the change.
TEST(RaftTest, LeaderThatRemovedItselfAndLostItsQuorumStillCommitsTheChange) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  ASSERT_TRUE(cluster.raft(1).change_config({ConfigChangeType::kRemoveVoter, 2}).ok());
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  ASSERT_EQ(cluster.raft(3).status().config.voters, (std::vector<NodeId>{1, 3}));
  cluster.crash(2);
  cluster.isolate(1);
  ASSERT_TRUE(cluster.raft(1).change_config({ConfigChangeType::kRemoveVoter, 1}).ok());
  for (int i = 0; i < 2 * 10 + 1; ++i) cluster.tick(1);
  cluster.deliver();
  ASSERT_NE(cluster.raft(1).role(), Role::kLeader);
  cluster.heal();
  for (int i = 0; i < 500 && cluster.raft(3).role() != Role::kLeader; ++i) cluster.tick_all();
  ASSERT_EQ(cluster.raft(3).role(), Role::kLeader);
  EXPECT_EQ(cluster.raft(3).status().config.voters, (std::vector<NodeId>{3}));
  EXPECT_GE(cluster.raft(3).high_watermark(), cluster.node(1).storage.end_offset());
}

TEST(RaftTest, LeadershipTransferHandsOverToTheTarget) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.propose(1, "x");
  Term term = cluster.raft(1).term();
  ASSERT_TRUE(cluster.raft(1).transfer_leadership(3).ok());
  EXPECT_EQ(cluster.raft(1).propose(bytes_of("refused")).code(), ErrorCode::kNotLeaderOrFollower);
  cluster.deliver();
  expect_one_leader(cluster, 3);
  EXPECT_EQ(cluster.raft(3).term(), term + 1);
}

TEST(RaftTest, LeadershipTransferIsAbortedAfterAnElectionTimeout) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.cut(1, 3);
  ASSERT_TRUE(cluster.raft(1).transfer_leadership(3).ok());
  EXPECT_FALSE(cluster.raft(1).propose(bytes_of("refused")).ok());
  cluster.tick(1, 10);
  cluster.deliver();
  EXPECT_EQ(cluster.raft(1).role(), Role::kLeader);
  EXPECT_TRUE(cluster.raft(1).propose(bytes_of("accepted")).ok());
}

TEST(RaftTest, ReadIndexNeedsAMajorityToConfirmLeadership) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.propose(1, "x");
  cluster.deliver();
  Offset hw = cluster.raft(1).high_watermark();
  cluster.isolate(1);
  ASSERT_TRUE(cluster.raft(1).read_index(7).ok());
  cluster.deliver();
  EXPECT_TRUE(cluster.node(1).reads.empty());
  cluster.heal();
  ASSERT_TRUE(cluster.raft(1).read_index(8).ok());
  cluster.deliver();
  ASSERT_EQ(cluster.node(1).reads.size(), 2u);
  EXPECT_EQ(cluster.node(1).reads[0].context, 7u);
  EXPECT_EQ(cluster.node(1).reads[1].context, 8u);
  EXPECT_EQ(cluster.node(1).reads[1].read_offset, hw);
  EXPECT_EQ(cluster.raft(2).read_index(9).code(), ErrorCode::kNotLeaderOrFollower);
}

TEST(RaftTest, SingleVoterAnswersReadsAtOnce) {
  Cluster cluster({1});
  cluster.elect(1);
  ASSERT_TRUE(cluster.raft(1).read_index(5).ok());
  cluster.process_all();
  ASSERT_EQ(cluster.node(1).reads.size(), 1u);
  EXPECT_EQ(cluster.node(1).reads[0].read_offset, 1);
}

TEST(RaftTest, RestartKeepsTermVoteAndLog) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.propose(1, "kept");
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  RaftStatus before = cluster.raft(2).status();
  cluster.crash(2);
  cluster.start(2);
  RaftStatus after = cluster.raft(2).status();
  EXPECT_EQ(after.term, before.term);
  EXPECT_EQ(after.voted_for, 1);
  EXPECT_EQ(after.log_end_offset, before.log_end_offset);
  // It does not vote for another candidate in the same term.
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 3;
  vote.to = 2;
  vote.term = before.term;
  vote.prev_end_offset = 100;
  vote.prev_term = before.term;
  cluster.raft(2).step(vote);
  Ready ready = cluster.raft(2).ready();
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_FALSE(ready.messages[0].success);
  cluster.raft(2).advance(ready);
  // And it catches up again.
  cluster.propose(1, "more");
  cluster.deliver();
  cluster.tick(1);
  cluster.deliver();
  EXPECT_EQ(cluster.applied_texts(2), (std::vector<std::string>{"kept", "more"}));
}

TEST(RaftTest, BootstrapLeavesAnExistingGroupAlone) {
  Cluster cluster({1, 2, 3});
  cluster.elect(1);
  cluster.propose(1, "x");
  cluster.deliver();
  cluster.crash(2);
  Raft::bootstrap(cluster.node(2).storage, Config{.voters = {2, 7}, .learners = {}});
  cluster.start(2);
  EXPECT_EQ(cluster.raft(2).status().config.voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(cluster.raft(2).term(), 1);
  EXPECT_EQ(cluster.node(2).storage.end_offset(), 2);
}

TEST(RaftTest, VoteIsSyncedBeforeTheResponseLeaves) {
  Cluster cluster({1, 2, 3});
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 3;
  vote.to = 2;
  vote.term = 1;
  cluster.raft(2).step(vote);
  Ready ready = cluster.raft(2).ready();
  EXPECT_TRUE(ready.must_sync);
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_TRUE(ready.messages[0].success);
  EXPECT_EQ(cluster.node(2).storage.hard_state(), (HardState{.term = 1, .voted_for = 3}));
}

TEST(RaftTest, ProposeRefusesBeyondTheUncommittedBytes) {
  RaftOptions options;
  options.max_uncommitted_bytes = 1000;
  Cluster cluster({1, 2, 3}, options);
  cluster.elect(1);
  cluster.isolate(1);
  EXPECT_TRUE(cluster.raft(1).propose(Bytes(600)).ok());
  EXPECT_EQ(cluster.raft(1).propose(Bytes(600)).code(), ErrorCode::kRequestTimedOut);
  cluster.heal();
  cluster.tick(1);
  cluster.deliver();
  EXPECT_TRUE(cluster.raft(1).propose(Bytes(600)).ok());
}

TEST(RaftTest, PlantedCommitWithoutMajorityCommitsAlone) {
  RaftOptions options;
  options.planted_bug = PlantedBug::kCommitWithoutMajority;
  Cluster cluster({1, 2, 3}, options);
  cluster.elect(1);
  cluster.isolate(1);
  cluster.propose(1, "unsafe");
  cluster.deliver();
  EXPECT_EQ(cluster.applied_texts(1), (std::vector<std::string>{"unsafe"}));
}

TEST(RaftTest, PlantedGrantEveryVoteVotesTwiceInATerm) {
  RaftOptions options;
  options.planted_bug = PlantedBug::kGrantEveryVote;
  Cluster cluster({1, 2, 3}, options);
  for (NodeId candidate : {1, 3}) {
    Message vote;
    vote.type = MessageType::kVote;
    vote.from = candidate;
    vote.to = 2;
    vote.term = 1;
    cluster.raft(2).step(vote);
  }
  Ready ready = cluster.raft(2).ready();
  ASSERT_EQ(ready.messages.size(), 2u);
  EXPECT_TRUE(ready.messages[0].success);
  EXPECT_TRUE(ready.messages[1].success);
}

}  // namespace
}  // namespace fjord::raft
