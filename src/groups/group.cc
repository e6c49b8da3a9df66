#include "groups/group.h"

#include <fmt/core.h>

#include <algorithm>
#include <random>

#include "protocol/generated/consumer_protocol_subscription.h"
#include "protocol/wire.h"

namespace fjord::groups {
namespace {

constexpr std::string_view kConsumerProtocolType = "consumer";

std::string random_suffix() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", random(), random());
}

bool same_protocols(const std::vector<Protocol>& a, const std::vector<Protocol>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].metadata != b[i].metadata) return false;
  }
  return true;
}

}  // namespace

JoinResult join_failure(ErrorCode error, std::string member_id) {
  JoinResult result;
  result.error = error;
  result.member_id = std::move(member_id);
  return result;
}

SyncResult sync_failure(ErrorCode error) {
  SyncResult result;
  result.error = error;
  return result;
}

std::string_view state_name(GroupState state) {
  switch (state) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Dead";
}

std::optional<GroupState> parse_state(std::string_view name) {
  for (auto state : {GroupState::kEmpty, GroupState::kPreparingRebalance,
                     GroupState::kCompletingRebalance, GroupState::kStable, GroupState::kDead}) {
    const std::string_view known = state_name(state);
    if (known.size() == name.size() &&
        std::equal(known.begin(), known.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return state;
    }
  }
  return std::nullopt;
}

Group::Group(std::string id, const GroupLimits& limits, WriteFn write, int64_t now_ms)
    : id_(std::move(id)), limits_(limits), write_(std::move(write)), state_timestamp_ms_(now_ms) {}

// --- JoinGroup --------------------------------------------------------------

void Group::join(const JoinRequest& request, int64_t now_ms, JoinCallback done) {
  if (request.session_timeout_ms < limits_.min_session_timeout_ms ||
      request.session_timeout_ms > limits_.max_session_timeout_ms) {
    done(join_failure(ErrorCode::kInvalidSessionTimeout, request.member_id));
    return;
  }
  if (state_ == GroupState::kDead) {
    // Deleted meanwhile; the client looks the coordinator up again and retries.
    done(join_failure(ErrorCode::kCoordinatorNotAvailable, request.member_id));
    return;
  }
  if (!supports_protocols(request.protocol_type, request.protocols)) {
    done(join_failure(ErrorCode::kInconsistentGroupProtocol, request.member_id));
    return;
  }
  if (request.member_id.empty()) {
    join_new_member(request, now_ms, std::move(done));
  } else {
    join_known_member(request, now_ms, std::move(done));
  }
}

// An Empty group takes any protocol type; otherwise the type must match and at
// least one protocol must be supported by every member.
bool Group::supports_protocols(const std::string& protocol_type,
                               const std::vector<Protocol>& protocols) const {
  if (protocol_type.empty() || protocols.empty()) return false;
  if (members_.empty()) return true;
  if (protocol_type_ != protocol_type) return false;
  for (const auto& candidate : protocols) {
    const bool everyone = std::all_of(members_.begin(), members_.end(), [&](const auto& entry) {
      return metadata_for(entry.second, candidate.name) != nullptr;
    });
    if (everyone) return true;
  }
  return false;
}

std::string Group::new_member_id(const JoinRequest& request) {
  const std::string& prefix =
      request.group_instance_id ? *request.group_instance_id : request.client_id;
  return fmt::format("{}-{}", prefix, random_suffix());
}

void Group::join_new_member(const JoinRequest& request, int64_t now_ms, JoinCallback done) {
  if (members_.size() + pending_members_.size() >= static_cast<size_t>(limits_.max_size)) {
    done(join_failure(ErrorCode::kGroupMaxSizeReached));
    return;
  }
  std::string member_id = new_member_id(request);
  if (request.group_instance_id) {
    auto known = static_members_.find(*request.group_instance_id);
    if (known != static_members_.end()) {
      replace_static_member(known->second, std::move(member_id), request, now_ms, std::move(done));
    } else {
      add_member_and_rebalance(std::move(member_id), request, now_ms, std::move(done));
    }
    return;
  }
  if (request.require_known_member_id) {
    // KIP-394: the member must come back with this id, so a client that times out
    // and retries does not leave a ghost member behind.
    pending_members_[member_id] = now_ms + request.session_timeout_ms;
    done(join_failure(ErrorCode::kMemberIdRequired, std::move(member_id)));
    return;
  }
  add_member_and_rebalance(std::move(member_id), request, now_ms, std::move(done));
}

void Group::join_known_member(const JoinRequest& request, int64_t now_ms, JoinCallback done) {
  if (pending_members_.contains(request.member_id)) {
    add_member_and_rebalance(request.member_id, request, now_ms, std::move(done));
    return;
  }
  if (ErrorCode error = validate_member(request.member_id, request.group_instance_id);
      error != ErrorCode::kNone) {
    done(join_failure(error, request.member_id));
    return;
  }
  Member& member = members_.at(request.member_id);
  switch (state_) {
    case GroupState::kPreparingRebalance:
      update_member_and_rebalance(member, request, now_ms, std::move(done));
      return;
    case GroupState::kCompletingRebalance:
      if (same_protocols(member.protocols, request.protocols)) {
        // The JoinGroup response was lost: send it again.
        done(join_result_for(member, leader_ == member.id));
      } else {
        update_member_and_rebalance(member, request, now_ms, std::move(done));
      }
      return;
    case GroupState::kStable:
      if (leader_ == member.id || !same_protocols(member.protocols, request.protocols)) {
        // The leader rejoining, or new subscriptions: assign again.
        update_member_and_rebalance(member, request, now_ms, std::move(done));
      } else {
        done(join_result_for(member, false));
      }
      return;
    case GroupState::kEmpty:
    case GroupState::kDead:
      done(join_failure(ErrorCode::kUnknownMemberId, request.member_id));
      return;
  }
}

void Group::add_member_and_rebalance(std::string member_id, const JoinRequest& request,
                                     int64_t now_ms, JoinCallback done) {
  pending_members_.erase(member_id);
  if (members_.empty()) protocol_type_ = request.protocol_type;
  Member member;
  member.id = member_id;
  member.group_instance_id = request.group_instance_id;
  member.client_id = request.client_id;
  member.client_host = request.client_host;
  member.session_timeout_ms = request.session_timeout_ms;
  member.rebalance_timeout_ms = request.rebalance_timeout_ms;
  member.protocol_type = request.protocol_type;
  member.protocols = request.protocols;
  member.awaiting_join = std::move(done);
  member.is_new = true;
  member.supports_skip_assignment = request.supports_skip_assignment;
  member.session_deadline_ms = now_ms + limits_.new_member_join_timeout_ms;
  if (request.group_instance_id) static_members_[*request.group_instance_id] = member_id;
  if (!leader_) leader_ = member_id;
  members_.emplace(member_id, std::move(member));
  if (state_ == GroupState::kPreparingRebalance && initial_delay_active_) {
    new_member_added_ = true;
  }
  maybe_prepare_rebalance(now_ms);
  maybe_complete_join(now_ms);
}

// KIP-345: a static member that restarts gets a new member id but keeps its
// place; the old id is fenced. A Stable group with unchanged subscriptions does
// not rebalance: the member gets its old assignment back at SyncGroup.
void Group::replace_static_member(std::string old_id, std::string new_id,
                                  const JoinRequest& request, int64_t now_ms, JoinCallback done) {
  auto node = members_.extract(old_id);
  Member& member = node.mapped();
  if (member.awaiting_join) {
    std::exchange(member.awaiting_join,
                  nullptr)(join_failure(ErrorCode::kFencedInstanceId, old_id));
  }
  if (member.awaiting_sync) {
    std::exchange(member.awaiting_sync, nullptr)(sync_failure(ErrorCode::kFencedInstanceId));
  }
  node.key() = new_id;
  member.id = new_id;
  member.client_id = request.client_id;
  member.client_host = request.client_host;
  member.session_timeout_ms = request.session_timeout_ms;
  member.rebalance_timeout_ms = request.rebalance_timeout_ms;
  member.supports_skip_assignment = request.supports_skip_assignment;
  member.session_deadline_ms = now_ms + request.session_timeout_ms;
  members_.insert(std::move(node));
  static_members_[*request.group_instance_id] = new_id;
  if (leader_ == old_id) leader_ = new_id;
  if (pending_sync_.erase(old_id) > 0) pending_sync_.insert(new_id);

  Member& current = members_.at(new_id);
  if (state_ == GroupState::kStable && same_protocols(current.protocols, request.protocols)) {
    const bool is_leader = leader_ == new_id;
    JoinResult result = join_result_for(current, is_leader && current.supports_skip_assignment);
    result.skip_assignment = is_leader && current.supports_skip_assignment;
    // KIP-814: a leader that cannot skip the assignment is not told it leads,
    // or it would assign partitions to nobody but itself.
    if (is_leader && !current.supports_skip_assignment) result.leader = old_id;
    // Persist the new id so that a coordinator restart still knows the member;
    // if that fails the old id stays valid (Kafka reverts the replacement).
    store_group([weak = weak_from_this(), done = std::move(done), result = std::move(result),
                 old_id, instance = *request.group_instance_id](ErrorCode error) mutable {
      if (error == ErrorCode::kNone) {
        done(std::move(result));
        return;
      }
      if (auto self = weak.lock()) self->revert_static_member(result.member_id, old_id, instance);
      done(join_failure(error, result.member_id));
    });
    return;
  }
  update_member_and_rebalance(current, request, now_ms, std::move(done));
}

void Group::revert_static_member(const std::string& new_id, const std::string& old_id,
                                 const std::string& instance_id) {
  auto node = members_.extract(new_id);
  if (node.empty() || static_members_[instance_id] != new_id) return;  // changed meanwhile
  node.key() = old_id;
  node.mapped().id = old_id;
  members_.insert(std::move(node));
  static_members_[instance_id] = old_id;
  if (leader_ == new_id) leader_ = old_id;
  if (pending_sync_.erase(new_id) > 0) pending_sync_.insert(old_id);
}

void Group::update_member_and_rebalance(Member& member, const JoinRequest& request, int64_t now_ms,
                                        JoinCallback done) {
  member.protocols = request.protocols;
  member.session_timeout_ms = request.session_timeout_ms;
  member.rebalance_timeout_ms = request.rebalance_timeout_ms;
  member.supports_skip_assignment = request.supports_skip_assignment;
  if (member.awaiting_join) {
    // A duplicate JoinGroup: the older request is answered as superseded.
    std::exchange(member.awaiting_join,
                  nullptr)(join_failure(ErrorCode::kRebalanceInProgress, member.id));
  }
  member.awaiting_join = std::move(done);
  maybe_prepare_rebalance(now_ms);
  maybe_complete_join(now_ms);
}

JoinResult Group::join_result_for(const Member& member, bool include_members) const {
  JoinResult result;
  result.generation = generation_;
  result.protocol_type = protocol_type_;
  result.protocol_name = protocol_name_;
  result.leader = leader_.value_or("");
  result.member_id = member.id;
  if (include_members && protocol_name_) {
    for (const auto& [id, other] : members_) {
      const auto* metadata = metadata_for(other, *protocol_name_);
      result.members.push_back(
          {id, other.group_instance_id, metadata ? *metadata : std::vector<uint8_t>{}});
    }
  }
  return result;
}

// --- Rebalancing ------------------------------------------------------------

void Group::maybe_prepare_rebalance(int64_t now_ms) {
  if (state_ == GroupState::kStable || state_ == GroupState::kCompletingRebalance ||
      state_ == GroupState::kEmpty) {
    prepare_rebalance(now_ms);
  }
}

void Group::prepare_rebalance(int64_t now_ms) {
  if (state_ == GroupState::kCompletingRebalance) {
    reset_assignments_and_fail_syncs(ErrorCode::kRebalanceInProgress);
  }
  pending_sync_.clear();
  const int32_t rebalance_timeout_ms = max_rebalance_timeout_ms();
  if (state_ == GroupState::kEmpty && limits_.initial_rebalance_delay_ms > 0) {
    // group.initial.rebalance.delay.ms: a new group waits for more members
    // before its first assignment, extending while new members keep arriving.
    initial_delay_active_ = true;
    new_member_added_ = false;
    join_deadline_ms_ = now_ms + limits_.initial_rebalance_delay_ms;
    initial_delay_remaining_ms_ =
        std::max<int64_t>(rebalance_timeout_ms - limits_.initial_rebalance_delay_ms, 0);
  } else {
    initial_delay_active_ = false;
    join_deadline_ms_ = now_ms + rebalance_timeout_ms;
  }
  transition_to(GroupState::kPreparingRebalance, now_ms);
}

void Group::maybe_complete_join(int64_t now_ms) {
  if (state_ != GroupState::kPreparingRebalance || initial_delay_active_) return;
  const bool all_joined = pending_members_.empty() &&
                          std::all_of(members_.begin(), members_.end(), [](const auto& entry) {
                            return static_cast<bool>(entry.second.awaiting_join);
                          });
  if (all_joined) complete_join(now_ms);
}

void Group::complete_join(int64_t now_ms) {
  initial_delay_active_ = false;
  // Dynamic members that did not rejoin in time leave; static ones keep their
  // place until their session expires.
  std::vector<std::string> gone;
  for (const auto& [id, member] : members_) {
    if (!member.awaiting_join && !member.group_instance_id) gone.push_back(id);
  }
  for (const auto& id : gone) remove_member(id, now_ms, /*update_state=*/false);

  if (!members_.empty() && !elect_joined_leader()) {
    // Nobody rejoined: wait for the sessions of the silent members to expire.
    join_deadline_ms_ = now_ms + max_rebalance_timeout_ms();
    return;
  }
  ++generation_;
  if (members_.empty()) {
    protocol_name_.reset();
    leader_.reset();
    transition_to(GroupState::kEmpty, now_ms);
    store_group([](ErrorCode) {});
    return;
  }
  protocol_name_ = select_protocol();
  transition_to(GroupState::kCompletingRebalance, now_ms);
  sync_deadline_ms_ = now_ms + max_rebalance_timeout_ms();
  for (auto& [id, member] : members_) {
    pending_sync_.insert(id);
    if (!member.awaiting_join) continue;
    member.is_new = false;
    member.session_deadline_ms = now_ms + member.session_timeout_ms;
    JoinResult result = join_result_for(member, leader_ == id);
    std::exchange(member.awaiting_join, nullptr)(std::move(result));
  }
}

// The leader must be a member that rejoined, since only it gets the member list.
bool Group::elect_joined_leader() {
  if (leader_) {
    auto it = members_.find(*leader_);
    if (it != members_.end() && it->second.awaiting_join) return true;
  }
  for (const auto& [id, member] : members_) {
    if (member.awaiting_join) {
      leader_ = id;
      return true;
    }
  }
  return false;
}

// Among the protocols every member supports, each member votes for the first in
// its own preference order; the most votes win (ties: the leader's preference).
std::string Group::select_protocol() const {
  std::vector<std::string> candidates;
  const Member& leader = members_.at(*leader_);
  for (const auto& protocol : leader.protocols) {
    const bool everyone = std::all_of(members_.begin(), members_.end(), [&](const auto& entry) {
      return metadata_for(entry.second, protocol.name) != nullptr;
    });
    if (everyone) candidates.push_back(protocol.name);
  }
  std::map<std::string, int> votes;
  for (const auto& [id, member] : members_) {
    for (const auto& protocol : member.protocols) {
      if (std::find(candidates.begin(), candidates.end(), protocol.name) != candidates.end()) {
        ++votes[protocol.name];
        break;
      }
    }
  }
  std::string best = candidates.empty() ? std::string() : candidates.front();
  for (const auto& name : candidates) {
    if (votes[name] > votes[best]) best = name;
  }
  return best;
}

const std::vector<uint8_t>* Group::metadata_for(const Member& member,
                                                const std::string& protocol) const {
  for (const auto& candidate : member.protocols) {
    if (candidate.name == protocol) return &candidate.metadata;
  }
  return nullptr;
}

int32_t Group::max_rebalance_timeout_ms() const {
  int32_t timeout_ms = 0;
  for (const auto& [id, member] : members_) {
    timeout_ms = std::max(timeout_ms, member.rebalance_timeout_ms);
  }
  return timeout_ms;
}

void Group::transition_to(GroupState state, int64_t now_ms) {
  state_ = state;
  state_timestamp_ms_ = now_ms;
}

void Group::reset_assignments_and_fail_syncs(ErrorCode error) {
  for (auto& [id, member] : members_) {
    member.assignment.clear();
    if (member.awaiting_sync) std::exchange(member.awaiting_sync, nullptr)(sync_failure(error));
  }
}

// --- SyncGroup --------------------------------------------------------------

void Group::sync(const SyncRequest& request, int64_t now_ms, SyncCallback done) {
  if (state_ == GroupState::kDead) {
    done(sync_failure(ErrorCode::kCoordinatorNotAvailable));
    return;
  }
  if (ErrorCode error = validate_member(request.member_id, request.group_instance_id);
      error != ErrorCode::kNone) {
    done(sync_failure(error));
    return;
  }
  if (request.generation != generation_) {
    done(sync_failure(ErrorCode::kIllegalGeneration));
    return;
  }
  if ((request.protocol_type && request.protocol_type != protocol_type_) ||
      (request.protocol_name && request.protocol_name != protocol_name_)) {
    done(sync_failure(ErrorCode::kInconsistentGroupProtocol));
    return;
  }
  Member& member = members_.at(request.member_id);
  switch (state_) {
    case GroupState::kEmpty:
    case GroupState::kDead:
      done(sync_failure(ErrorCode::kUnknownMemberId));
      return;
    case GroupState::kPreparingRebalance:
      done(sync_failure(ErrorCode::kRebalanceInProgress));
      return;
    case GroupState::kCompletingRebalance:
      pending_sync_.erase(member.id);
      member.session_deadline_ms = now_ms + member.session_timeout_ms;
      if (member.awaiting_sync) {
        std::exchange(member.awaiting_sync, nullptr)(sync_failure(ErrorCode::kRebalanceInProgress));
      }
      member.awaiting_sync = std::move(done);
      if (leader_ == member.id) complete_sync_as_leader(request, now_ms);
      return;
    case GroupState::kStable: {
      pending_sync_.erase(member.id);
      member.session_deadline_ms = now_ms + member.session_timeout_ms;
      SyncResult result;
      result.protocol_type = protocol_type_;
      result.protocol_name = protocol_name_;
      result.assignment = member.assignment;
      done(std::move(result));
      return;
    }
  }
}

// The leader's assignment is persisted with the group before anyone sees it, so
// a coordinator restart resumes the same generation.
void Group::complete_sync_as_leader(const SyncRequest& request, int64_t now_ms) {
  for (auto& [id, member] : members_) member.assignment.clear();
  for (const auto& [member_id, assignment] : request.assignments) {
    auto it = members_.find(member_id);
    if (it != members_.end()) it->second.assignment = assignment;
  }
  const int32_t generation = generation_;
  store_group([weak = weak_from_this(), generation, now_ms](ErrorCode error) {
    auto self = weak.lock();
    if (!self || self->state_ != GroupState::kCompletingRebalance ||
        self->generation_ != generation) {
      return;  // a newer rebalance took over; its members were told already
    }
    if (error != ErrorCode::kNone) {
      self->reset_assignments_and_fail_syncs(ErrorCode::kCoordinatorNotAvailable);
      self->prepare_rebalance(now_ms);
      return;
    }
    self->transition_to(GroupState::kStable, now_ms);
    for (auto& [id, member] : self->members_) {
      if (!member.awaiting_sync) continue;
      SyncResult result;
      result.protocol_type = self->protocol_type_;
      result.protocol_name = self->protocol_name_;
      result.assignment = member.assignment;
      std::exchange(member.awaiting_sync, nullptr)(std::move(result));
    }
  });
}

// --- Heartbeat, LeaveGroup, expiry ------------------------------------------

ErrorCode Group::validate_member(const std::string& member_id,
                                 const std::optional<std::string>& group_instance_id) const {
  if (group_instance_id) {
    auto known = static_members_.find(*group_instance_id);
    if (known != static_members_.end() && known->second != member_id) {
      return ErrorCode::kFencedInstanceId;
    }
  }
  if (!members_.contains(member_id)) return ErrorCode::kUnknownMemberId;
  return ErrorCode::kNone;
}

ErrorCode Group::heartbeat(const HeartbeatRequest& request, int64_t now_ms) {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  if (state_ == GroupState::kEmpty) return ErrorCode::kUnknownMemberId;
  if (ErrorCode error = validate_member(request.member_id, request.group_instance_id);
      error != ErrorCode::kNone) {
    return error;
  }
  if (request.generation != generation_) return ErrorCode::kIllegalGeneration;
  Member& member = members_.at(request.member_id);
  member.session_deadline_ms = now_ms + member.session_timeout_ms;
  if (state_ == GroupState::kPreparingRebalance) return ErrorCode::kRebalanceInProgress;
  return ErrorCode::kNone;
}

ErrorCode Group::leave(const std::string& member_id,
                       const std::optional<std::string>& group_instance_id, int64_t now_ms) {
  if (state_ == GroupState::kDead) return ErrorCode::kCoordinatorNotAvailable;
  std::string id = member_id;
  if (id.empty() && group_instance_id) {
    auto known = static_members_.find(*group_instance_id);
    if (known == static_members_.end()) return ErrorCode::kUnknownMemberId;
    id = known->second;
  }
  if (pending_members_.erase(id) > 0) {
    maybe_complete_join(now_ms);
    return ErrorCode::kNone;
  }
  if (ErrorCode error = validate_member(id, group_instance_id); error != ErrorCode::kNone) {
    return error;
  }
  remove_member(id, now_ms);
  return ErrorCode::kNone;
}

void Group::remove_member(const std::string& member_id, int64_t now_ms, bool update_state) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  Member& member = it->second;
  if (member.awaiting_join) {
    std::exchange(member.awaiting_join,
                  nullptr)(join_failure(ErrorCode::kUnknownMemberId, member_id));
  }
  if (member.awaiting_sync) {
    std::exchange(member.awaiting_sync, nullptr)(sync_failure(ErrorCode::kUnknownMemberId));
  }
  if (member.group_instance_id) static_members_.erase(*member.group_instance_id);
  members_.erase(it);
  pending_sync_.erase(member_id);
  if (leader_ == member_id) {
    leader_.reset();
    if (!members_.empty()) leader_ = members_.begin()->first;
  }
  if (!update_state) return;
  switch (state_) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      prepare_rebalance(now_ms);
      maybe_complete_join(now_ms);  // the last member leaving empties the group now
      break;
    case GroupState::kPreparingRebalance:
      maybe_complete_join(now_ms);
      break;
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
}

