// Three RaftRuntimes in one process, each on its own io_context thread as in a
// node, talking over 127.0.0.1 with raft::MemoryStorage.
#include "raft/transport/runtime.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "raft/memory_storage.h"

namespace fjord::raft {
namespace {

namespace asio = boost::asio;

// Generous: only a broken runtime waits this long (no timing assertions).
constexpr auto kPatience = std::chrono::seconds(60);
const Config kVoters{.voters = {1, 2, 3}, .learners = {}};

Bytes bytes_of(const std::string& text) { return Bytes(text.begin(), text.end()); }

// One node: a runtime on its own thread, and storages that outlive it (what a
// disk would keep across a restart).
class Node {
 public:
  Node(NodeId id, RuntimeOptions options) : id_(id), options_(options) {}
  ~Node() { stop(); }

  template <typename F>
  auto run(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(runtime_thread_->io, [&task] { task(); });
    return result.get();
  }

  // Starts a runtime with every group in `groups`; a group's storage is kept
  // from the previous run, or bootstrapped with kVoters.
  void start(const std::vector<GroupId>& groups, uint16_t port = 0) {
    runtime_thread_ = std::make_unique<RuntimeThread>(id_, port, options_);
    {
      std::lock_guard lock(mutex_);
      applied_.clear();
    }
    run([&] {
      ASSERT_TRUE(runtime().start().ok());
      for (GroupId group : groups) {
        auto& storage = storages_[group];
        if (!storage) {
          storage = std::make_shared<MemoryStorage>();
          Raft::bootstrap(*storage, kVoters);
        }
        GroupSpec spec;
        spec.group = group;
        spec.storage = storage;
        spec.callbacks.apply = [this, group](const Entry& entry) {
          if (entry.type != EntryType::kData || !entry.data) return;
          std::lock_guard lock(mutex_);
          applied_[group].emplace_back(entry.data->begin(), entry.data->end());
        };
        ASSERT_TRUE(runtime().add_group(std::move(spec)).ok());
      }
    });
  }

  void stop() {
    if (!runtime_thread_) return;
    run([&] { runtime().stop(); });
    runtime_thread_.reset();
  }

  RaftRuntime& runtime() { return runtime_thread_->runtime; }
  uint16_t port() {
    return run([&] { return runtime().transport().port(); });
  }
  void remove_peer(NodeId id) {
    run([&] { runtime().transport().remove_peer(id); });
  }
  void add_peer(NodeId id, uint16_t port) {
    run([&] {
      runtime().transport().set_peer(
          transport::PeerAddress{.node = id, .host = "127.0.0.1", .port = port});
    });
  }
  // The groups among `groups` this node leads (one call: cheap for many groups).
  std::vector<GroupId> led(const std::vector<GroupId>& groups) {
    return run([&] {
      std::vector<GroupId> led;
      for (GroupId group : groups) {
        if (runtime().leader(group) == id_) led.push_back(group);
      }
      return led;
    });
  }
  bool leads(GroupId group) {
    return run([&] {
      auto status = runtime().status(group);
      return status.ok() && status->role == Role::kLeader;
    });
  }
  // From this (test) thread, through the thread-safe API.
  Result<Offset> propose(GroupId group, const std::string& text) {
    auto future = runtime().async_propose(group, bytes_of(text), asio::use_future);
    if (future.wait_for(kPatience) != std::future_status::ready) {
      return Error{ErrorCode::kRequestTimedOut, "test: no answer"};
    }
    return future.get();
  }
  std::vector<std::string> applied(GroupId group) {
    std::lock_guard lock(mutex_);
    return applied_[group];
  }
  RuntimeStats stats() {
    return run([&] { return runtime().stats(); });
  }

 private:
  struct RuntimeThread {
    RuntimeThread(NodeId id, uint16_t port, RuntimeOptions options)
        : runtime(io, transport_options(id, port), options), thread([this] { io.run(); }) {}
    ~RuntimeThread() {
      work.reset();
      thread.join();  // run() returned: every handler and coroutine is done
    }
    static transport::TransportOptions transport_options(NodeId id, uint16_t port) {
      transport::TransportOptions options;
      options.self = id;
      options.cluster_id = "runtime-test";
      options.listen_port = port;
      return options;
    }
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    RaftRuntime runtime;
    std::thread thread;
  };

  NodeId id_;
  RuntimeOptions options_;
  std::unique_ptr<RuntimeThread> runtime_thread_;
  std::map<GroupId, std::shared_ptr<MemoryStorage>> storages_;
  std::mutex mutex_;
  std::map<GroupId, std::vector<std::string>> applied_;
};

// Polls `predicate` every `interval_ms` (slower for predicates that cost the
// runtimes a scan of many groups).
template <typename Predicate>
bool eventually(Predicate predicate, int interval_ms = 10) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  return false;
}

class Cluster {
 public:
  explicit Cluster(RuntimeOptions options = fast_options()) {
    for (NodeId id = 1; id <= 3; ++id) nodes_.push_back(std::make_unique<Node>(id, options));
  }

