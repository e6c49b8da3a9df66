// RaftRuntime: drives every Raft group of a node on one io_context thread
// (docs/design/raft.md, "Many groups per node"; docs/raft-transport.md).
//
// One timer ticks every group. A pass takes the Ready of every group with work,
// syncs each storage that needs it once, hands all messages to the transport
// and flushes once (one frame per peer for all groups), applies committed
// entries, then advances each group. A pass runs after every tick, received
// frame or proposal, coalesced: whatever arrived meanwhile shares one pass.
//
// Threading: every method runs on the io_context's thread, except post() and
// async_propose(), which may be called from any thread.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "raft/raft.h"
#include "raft/storage.h"
#include "raft/transport/transport.h"

namespace fjord::raft {

struct RuntimeOptions {
  int tick_interval_ms = 50;
  // Group defaults (RaftOptions in ticks): an election timeout drawn from
  // [1 s, 2 s) and a heartbeat every 100 ms at the default tick interval.
  int election_ticks = 20;
  int heartbeat_ticks = 2;
  size_t max_groups = 1 << 20;
  size_t max_pending_proposals = 1 << 16;  // per group, awaiting commit
  int proposal_timeout_ms = 30'000;        // then kRequestTimedOut (outcome unknown)
};

// What a group's state machine is given, on the runtime's thread, in log order.
struct GroupCallbacks {
  // Every committed entry: kData, and kLeaderChange/kConfig (which most state
  // machines skip but whose offsets they may track).
  std::function<void(const Entry&)> apply;
  // Replaces the state with a snapshot: the one in storage when the group is
  // added (a restart; before any entry), and one installed from the leader
  // (before the entries that follow it). May be empty for groups that never
  // snapshot.
  std::function<void(const SnapshotMeta&, const std::shared_ptr<const Bytes>&)> restore;
};

struct GroupSpec {
  GroupId group = 0;
  // Holds the group's term, vote, log and snapshot; a new group's storage was
  // bootstrapped (Raft::bootstrap) with the initial voters. Shared so that the
  // node (or a test simulating a restart) can keep it.
  std::shared_ptr<Storage> storage;
  GroupCallbacks callbacks;
  // Overrides the runtime's defaults; `self` and `group` are always set by it.
  std::optional<RaftOptions> options;
};

struct RuntimeStats {
  uint64_t ticks = 0;
  uint64_t passes = 0;
  uint64_t readies = 0;  // group Ready values handled, over all passes
  uint64_t syncs = 0;    // Storage::sync() calls (at most one per storage per pass)
  uint64_t entries_applied = 0;
  uint64_t proposals_committed = 0;
  uint64_t proposals_failed = 0;
  uint64_t messages_for_unknown_groups = 0;
};

class RaftRuntime {
 public:
  // The entry's offset once it is committed and applied here, or an error:
  // kNotLeaderOrFollower (not the leader, or the entry was replaced by another
  // leader's), kRequestTimedOut (outcome unknown), kUnknownTopicOrPartition
  // (no such group), or what Raft::propose refused with.
  using ProposeDone = std::function<void(Result<Offset>)>;

  RaftRuntime(boost::asio::io_context& io, transport::TransportOptions transport_options,
              RuntimeOptions options = {});
  // Call stop() first and let the io_context finish its handlers.
  ~RaftRuntime();
  RaftRuntime(const RaftRuntime&) = delete;
  RaftRuntime& operator=(const RaftRuntime&) = delete;

  // Listens for peers and starts ticking. Peers: transport().set_peer().
  Status start();
  // Fails every pending proposal, stops the timer and the transport.
  void stop();
  transport::Transport& transport() { return transport_; }

  Status add_group(GroupSpec spec);
  // Pending proposals of the group fail with kNotLeaderOrFollower.
  void remove_group(GroupId group);
  size_t group_count() const { return groups_.size(); }

  // Proposes one entry of `count` offsets; `done` runs on this thread, maybe
  // before propose returns (an immediate refusal).
  void propose(GroupId group, Bytes data, ProposeDone done, int32_t count = 1);
  Result<RaftStatus> status(GroupId group) const;
  // The group's leader as this node knows it (itself when it leads); kNoNode
  // when unknown or the group does not run here. Cheaper than status().
  NodeId leader(GroupId group) const;
  // Runs `f` on the group's Raft (change_config, transfer_leadership,
  // read_index, snapshot_taken) and schedules a pass for what it produced.
  Status with_raft(GroupId group, const std::function<Status(Raft&)>& f);
  const RuntimeStats& stats() const { return stats_; }

  // From any thread: runs `f` on the runtime's thread.
  template <typename F>
  void post(F&& f) {
    boost::asio::post(io_, std::forward<F>(f));
  }

  // From any thread: propose() whose completion (signature void(Result<Offset>))
  // runs on the token's executor, e.g. `co_await runtime.async_propose(g, data,
  // asio::use_awaitable)` in a coroutine of another io_context.
  template <typename Token>
  auto async_propose(GroupId group, Bytes data, Token&& token) {
    return boost::asio::async_initiate<Token, void(Result<Offset>)>(
        [this](auto handler, GroupId group, Bytes data) {
          using Handler = decltype(handler);
          auto executor = boost::asio::get_associated_executor(handler, io_.get_executor());
          auto work = boost::asio::make_work_guard(executor);
          // The handler is move-only and ProposeDone is a std::function.
          auto shared = std::make_shared<Handler>(std::move(handler));
          post([this, group, data = std::move(data), shared, work]() mutable {
            propose(group, std::move(data), [shared, work](Result<Offset> result) {
              auto executor = work.get_executor();
              boost::asio::post(executor, [shared, result = std::move(result)]() mutable {
                (*shared)(std::move(result));
              });
            });
          });
        },
        token, group, std::move(data));
  }

 private:
  struct PendingProposal {
    Term term = 0;
    ProposeDone done;
    std::chrono::steady_clock::time_point deadline;
  };
  struct Group {
    GroupId id = 0;
    std::shared_ptr<Storage> storage;
    GroupCallbacks callbacks;
    std::unique_ptr<Raft> raft;
    std::map<Offset, PendingProposal> pending;  // by the entry's offset
    bool touched = false;                       // in touched_ for the next pass
    bool removed = false;
  };

  void on_receive(std::vector<Message>& messages);
  void on_tick();
  void schedule_tick();
  void touch(Group& group);
  void schedule_pass();
  void run_pass();
  void apply(Group& group, const Ready& ready);
  void resolve_applied(Group& group, const Entry& entry);
  void fail_replaced_proposals(Group& group);
  void expire_proposals(Group& group, std::chrono::steady_clock::time_point now);
  void finish(PendingProposal& proposal, Result<Offset> result);
  Group* find(GroupId group) const;
  RaftOptions options_for(const GroupSpec& spec) const;

  boost::asio::io_context& io_;
  RuntimeOptions options_;
  NodeId self_;
  uint64_t seed_;
  transport::Transport transport_;
  boost::asio::steady_timer tick_timer_;
  std::chrono::steady_clock::time_point next_tick_;
  std::unordered_map<GroupId, std::unique_ptr<Group>> groups_;
  std::vector<Group*> touched_;  // groups that may have a Ready; deduplicated by Group::touched
  bool pass_scheduled_ = false;
  bool in_pass_ = false;
  bool stopped_ = false;
  std::vector<GroupId> removed_in_pass_;
  RuntimeStats stats_;
};

}  // namespace fjord::raft
