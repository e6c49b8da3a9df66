// A small randomized test of the core, next to the unit tests: random delivery
// order, loss, duplication, partitions, crashes that lose unsynced writes,
// snapshots, membership changes and transfers, with the basic safety checks
// (one leader per term, the same entry applied at an offset everywhere) and
// liveness once the faults stop. The thorough version is the simulation in
// src/raft/simulation/; this one keeps the core's own tests honest.
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "raft/memory_storage.h"
#include "raft/raft.h"
#include "raft/raft_state.h"

namespace fjord::raft {
namespace {

struct RandomNode {
  MemoryStorage storage;  // buffered writes
  MemoryStorage durable;  // what survives a crash
  std::unique_ptr<Raft> raft;
  std::optional<Ready> pending;  // handed out, its sync not finished
  Offset applied_end = 0;
};

class RandomCluster {
 public:
  RandomCluster(uint64_t seed, int voters) : random_(seed), seed_(seed) {
    std::vector<NodeId> ids;
    for (int i = 1; i <= voters; ++i) ids.push_back(i);
    for (NodeId id : ids) {
      RandomNode& node = nodes_[id];
      Raft::bootstrap(node.storage, Config{.voters = ids, .learners = {}});
      node.durable = node.storage;
      start(id);
    }
  }

  void start(NodeId id) {
    RandomNode& node = nodes_[id];
    RaftOptions options;
    options.self = id;
    options.random_seed = seed_ * 31 + static_cast<uint64_t>(id);
    options.max_inflight_appends = 4;
    options.max_append_bytes = 64;
    options.pre_vote = seed_ % 3 != 0;
    options.check_quorum = seed_ % 5 != 0;
    node.storage = node.durable;
    node.raft = std::make_unique<Raft>(options, node.storage);
    // The state machine restarts from the snapshot.
    node.applied_end = node.storage.snapshot_meta().end_offset;
  }

  void crash(NodeId id) {
    RandomNode& node = nodes_[id];
    node.raft.reset();
    node.pending.reset();
    keep_torn_tail(node);
  }

  // A crash may keep part of what was appended but not synced: a prefix of
  // the unsynced entries, when they extend the durable log.
  void keep_torn_tail(RandomNode& node) {
    Offset durable_end = node.durable.end_offset();
    if (node.storage.start_offset() != node.durable.start_offset() ||
        node.storage.end_offset() <= durable_end || one_in(2)) {
      return;
    }
    if (durable_end > node.durable.start_offset() &&
        node.storage.term_at(durable_end - 1) != node.durable.term_at(durable_end - 1)) {
      return;
    }
    if (durable_end > 0 && !node.storage.term_at(durable_end - 1)) return;
    std::vector<Entry> tail = node.storage.entries(durable_end, node.storage.end_offset(), 1 << 20);
    if (tail.empty() || tail.front().offset != durable_end) return;
    tail.resize(1 + below(tail.size()));
    node.durable.append(tail);
  }

  bool one_in(uint64_t n) { return random_.next() % n == 0; }
  uint64_t below(uint64_t n) { return random_.next() % n; }

  // Takes the node's Ready; with faults on, its sync (and so everything after
  // it) may be left pending while more messages arrive (a slow disk).
  void process(NodeId id) {
    RandomNode& node = nodes_[id];
    while (node.raft && !node.pending && node.raft->has_ready()) {
      node.pending = node.raft->ready();
      if (faults_ && one_in(3)) return;
      complete(id);
    }
  }

  // The pending Ready's sync finished: send, apply, advance.
  void complete(NodeId id) {
    RandomNode& node = nodes_[id];
    if (!node.raft || !node.pending) return;
    Ready ready = std::move(*node.pending);
    node.pending.reset();
    if (ready.must_sync) node.durable = node.storage;
    for (Message& m : ready.messages) {
      if (!faults_ || !blocked_.count({m.from, m.to})) network_.push_back(std::move(m));
    }
    if (ready.snapshot) node.applied_end = ready.snapshot->end_offset;
    for (const Entry& entry : ready.committed) apply(id, entry);
    node.raft->advance(ready);
    check_leaders();
    process(id);
  }

  void apply(NodeId id, const Entry& entry) {
    RandomNode& node = nodes_[id];
    ASSERT_EQ(entry.offset, node.applied_end) << "node " << id << " seed " << seed_;
    node.applied_end = entry.end_offset();
    std::string text = entry.data ? std::string(entry.data->begin(), entry.data->end()) : "";
    auto [it, inserted] = applied_.try_emplace(entry.offset, entry.term, text);
    EXPECT_TRUE(it->second == std::make_pair(entry.term, text))
        << "two entries applied at offset " << entry.offset << " seed " << seed_;
    if (!text.empty()) committed_texts_.insert(text);
  }

  void check_leaders() {
    for (auto& [id, node] : nodes_) {
      if (!node.raft || node.raft->role() != Role::kLeader) continue;
      auto [it, inserted] = leaders_.try_emplace(node.raft->term(), id);
      EXPECT_EQ(it->second, id) << "two leaders in term " << node.raft->term() << " seed " << seed_;
      if (inserted) check_leader_completeness(node);
    }
  }

  // A new leader's log holds every entry applied anywhere (above its snapshot).
  void check_leader_completeness(const RandomNode& node) {
    for (const auto& [offset, applied] : applied_) {
      if (offset < node.storage.start_offset()) continue;
      EXPECT_EQ(node.storage.term_at(offset), applied.first)
          << "a new leader lacks the committed entry at " << offset << " seed " << seed_;
    }
  }

  NodeId leader() {
    for (auto& [id, node] : nodes_) {
      if (node.raft && node.raft->role() == Role::kLeader) return id;
    }
    return kNoNode;
  }

