#include "raft/transport/runtime.h"

#include <algorithm>
#include <random>
#include <utility>

namespace fjord::raft {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// splitmix64: decorrelates the per-group seeds drawn from one runtime seed.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Error not_leader(std::string why) { return Error{ErrorCode::kNotLeaderOrFollower, std::move(why)}; }

}  // namespace

RaftRuntime::RaftRuntime(asio::io_context& io, transport::TransportOptions transport_options,
                         RuntimeOptions options)
    : io_(io),
      options_(options),
      self_(transport_options.self),
      seed_(std::random_device{}()),
      transport_(io, std::move(transport_options),
                 [this](std::vector<Message>& messages) { on_receive(messages); }),
      tick_timer_(io) {}

RaftRuntime::~RaftRuntime() = default;

Status RaftRuntime::start() {
  auto status = transport_.start();
  if (!status.ok()) return status;
  next_tick_ = Clock::now();
  schedule_tick();
  return {};
}

void RaftRuntime::stop() {
  if (stopped_) return;
  stopped_ = true;
  tick_timer_.cancel();
  for (auto& [id, group] : groups_) {
    for (auto& [offset, proposal] : group->pending) {
      finish(proposal, not_leader("the Raft runtime stopped"));
    }
    group->pending.clear();
  }
  transport_.stop();
}

RaftOptions RaftRuntime::options_for(const GroupSpec& spec) const {
  RaftOptions options;
  if (spec.options) {
    options = *spec.options;
  } else {
    options.election_ticks = options_.election_ticks;
    options.heartbeat_ticks = options_.heartbeat_ticks;
    options.random_seed = mix(seed_ ^ mix(static_cast<uint64_t>(spec.group)));
  }
  options.self = self_;
  options.group = spec.group;
  return options;
}

Status RaftRuntime::add_group(GroupSpec spec) {
  if (stopped_) return not_leader("the Raft runtime stopped");
  if (!spec.storage) return Error{ErrorCode::kInvalidRequest, "a Raft group needs a storage"};
  if (groups_.contains(spec.group)) {
    return Error{ErrorCode::kInvalidRequest,
                 "Raft group " + std::to_string(spec.group) + " already runs on this node"};
  }
  if (groups_.size() >= options_.max_groups) {
    return Error{ErrorCode::kPolicyViolation, "this node already runs " +
                                                  std::to_string(groups_.size()) +
                                                  " Raft groups (the runtime's max_groups)"};
  }
  auto group = std::make_unique<Group>();
  group->id = spec.group;
  group->storage = spec.storage;
  group->callbacks = std::move(spec.callbacks);
  group->raft = std::make_unique<Raft>(options_for(spec), *group->storage);
  // A restart: the state machine starts from the snapshot in storage (Ready
  // hands out only the snapshots that come from the leader later).
  const SnapshotMeta snapshot = group->storage->snapshot_meta();
  if (snapshot.end_offset > 0 && group->callbacks.restore) {
    group->callbacks.restore(snapshot, group->storage->snapshot_data());
  }
  Group& added = *group;
  groups_.emplace(spec.group, std::move(group));
  touch(added);
  return {};
}

void RaftRuntime::remove_group(GroupId id) {
  Group* group = find(id);
  if (group == nullptr || group->removed) return;
  group->removed = true;
  for (auto& [offset, proposal] : group->pending) {
    finish(proposal, not_leader("the Raft group was removed from this node"));
  }
  group->pending.clear();
  if (in_pass_ || group->touched) {
    removed_in_pass_.push_back(id);  // touched_ still points at it
    schedule_pass();
  } else {
    groups_.erase(id);
  }
}

RaftRuntime::Group* RaftRuntime::find(GroupId id) const {
  auto it = groups_.find(id);
  if (it == groups_.end() || it->second->removed) return nullptr;
  return it->second.get();
}