void Group::tick(int64_t now_ms) {
  if (state_ == GroupState::kDead) return;
  for (auto it = pending_members_.begin(); it != pending_members_.end();) {
    it = it->second <= now_ms ? pending_members_.erase(it) : std::next(it);
  }
  remove_expired_members(now_ms);
  if (state_ == GroupState::kPreparingRebalance && now_ms >= join_deadline_ms_) {
    if (initial_delay_active_ && new_member_added_ && initial_delay_remaining_ms_ > 0) {
      new_member_added_ = false;
      const int64_t delay_ms =
          std::min<int64_t>(limits_.initial_rebalance_delay_ms, initial_delay_remaining_ms_);
      initial_delay_remaining_ms_ -= delay_ms;
      join_deadline_ms_ = now_ms + delay_ms;
    } else {
      complete_join(now_ms);
    }
  } else if (state_ == GroupState::kPreparingRebalance) {
    maybe_complete_join(now_ms);  // pending members that expired may have been the last
  }
  if ((state_ == GroupState::kCompletingRebalance || state_ == GroupState::kStable) &&
      !pending_sync_.empty() && now_ms >= sync_deadline_ms_) {
    remove_unsynced_members(now_ms);
  }
}

// Members awaiting a JoinGroup or SyncGroup reply are alive by definition,
// except new members whose JoinGroup has waited past the new-member timeout.
void Group::remove_expired_members(int64_t now_ms) {
  std::vector<std::string> expired;
  for (const auto& [id, member] : members_) {
    const bool waiting = (member.awaiting_join && !member.is_new) || member.awaiting_sync;
    if (!waiting && member.session_deadline_ms <= now_ms) expired.push_back(id);
  }
  for (const auto& id : expired) remove_member(id, now_ms);
}

