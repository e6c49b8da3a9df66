// Membership: one server at a time (thesis 4.1). A configuration takes effect
// on each node when its entry is appended; the log's configuration is its last
// kConfig entry, or the snapshot's. The history of configurations back to the
// snapshot lets a truncation restore the previous one and a snapshot record
// the one in force at its end.
#include <algorithm>

#include "raft/raft_state.h"

namespace fjord::raft {
namespace {

bool contains(const std::vector<NodeId>& nodes, NodeId node) {
  return std::binary_search(nodes.begin(), nodes.end(), node);
}

void insert_sorted(std::vector<NodeId>& nodes, NodeId node) {
  nodes.insert(std::lower_bound(nodes.begin(), nodes.end(), node), node);
}

void erase(std::vector<NodeId>& nodes, NodeId node) {
  nodes.erase(std::remove(nodes.begin(), nodes.end(), node), nodes.end());
}

}  // namespace

void Raft::State::load_config(const SnapshotMeta& snapshot) {
  config_history.assign(1, ConfigAt{.offset = snapshot.end_offset - 1, .config = snapshot.config});
  // The configuration entries of the log after the snapshot (read once, at start).
  Offset offset = storage.start_offset();
  while (offset < storage.end_offset()) {
    std::vector<Entry> entries =
        storage.entries(offset, storage.end_offset(), options.max_append_bytes);
    if (entries.empty()) break;
    for (const Entry& entry : entries) {
      if (entry.type == EntryType::kConfig) {
        config_history.push_back({.offset = entry.offset, .config = entry.config});
      }
    }
    offset = entries.back().end_offset();
  }
}

Config Raft::State::config_as_of(Offset end_offset) const {
  Config result = config_history.front().config;
  for (const ConfigAt& at : config_history) {
    if (at.offset < end_offset) result = at.config;
  }
  return result;
}

void Raft::State::config_appended(const Entry& entry) {
  config_history.push_back({.offset = entry.offset, .config = entry.config});
  config_changed();
}

void Raft::State::forget_configs_from(Offset offset) {
  bool changed = false;
  while (config_history.size() > 1 && config_history.back().offset >= offset) {
    config_history.pop_back();
    changed = true;
  }
  if (changed) config_changed();
}

void Raft::State::forget_configs_below(Offset end_offset) {
  // Keep the one in force at end_offset (the snapshot's) and every later one.
  size_t keep_from = 0;
  for (size_t i = 0; i < config_history.size(); ++i) {
    if (config_history[i].offset < end_offset) keep_from = i;
  }
  config_history.erase(config_history.begin(),
                       config_history.begin() + static_cast<ptrdiff_t>(keep_from));
}

void Raft::State::config_changed() {
  if (role == Role::kFollower || role == Role::kLearner) {
    role = contains(config().learners, options.self) ? Role::kLearner : Role::kFollower;
  }
  if (role == Role::kLeader) {
    // New members get a progress at once; removed ones keep theirs until the
    // change commits, so that they learn of their removal.
    for (NodeId node : config().voters) add_progress(node);
    for (NodeId node : config().learners) add_progress(node);
  }
}

void Raft::State::config_committed() {
  if (role != Role::kLeader || high_watermark <= config_offset()) return;
  for (auto it = progress.begin(); it != progress.end();) {
    bool member = contains(config().voters, it->first) || contains(config().learners, it->first);
    if (member) {
      ++it;
      continue;
    }
    // A last heartbeat, at the end of the change, tells it (if it has the
    // change) that the change committed, so it stays quiet.
    it->second.match_end_offset = std::max(it->second.match_end_offset, config_offset() + 1);
    send_heartbeat(it->second, 0);
    it = progress.erase(it);
  }
  if (!is_voter(options.self)) become_follower(term, kNoNode);  // we were removed
}

Result<Offset> Raft::State::change_config(const ConfigChange& change) {
  if (role != Role::kLeader) return Error{ErrorCode::kNotLeaderOrFollower, "not the leader"};
  if (transfer_target != kNoNode) {
    return Error{ErrorCode::kNotLeaderOrFollower, "leadership transfer in progress"};
  }
  if (high_watermark < term_start_end_offset || high_watermark <= config_offset()) {
    return Error{ErrorCode::kRequestTimedOut, "an earlier configuration change is not committed"};
  }
  Config next = config();
  NodeId node = change.node;
  bool voter = contains(next.voters, node);
  bool learner = contains(next.learners, node);
  switch (change.type) {
    case ConfigChangeType::kAddVoter:
      if (voter) return Error{ErrorCode::kInvalidRequest, "already a voter"};
      erase(next.learners, node);
      insert_sorted(next.voters, node);
      break;
    case ConfigChangeType::kRemoveVoter:
      if (!voter) return Error{ErrorCode::kInvalidRequest, "not a voter"};
      if (next.voters.size() == 1) return Error{ErrorCode::kInvalidRequest, "the last voter"};
      erase(next.voters, node);
      break;
    case ConfigChangeType::kAddLearner:
      if (voter || learner) return Error{ErrorCode::kInvalidRequest, "already a member"};
      insert_sorted(next.learners, node);
      break;
    case ConfigChangeType::kRemoveLearner:
      if (!learner) return Error{ErrorCode::kInvalidRequest, "not a learner"};
      erase(next.learners, node);
      break;
  }
  Entry entry{.offset = log_end(),
              .count = 1,
              .term = term,
              .type = EntryType::kConfig,
              .config = next,
              .data = nullptr};
  append_to_log({entry});
  broadcast_appends();
  maybe_commit();  // a smaller majority may already hold more
  return entry.offset;
}

}  // namespace fjord::raft