  void deliver_one() {
    if (network_.empty()) return;
    size_t index = faults_ ? below(network_.size()) : 0;
    Message m = std::move(network_[index]);
    network_.erase(network_.begin() + static_cast<ptrdiff_t>(index));
    if (faults_ && one_in(10)) return;                 // lost
    if (faults_ && one_in(20)) network_.push_back(m);  // duplicated
    auto it = nodes_.find(m.to);
    if (it == nodes_.end() || !it->second.raft) return;
    it->second.raft->step(m);
    process(m.to);
  }

  void random_action() {
    uint64_t action = below(100);
    NodeId id = static_cast<NodeId>(1 + below(nodes_.size()));
    RandomNode& node = nodes_[id];
    if (action < 30) {
      deliver_one();
    } else if (action < 40) {
      complete(id);
    } else if (action < 60) {
      if (node.raft) node.raft->tick();
      process(id);
    } else if (action < 72) {
      NodeId l = leader();
      if (l != kNoNode) {
        std::string text = "p" + std::to_string(next_proposal_++);
        (void)nodes_[l].raft->propose(Bytes(text.begin(), text.end()),
                                      1 + static_cast<int32_t>(below(3)));
        process(l);
      }
    } else if (action < 74 && faults_) {
      crash(id);
    } else if (action < 78) {
      if (!node.raft) start(id);
      process(id);
    } else if (action < 80 && faults_) {
      NodeId other = static_cast<NodeId>(1 + below(nodes_.size()));
      blocked_.insert({id, other});
      if (one_in(2)) blocked_.insert({other, id});
    } else if (action < 83) {
      blocked_.clear();
    } else if (action < 85) {
      if (node.raft && node.applied_end > node.storage.start_offset()) {
        Offset end = node.raft->status().applied_offset;
        if (end > node.storage.start_offset()) {
          node.raft->snapshot_taken(end, std::make_shared<const Bytes>());
          process(id);
        }
      }
    } else if (action < 86) {
      NodeId l = leader();
      if (l != kNoNode) {
        (void)nodes_[l].raft->transfer_leadership(id);
        process(l);
      }
    } else if (action < 87) {
      NodeId l = leader();
      if (l != kNoNode) {
        ConfigChangeType type = static_cast<ConfigChangeType>(below(4));
        (void)nodes_[l].raft->change_config({type, id});
        process(l);
      }
    } else if (action < 89) {
      NodeId l = leader();
      if (l != kNoNode) {
        (void)nodes_[l].raft->read_index(below(1000) + 1);
        process(l);
      }
    } else {
      deliver_one();
    }
  }

  void set_faults(bool on) {
    faults_ = on;
    if (!on) blocked_.clear();
  }

  // After the faults stop: every node runs, a leader exists and a new proposal
  // commits on it.
  bool heals() {
    set_faults(false);
    for (auto& [id, node] : nodes_) {
      if (!node.raft) start(id);
      complete(id);
    }
    std::string probe = "final-probe";
    bool proposed = false;
    for (int round = 0; round < 2000; ++round) {
      for (auto& [id, node] : nodes_) {
        node.raft->tick();
        process(id);
      }
      while (!network_.empty()) deliver_one();
      NodeId l = leader();
      if (l != kNoNode && !proposed) {
        proposed = nodes_[l].raft->propose(Bytes(probe.begin(), probe.end())).ok();
        process(l);
      }
      if (committed_texts_.count(probe)) return true;
    }
    return false;
  }

  uint64_t seed() const { return seed_; }

  std::string dump() {
    std::string out;
    for (auto& [id, node] : nodes_) {
      RaftStatus s = node.raft->status();
      out += "node " + std::to_string(id) + " role " + std::to_string(static_cast<int>(s.role)) +
             " term " + std::to_string(s.term) + " leader " + std::to_string(s.leader) + " vote " +
             std::to_string(s.voted_for) + " log [" + std::to_string(s.log_start_offset) + "," +
             std::to_string(s.log_end_offset) + ") last term " +
             std::to_string(node.storage.term_at(s.log_end_offset - 1).value_or(-1)) + " hw " +
             std::to_string(s.high_watermark) + " voters";
      for (NodeId v : s.config.voters) out += " " + std::to_string(v);
      out += " learners";
      for (NodeId v : s.config.learners) out += " " + std::to_string(v);
      for (const ReplicaProgress& r : s.replicas) {
        out += " | " + std::to_string(r.node) + ": match " + std::to_string(r.match_end_offset);
      }
      out += "\n";
    }
    return out;
  }

 private:
  SplitMix64 random_;
  uint64_t seed_;
  bool faults_ = true;
  std::map<NodeId, RandomNode> nodes_;
  std::deque<Message> network_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::map<Offset, std::pair<Term, std::string>> applied_;
  std::map<Term, NodeId> leaders_;
  std::set<std::string> committed_texts_;
  int next_proposal_ = 0;
};

// RAFT_RANDOM_SEEDS runs more (the default keeps the test to about a second).
uint64_t seeds() {
  const char* env = std::getenv("RAFT_RANDOM_SEEDS");
  return env ? std::strtoull(env, nullptr, 10) : 300;
}

TEST(RaftRandomTest, SafeUnderFaultsAndLiveAfterThem) {
  for (uint64_t seed = 1; seed <= seeds(); ++seed) {
    RandomCluster cluster(seed, seed % 2 == 0 ? 3 : 5);
    for (int step = 0; step < 3000; ++step) cluster.random_action();
    EXPECT_TRUE(cluster.heals()) << "no progress after healing, seed " << seed << "\n"
                                 << cluster.dump();
    if (HasFailure()) {
      ADD_FAILURE() << "failing seed " << seed;
      return;
    }
  }
}

}  // namespace
}  // namespace fjord::raft