void Group::remove_unsynced_members(int64_t now_ms) {
  const std::vector<std::string> unsynced(pending_sync_.begin(), pending_sync_.end());
  pending_sync_.clear();
  for (const auto& id : unsynced) remove_member(id, now_ms);
}

// --- Offsets ----------------------------------------------------------------

void Group::commit(const CommitRequest& request, int64_t now_ms, DoneCallback done) {
  if (state_ == GroupState::kDead) {
    done(ErrorCode::kCoordinatorNotAvailable);
    return;
  }
  if (request.group_instance_id) {
    auto known = static_members_.find(*request.group_instance_id);
    if (known != static_members_.end() && known->second != request.member_id) {
      done(ErrorCode::kFencedInstanceId);
      return;
    }
  }
  const bool outside_group_management = request.generation < 0 && state_ == GroupState::kEmpty;
  if (!outside_group_management) {
    if (state_ == GroupState::kCompletingRebalance) {
      done(ErrorCode::kRebalanceInProgress);
      return;
    }
    auto member = members_.find(request.member_id);
    if (member == members_.end()) {
      done(ErrorCode::kUnknownMemberId);
      return;
    }
    if (request.generation != generation_) {
      done(ErrorCode::kIllegalGeneration);
      return;
    }
    member->second.session_deadline_ms = now_ms + member->second.session_timeout_ms;
  }
  std::vector<OffsetsTopicRecord> records;
  records.reserve(request.offsets.size());
  for (const auto& [partition, offset] : request.offsets) {
    records.push_back(OffsetRecord{{id_, partition.topic, partition.partition}, offset});
    ++pending_commits_[partition];
  }
  const uint64_t position = next_position();
  write(std::move(records), [weak = weak_from_this(), offsets = request.offsets, position,
                             done = std::move(done)](ErrorCode error) {
    auto self = weak.lock();
    if (self) {
      for (const auto& [partition, offset] : offsets) {
        auto pending = self->pending_commits_.find(partition);
        if (pending != self->pending_commits_.end() && --pending->second == 0) {
          self->pending_commits_.erase(pending);
        }
        if (error == ErrorCode::kNone && self->state_ != GroupState::kDead) {
          self->store_offset(partition, offset, position);
        }
      }
    }
    done(error);
  });
}