  static RuntimeOptions fast_options() {
    RuntimeOptions options;
    options.tick_interval_ms = 10;
    options.election_ticks = 10;
    options.heartbeat_ticks = 1;
    return options;
  }

  void start(const std::vector<GroupId>& groups) {
    for (auto& node : nodes_) node->start(groups);
    for (auto& node : nodes_) ports_.push_back(node->port());
    connect_all();
  }

  void connect_all() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      for (size_t j = 0; j < nodes_.size(); ++j) {
        if (i != j) nodes_[i]->add_peer(static_cast<NodeId>(j + 1), ports_[j]);
      }
    }
  }

  Node& node(NodeId id) { return *nodes_[id - 1]; }

  // Cuts `isolated` off from the others, both ways.
  void isolate(NodeId isolated) {
    for (NodeId id = 1; id <= 3; ++id) {
      if (id == isolated) continue;
      node(isolated).remove_peer(id);
      node(id).remove_peer(isolated);
    }
  }
  uint16_t port(NodeId id) const { return ports_[id - 1]; }

  // The node that leads `group`, once one does (kNoNode if none within patience).
  NodeId wait_for_leader(GroupId group, NodeId except = kNoNode) {
    NodeId leader = kNoNode;
    eventually([&] {
      for (NodeId id = 1; id <= 3; ++id) {
        if (id != except && node(id).leads(group)) leader = id;
      }
      return leader != kNoNode;
    });
    return leader;
  }

  // Proposes on the leader until it is accepted (a leader may be deposed).
  Result<Offset> propose(GroupId group, const std::string& text, NodeId except = kNoNode) {
    Result<Offset> result = Error{ErrorCode::kNotLeaderOrFollower, "no leader"};
    eventually([&] {
      const NodeId leader = wait_for_leader(group, except);
      if (leader == kNoNode) return true;
      result = node(leader).propose(group, text);
      return result.code() != ErrorCode::kNotLeaderOrFollower;
    });
    return result;
  }

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<uint16_t> ports_;
};

std::vector<std::string> numbered(const std::string& prefix, int first, int count) {
  std::vector<std::string> values;
  for (int i = first; i < first + count; ++i) values.push_back(prefix + std::to_string(i));
  return values;
}

TEST(RaftRuntime, ThreeNodesElectALeaderAndReplicateCommittedEntries) {
  Cluster cluster;
  cluster.start({1});
  const NodeId leader = cluster.wait_for_leader(1);
  ASSERT_NE(leader, kNoNode);
  const auto values = numbered("v", 0, 10);
  Offset previous = -1;
  for (const auto& value : values) {
    auto offset = cluster.propose(1, value);
    ASSERT_TRUE(offset.ok()) << offset.error().message;
    EXPECT_GT(*offset, previous);
    previous = *offset;
  }
  // Applied on the leader before its proposals completed; on the others soon.
  EXPECT_EQ(cluster.node(leader).applied(1), values);
  for (NodeId id = 1; id <= 3; ++id) {
    EXPECT_TRUE(eventually([&] { return cluster.node(id).applied(1) == values; })) << id;
  }
  EXPECT_GT(cluster.node(leader).stats().proposals_committed, 0u);
}

TEST(RaftRuntime, AFollowerRefusesProposals) {
  Cluster cluster;
  cluster.start({1});
  const NodeId leader = cluster.wait_for_leader(1);
  ASSERT_NE(leader, kNoNode);
  const NodeId follower = leader == 1 ? 2 : 1;
  auto result = cluster.node(follower).propose(1, "x");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.code(), ErrorCode::kNotLeaderOrFollower) << result.error().message;
  EXPECT_EQ(cluster.node(leader).propose(7, "x").code(), ErrorCode::kUnknownTopicOrPartition);
}

TEST(RaftRuntime, SurvivesTheLeadersRuntimeStoppingAndRestarting) {
  Cluster cluster;
  cluster.start({1});
  const auto before = numbered("before", 0, 5);
  for (const auto& value : before) ASSERT_TRUE(cluster.propose(1, value).ok());
  const NodeId old_leader = cluster.wait_for_leader(1);
  ASSERT_NE(old_leader, kNoNode);

  cluster.node(old_leader).stop();
  const auto during = numbered("during", 0, 5);
  for (const auto& value : during) {
    auto offset = cluster.propose(1, value, old_leader);
    ASSERT_TRUE(offset.ok()) << offset.error().message;
  }

  // Back on its port with the storage it kept: it catches up (and re-applies
  // from its snapshot, as a restarted state machine does).
  cluster.node(old_leader).start({1}, cluster.port(old_leader));
  auto all = before;
  all.insert(all.end(), during.begin(), during.end());
  EXPECT_TRUE(eventually([&] { return cluster.node(old_leader).applied(1) == all; }));
  ASSERT_TRUE(cluster.propose(1, "after").ok());
  all.push_back("after");
  for (NodeId id = 1; id <= 3; ++id) {
    EXPECT_TRUE(eventually([&] { return cluster.node(id).applied(1) == all; })) << id;
  }
}