void RaftRuntime::propose(GroupId id, Bytes data, ProposeDone done, int32_t count) {
  Group* group = find(id);
  if (group == nullptr || stopped_) {
    done(Error{ErrorCode::kUnknownTopicOrPartition,
               "Raft group " + std::to_string(id) + " does not run on this node"});
    return;
  }
  if (group->pending.size() >= options_.max_pending_proposals) {
    done(Error{ErrorCode::kRequestTimedOut, "too many proposals await commit in this group"});
    return;
  }
  Raft& raft = *group->raft;
  auto offset = raft.propose(std::move(data), count);
  if (!offset.ok()) {
    ++stats_.proposals_failed;
    done(offset.error());
    return;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.proposal_timeout_ms);
  group->pending.emplace(*offset, PendingProposal{raft.term(), std::move(done), deadline});
  touch(*group);
}

Result<RaftStatus> RaftRuntime::status(GroupId id) const {
  const Group* group = find(id);
  if (group == nullptr) {
    return Error{ErrorCode::kUnknownTopicOrPartition,
                 "Raft group " + std::to_string(id) + " does not run on this node"};
  }
  return group->raft->status();
}

NodeId RaftRuntime::leader(GroupId id) const {
  const Group* group = find(id);
  return group == nullptr ? kNoNode : group->raft->leader();
}

Status RaftRuntime::with_raft(GroupId id, const std::function<Status(Raft&)>& f) {
  Group* group = find(id);
  if (group == nullptr) {
    return Error{ErrorCode::kUnknownTopicOrPartition,
                 "Raft group " + std::to_string(id) + " does not run on this node"};
  }
  auto status = f(*group->raft);
  touch(*group);
  return status;
}

void RaftRuntime::on_receive(std::vector<Message>& messages) {
  for (const Message& message : messages) {
    Group* group = find(message.group);
    if (group == nullptr) {
      ++stats_.messages_for_unknown_groups;
      continue;
    }
    group->raft->step(message);
    touch(*group);
  }
}

void RaftRuntime::schedule_tick() {
  next_tick_ += std::chrono::milliseconds(options_.tick_interval_ms);
  const auto now = Clock::now();
  // Behind by more than a tick (a long pass, a paused process): skip the missed
  // ticks rather than fire them back to back and time out every election.
  if (next_tick_ < now) next_tick_ = now + std::chrono::milliseconds(options_.tick_interval_ms);
  tick_timer_.expires_at(next_tick_);
  tick_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    on_tick();
    schedule_tick();
  });
}

void RaftRuntime::on_tick() {
  ++stats_.ticks;
  const auto now = Clock::now();
  for (auto& [id, group] : groups_) {
    if (group->removed) continue;
    group->raft->tick();
    if (!group->pending.empty()) expire_proposals(*group, now);
    touch(*group);
  }
}

void RaftRuntime::touch(Group& group) {
  if (!group.touched) {
    group.touched = true;
    touched_.push_back(&group);
  }
  schedule_pass();
}

void RaftRuntime::schedule_pass() {
  if (pass_scheduled_ || stopped_) return;
  pass_scheduled_ = true;
  // Posted, so that frames and proposals already queued join this pass.
  asio::post(io_, [this] {
    pass_scheduled_ = false;
    if (!stopped_) run_pass();
  });
}