// Kafka keeps the offset whose record is later in the log: a transaction
// committed after a plain commit of the same partition must not undo it if the
// plain commit was written after the transaction's offsets.
void Group::store_offset(const TopicPartition& partition, const CommittedOffset& value,
                         uint64_t position) {
  auto it = offsets_.find(partition);
  if (it == offsets_.end()) {
    offsets_.emplace(partition, StoredOffset{value, position});
  } else if (it->second.position <= position) {
    it->second = StoredOffset{value, position};
  }
}

void Group::write(std::vector<OffsetsTopicRecord> records, DoneCallback done,
                  const std::optional<TxnProducer>& txn) {
  write_(std::move(records), txn, std::move(done));
}

std::optional<CommittedOffset> Group::committed(const TopicPartition& partition) const {
  auto it = offsets_.find(partition);
  if (it == offsets_.end()) return std::nullopt;
  return it->second.value;
}

void Group::delete_offsets(const std::vector<TopicPartition>& partitions,
                           std::function<void(ErrorCode, std::vector<ErrorCode>)> done) {
  if (state_ != GroupState::kEmpty && protocol_type_ != kConsumerProtocolType) {
    // Only consumer groups say what they use; Kafka refuses the whole request.
    done(ErrorCode::kNonEmptyGroup, {});
    return;
  }
  std::optional<std::set<std::string>> subscribed;
  if (state_ != GroupState::kEmpty) subscribed = subscribed_topics();
  std::vector<ErrorCode> errors;
  std::vector<OffsetsTopicRecord> tombstones;
  for (const auto& partition : partitions) {
    // Without knowing the subscriptions of a non-empty group, every topic may be in use.
    const bool in_use =
        state_ != GroupState::kEmpty && (!subscribed || subscribed->contains(partition.topic));
    if (in_use) {
      errors.push_back(ErrorCode::kGroupSubscribedToTopic);
      continue;
    }
    errors.push_back(ErrorCode::kNone);
    // The tombstone also ends what open transactions hold for the partition (as
    // replaying it does), so that their commit cannot bring the offset back.
    const bool pending_txn = has_pending_txn_offset(partition);
    drop_pending_txn_offsets_of(partition);
    if (offsets_.erase(partition) > 0 || pending_txn) {
      tombstones.push_back(OffsetRecord{{id_, partition.topic, partition.partition}, std::nullopt});
    }
  }
  if (tombstones.empty()) {
    done(ErrorCode::kNone, std::move(errors));
    return;
  }
  write(std::move(tombstones), [errors = std::move(errors), done = std::move(done)](
                                   ErrorCode error) mutable { done(error, std::move(errors)); });
}