TEST(RaftRuntime, AProposalReplacedByAnotherLeadersEntryFails) {
  Cluster cluster;
  cluster.start({1});
  ASSERT_TRUE(cluster.propose(1, "first").ok());
  const NodeId old_leader = cluster.wait_for_leader(1);
  ASSERT_NE(old_leader, kNoNode);

  // Cut off, the old leader takes a proposal it cannot commit...
  cluster.isolate(old_leader);
  auto lost =
      cluster.node(old_leader).runtime().async_propose(1, bytes_of("lost"), asio::use_future);
  // ...while the others elect a leader and commit at the same offset.
  ASSERT_TRUE(cluster.propose(1, "kept", old_leader).ok());
  cluster.connect_all();
  ASSERT_EQ(lost.wait_for(kPatience), std::future_status::ready);
  auto result = lost.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.code(), ErrorCode::kNotLeaderOrFollower) << result.error().message;
  const std::vector<std::string> expected{"first", "kept"};
  EXPECT_TRUE(eventually([&] { return cluster.node(old_leader).applied(1) == expected; }));
}

TEST(RaftRuntime, AGroupWithASnapshotInStorageStartsFromIt) {
  asio::io_context io;
  transport::TransportOptions transport_options;
  transport_options.self = 1;
  RaftRuntime runtime(io, transport_options);
  auto storage = std::make_shared<MemoryStorage>();
  Raft::bootstrap(*storage, kVoters);
  storage->save_snapshot(SnapshotMeta{.end_offset = 5, .last_term = 2, .config = kVoters},
                         std::make_shared<const Bytes>(bytes_of("state at 5")));
  std::vector<std::pair<Offset, std::string>> restored;
  GroupSpec spec;
  spec.group = 3;
  spec.storage = storage;
  spec.callbacks.restore = [&](const SnapshotMeta& meta, const std::shared_ptr<const Bytes>& data) {
    restored.emplace_back(meta.end_offset, std::string(data->begin(), data->end()));
  };
  ASSERT_TRUE(runtime.add_group(std::move(spec)).ok());
  runtime.stop();
  ASSERT_EQ(restored.size(), 1u);
  EXPECT_EQ(restored[0].first, 5);
  EXPECT_EQ(restored[0].second, "state at 5");
}

TEST(RaftRuntime, AThousandGroupsEachCommit) {
  // 3,000 groups in one process, maybe under TSan on a busy machine: 50 ms
  // ticks, heartbeats every 250 ms and elections after 2-4 s keep the load of
  // the idle groups' heartbeats (~12,000 messages/s in all) well within what
  // such a build can handle; overloaded, late heartbeats would cause elections
  // faster than they complete.
  RuntimeOptions options;
  options.heartbeat_ticks = 5;
  options.election_ticks = 40;
  Cluster cluster(options);
  std::vector<GroupId> groups;
  for (GroupId group = 1000; group < 2000; ++group) groups.push_back(group);
  cluster.start(groups);

  // Once every group has a leader, propose to every group at once from this
  // thread, each on its leader.
  std::map<GroupId, NodeId> leaders;
  ASSERT_TRUE(eventually(
      [&] {
        for (NodeId id = 1; id <= 3; ++id) {
          for (GroupId group : cluster.node(id).led(groups)) leaders[group] = id;
        }
        return leaders.size() == groups.size();
      },
      200))
      << leaders.size() << " groups have a leader";
  std::vector<std::pair<GroupId, std::future<Result<Offset>>>> pending;
  for (auto [group, leader] : leaders) {
    pending.emplace_back(group,
                         cluster.node(leader).runtime().async_propose(
                             group, bytes_of("g" + std::to_string(group)), asio::use_future));
  }
  int committed = 0;
  for (auto& [group, future] : pending) {
    ASSERT_EQ(future.wait_for(kPatience), std::future_status::ready);
    auto result = future.get();
    if (!result.ok()) {
      // The leader changed under it (elections in 1,000 groups): retry once more.
      ASSERT_EQ(result.code(), ErrorCode::kNotLeaderOrFollower) << result.error().message;
      result = cluster.propose(group, "g" + std::to_string(group));
      ASSERT_TRUE(result.ok()) << group << ": " << result.error().message;
    }
    ++committed;
  }
  EXPECT_EQ(committed, 1000);
  for (NodeId id = 1; id <= 3; ++id) {
    EXPECT_TRUE(eventually(
        [&] {
          for (GroupId group : groups) {
            const auto applied = cluster.node(id).applied(group);
            if (applied.empty() || applied.back() != "g" + std::to_string(group)) return false;
          }
          return true;
        },
        200))
        << id;
  }
}

}  // namespace
}  // namespace fjord::raft