void RaftRuntime::run_pass() {
  in_pass_ = true;
  ++stats_.passes;
  std::vector<Group*> groups;
  groups.swap(touched_);
  std::vector<Group*> ready_groups;
  std::vector<Ready> readies;
  for (Group* group : groups) {
    group->touched = false;
    if (group->removed || !group->raft->has_ready()) continue;
    ready_groups.push_back(group);
    readies.push_back(group->raft->ready());
  }
  stats_.readies += readies.size();

  // 1. One sync per storage that wrote, before any message that depends on it.
  std::vector<Storage*> to_sync;
  for (size_t i = 0; i < readies.size(); ++i) {
    if (readies[i].must_sync) to_sync.push_back(ready_groups[i]->storage.get());
  }
  std::sort(to_sync.begin(), to_sync.end());
  to_sync.erase(std::unique(to_sync.begin(), to_sync.end()), to_sync.end());
  for (Storage* storage : to_sync) storage->sync();
  stats_.syncs += to_sync.size();

  // 2. Every group's messages; one frame per peer. (Moved out: advance() looks
  // at what was synced and applied, not at the messages.)
  for (Ready& ready : readies) {
    for (Message& message : ready.messages) transport_.send(std::move(message));
    ready.messages.clear();
  }
  transport_.flush();

  // 3. Apply, then 4. advance.
  for (size_t i = 0; i < readies.size(); ++i) {
    if (!ready_groups[i]->removed) apply(*ready_groups[i], readies[i]);
  }
  for (size_t i = 0; i < readies.size(); ++i) {
    Group& group = *ready_groups[i];
    if (group.removed) continue;
    group.raft->advance(readies[i]);
    if (group.raft->has_ready()) touch(group);
  }
  for (Group* group : groups) {
    if (!group->removed && !group->pending.empty()) fail_replaced_proposals(*group);
  }
  in_pass_ = false;
  for (GroupId id : removed_in_pass_) {
    auto it = groups_.find(id);
    if (it != groups_.end() && it->second->removed && !it->second->touched) groups_.erase(it);
  }
  removed_in_pass_.erase(std::remove_if(removed_in_pass_.begin(), removed_in_pass_.end(),
                                        [this](GroupId id) { return !groups_.contains(id); }),
                         removed_in_pass_.end());
}

void RaftRuntime::apply(Group& group, const Ready& ready) {
  if (ready.snapshot && group.callbacks.restore) {
    group.callbacks.restore(*ready.snapshot, group.storage->snapshot_data());
  }
  for (const Entry& entry : ready.committed) {
    if (group.callbacks.apply) group.callbacks.apply(entry);
    ++stats_.entries_applied;
    if (!group.pending.empty()) resolve_applied(group, entry);
  }
}

// An applied entry settles every proposal at or below its offset: ours if the
// offset and term match, else another leader's entry replaced it.
void RaftRuntime::resolve_applied(Group& group, const Entry& entry) {
  while (!group.pending.empty() && group.pending.begin()->first <= entry.offset) {
    auto node = group.pending.extract(group.pending.begin());
    if (node.key() == entry.offset && node.mapped().term == entry.term) {
      ++stats_.proposals_committed;
      finish(node.mapped(), entry.offset);
    } else {
      finish(node.mapped(), not_leader("leadership changed and another entry took its offset"));
    }
  }
}

// After a leadership change a proposal may still commit (the new leader has it)
// or be gone: only the second is known to have failed.
void RaftRuntime::fail_replaced_proposals(Group& group) {
  Raft& raft = *group.raft;
  // Still leading the term of the oldest (so of every) pending proposal.
  if (raft.role() == Role::kLeader && raft.term() == group.pending.begin()->second.term) return;
  for (auto it = group.pending.begin(); it != group.pending.end();) {
    const auto term = group.storage->term_at(it->first);
    if (term && *term == it->second.term) {
      ++it;
      continue;
    }
    finish(it->second, not_leader("leadership changed before the entry committed"));
    it = group.pending.erase(it);
  }
}

void RaftRuntime::expire_proposals(Group& group, Clock::time_point now) {
  for (auto it = group.pending.begin(); it != group.pending.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    finish(it->second, Error{ErrorCode::kRequestTimedOut,
                             "the entry did not commit in time; it may still commit"});
    it = group.pending.erase(it);
  }
}

void RaftRuntime::finish(PendingProposal& proposal, Result<Offset> result) {
  if (!result.ok()) ++stats_.proposals_failed;
  ProposeDone done = std::move(proposal.done);
  if (done) done(std::move(result));
}

}  // namespace fjord::raft