// Which offsets may expire follows Kafka (KIP-211): a Stable consumer group's
// offsets of topics it no longer subscribes to, by commit time; an Empty
// group's offsets, counted from when it became empty; offsets committed outside
// group management, by commit time. An explicit expire timestamp (OffsetCommit
// v2-4) replaces the retention period. Offsets being written never expire.
bool Group::expire_offsets(int64_t now_ms) {
  if (state_ == GroupState::kDead) return true;
  std::optional<std::set<std::string>> keep_topics;
  bool from_state_change = false;
  if (!protocol_type_) {
    // Only commits from outside group management: each ages from its commit.
  } else if (state_ == GroupState::kStable && protocol_type_ == kConsumerProtocolType) {
    keep_topics = subscribed_topics();
    if (!keep_topics) return false;
  } else if (state_ == GroupState::kEmpty) {
    from_state_change = state_timestamp_ms_ >= 0;
  } else {
    return false;
  }
  std::vector<OffsetsTopicRecord> tombstones;
  for (auto it = offsets_.begin(); it != offsets_.end();) {
    const CommittedOffset& offset = it->second.value;
    const bool kept = (keep_topics && keep_topics->contains(it->first.topic)) ||
                      pending_commits_.contains(it->first) || has_pending_txn_offset(it->first);
    const int64_t base_ms = from_state_change ? state_timestamp_ms_ : offset.commit_timestamp_ms;
    const bool expired = !kept && (offset.expire_timestamp_ms >= 0
                                       ? now_ms >= offset.expire_timestamp_ms
                                       : now_ms - base_ms >= limits_.offsets_retention_ms);
    if (expired) {
      tombstones.push_back(OffsetRecord{{id_, it->first.topic, it->first.partition}, std::nullopt});
      it = offsets_.erase(it);
    } else {
      ++it;
    }
  }
  const bool dies = state_ == GroupState::kEmpty && offsets_.empty() && pending_commits_.empty() &&
                    !has_pending_txn_offsets() && members_.empty() && pending_members_.empty();
  if (dies) {
    tombstones.push_back(GroupMetadataRecord{id_, std::nullopt});
    state_ = GroupState::kDead;
  }
  if (!tombstones.empty()) write(std::move(tombstones), [](ErrorCode) {});
  return dies;
}

ErrorCode Group::remove(DoneCallback done) {
  if (state_ == GroupState::kDead) return ErrorCode::kGroupIdNotFound;
  if (!members_.empty() || !pending_members_.empty() || state_ != GroupState::kEmpty) {
    return ErrorCode::kNonEmptyGroup;
  }
  // Offsets of open transactions go too (Kafka's deleteAllOffsets): their
  // tombstones come after them in the log, so a later COMMIT restores nothing.
  std::set<TopicPartition> partitions;
  for (const auto& [partition, offset] : offsets_) partitions.insert(partition);
  for (const auto& [producer_id, pending] : pending_txn_offsets_) {
    for (const auto& [partition, offset] : pending) partitions.insert(partition);
  }
  std::vector<OffsetsTopicRecord> tombstones;
  for (const auto& partition : partitions) {
    tombstones.push_back(OffsetRecord{{id_, partition.topic, partition.partition}, std::nullopt});
  }
  tombstones.push_back(GroupMetadataRecord{id_, std::nullopt});
  offsets_.clear();
  pending_txn_offsets_.clear();
  pending_txn_offset_count_ = 0;
  state_ = GroupState::kDead;
  write(std::move(tombstones), std::move(done));
  return ErrorCode::kNone;
}

void Group::unload() {
  for (auto& [id, member] : members_) {
    if (member.awaiting_join) {
      std::exchange(member.awaiting_join, nullptr)(join_failure(ErrorCode::kNotCoordinator, id));
    }
    if (member.awaiting_sync) {
      std::exchange(member.awaiting_sync, nullptr)(sync_failure(ErrorCode::kNotCoordinator));
    }
  }
}

// --- Describing, persisting, restoring ---------------------------------------

GroupDescription Group::describe() const {
  GroupDescription description;
  description.state = state_;
  description.protocol_type = protocol_type_.value_or("");
  const bool stable = state_ == GroupState::kStable;
  if (stable) description.protocol = protocol_name_.value_or("");
  for (const auto& [id, member] : members_) {
    MemberDescription entry;
    entry.member_id = id;
    entry.group_instance_id = member.group_instance_id;
    entry.client_id = member.client_id;
    entry.client_host = member.client_host;
    if (stable && protocol_name_) {
      if (const auto* metadata = metadata_for(member, *protocol_name_)) entry.metadata = *metadata;
      entry.assignment = member.assignment;
    }
    description.members.push_back(std::move(entry));
  }
  return description;
}

std::optional<std::set<std::string>> Group::subscribed_topics() const {
  if (protocol_type_ != kConsumerProtocolType || !protocol_name_) return std::nullopt;
  std::set<std::string> topics;
  for (const auto& [id, member] : members_) {
    const auto* metadata = metadata_for(member, *protocol_name_);
    if (metadata == nullptr) return std::nullopt;
    protocol::Reader reader(*metadata);
    const int16_t version = reader.read_int16();
    protocol::ConsumerProtocolSubscription subscription;
    subscription.decode(reader, std::min<int16_t>(version, 3));
    if (!reader.ok()) return std::nullopt;
    topics.insert(subscription.topics.begin(), subscription.topics.end());
  }
  return topics;
}

GroupRecord Group::to_record() const {
  GroupRecord record;
  record.protocol_type = protocol_type_.value_or("");
  record.generation = generation_;
  record.protocol = protocol_name_;
  record.leader = leader_;
  record.current_state_timestamp_ms = state_timestamp_ms_;
  for (const auto& [id, member] : members_) {
    MemberRecord entry;
    entry.member_id = id;
    entry.group_instance_id = member.group_instance_id;
    entry.client_id = member.client_id;
    entry.client_host = member.client_host;
    entry.rebalance_timeout_ms = member.rebalance_timeout_ms;
    entry.session_timeout_ms = member.session_timeout_ms;
    if (protocol_name_) {
      if (const auto* metadata = metadata_for(member, *protocol_name_)) {
        entry.subscription = *metadata;
      }
    }
    entry.assignment = member.assignment;
    record.members.push_back(std::move(entry));
  }
  return record;
}

void Group::store_group(DoneCallback done) {
  std::vector<OffsetsTopicRecord> records;
  records.push_back(GroupMetadataRecord{id_, to_record()});
  write(std::move(records), std::move(done));
}

// Members come back as they were at the last stored generation; their sessions
// start now, so members that did not survive the restart expire as usual.
void Group::restore(const GroupRecord& record, int64_t now_ms) {
  members_.clear();
  static_members_.clear();
  pending_members_.clear();
  pending_sync_.clear();
  protocol_type_ = record.protocol_type.empty() ? std::nullopt
                                                : std::optional<std::string>(record.protocol_type);
  generation_ = record.generation;
  protocol_name_ = record.protocol;
  leader_ = record.leader;
  state_timestamp_ms_ = record.current_state_timestamp_ms;
  for (const auto& entry : record.members) {
    Member member;
    member.id = entry.member_id;
    member.group_instance_id = entry.group_instance_id;
    member.client_id = entry.client_id;
    member.client_host = entry.client_host;
    member.session_timeout_ms = entry.session_timeout_ms;
    member.rebalance_timeout_ms = entry.rebalance_timeout_ms;
    member.protocol_type = record.protocol_type;
    if (record.protocol) member.protocols.push_back({*record.protocol, entry.subscription});
    member.assignment = entry.assignment;
    member.session_deadline_ms = now_ms + entry.session_timeout_ms;
    if (entry.group_instance_id) static_members_[*entry.group_instance_id] = entry.member_id;
    members_.emplace(entry.member_id, std::move(member));
  }
  state_ = members_.empty() || !protocol_name_ ? GroupState::kEmpty : GroupState::kStable;
  if (state_ == GroupState::kEmpty) leader_.reset();
}

void Group::restore_offset(const TopicPartition& partition, std::optional<CommittedOffset> value) {
  const uint64_t position = next_position();
  if (value) {
    offsets_[partition] = StoredOffset{std::move(*value), position};
  } else {
    offsets_.erase(partition);
    drop_pending_txn_offsets_of(partition);
  }
}

}  // namespace fjord::groups
