// Elections: pre-vote (thesis 9.6), votes, and the campaign that makes a
// leader. Votes are written to Storage before the response leaves (the Ready
// that carries it has must_sync).
#include <algorithm>

#include "raft/raft_state.h"

namespace fjord::raft {

bool Raft::State::is_voter(NodeId node) const {
  const auto& voters = config().voters;
  return std::binary_search(voters.begin(), voters.end(), node);
}

// Only voters of the configuration in our log start elections: a removed node
// or a learner waits for a leader instead of disrupting the group. One
// exception keeps the group live: a voter removed by a change that is not
// committed yet may hold the only log with that change (say the leader that
// removed itself lost its quorum), and the new configuration's voters would
// refuse anyone else. It campaigns for the new configuration's votes and, as a
// leader outside its configuration, steps down once the change commits.
bool Raft::State::promotable() const {
  if (is_voter(options.self)) return true;
  if (config_history.size() < 2 || high_watermark > config_offset()) return false;
  const auto& previous = config_history[config_history.size() - 2].config.voters;
  return std::binary_search(previous.begin(), previous.end(), options.self);
}

void Raft::State::become_pre_candidate() {
  become_follower(term, kNoNode);  // clears leader state, keeps term and vote
  role = Role::kPreCandidate;
}

void Raft::State::become_candidate() {
  become_follower(term, kNoNode);
  set_term(term + 1);
  voted_for = options.self;
  storage.save_hard_state({.term = term, .voted_for = voted_for});
  dirty = true;
  role = Role::kCandidate;
}

void Raft::State::campaign(bool leadership_transfer) {
  if (!promotable()) return;
  if (options.pre_vote && !leadership_transfer) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  request_votes(leadership_transfer);
}

void Raft::State::request_votes(bool leadership_transfer) {
  bool pre_vote = role == Role::kPreCandidate;
  votes.clear();
  if (is_voter(options.self)) votes[options.self] = true;
  if (votes_granted() >= quorum()) {
    won_vote_round();
    return;
  }
  for (NodeId voter : config().voters) {
    if (voter == options.self) continue;
    Message request;
    request.type = pre_vote ? MessageType::kPreVote : MessageType::kVote;
    request.group = options.group;
    request.from = options.self;
    request.to = voter;
    request.term = pre_vote ? term + 1 : term;  // a pre-vote asks for the term it would use
    request.prev_end_offset = log_end();
    request.prev_term = last_term();
    request.leadership_transfer = leadership_transfer;
    send(std::move(request));
  }
}

size_t Raft::State::votes_granted() const {
  return static_cast<size_t>(
      std::count_if(votes.begin(), votes.end(), [](const auto& vote) { return vote.second; }));
}

void Raft::State::won_vote_round() {
  if (role == Role::kPreCandidate) {
    become_candidate();
    request_votes(false);
  } else {
    become_leader();
  }
}

void Raft::State::handle_vote_request(const Message& m) {
  bool pre_vote = m.type == MessageType::kPreVote;
  // Check-quorum lease: while we hear from a leader, a (pre-)candidate is a
  // disruptive server, unless the leader itself asked it to take over.
  if (pre_vote && in_lease() && !m.leadership_transfer) return;
  bool can_vote = voted_for == m.from || (voted_for == kNoNode && leader == kNoNode) ||
                  (pre_vote && m.term > term);
  Term our_last_term = last_term();
  bool up_to_date = m.prev_term > our_last_term ||
                    (m.prev_term == our_last_term && m.prev_end_offset >= log_end());
  if (options.planted_bug == PlantedBug::kGrantEveryVote) can_vote = up_to_date = true;
  Message reply =
      reply_to(m, pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse);
  if (can_vote && up_to_date) {
    reply.success = true;
    reply.term = m.term;
    if (!pre_vote) {
      voted_for = m.from;
      storage.save_hard_state({.term = term, .voted_for = voted_for});
      dirty = true;
      election_elapsed = 0;
    }
  }
  send(std::move(reply));
}

void Raft::State::handle_vote_response(const Message& m) {
  bool pre_vote = m.type == MessageType::kPreVoteResponse;
  if (role != (pre_vote ? Role::kPreCandidate : Role::kCandidate)) return;
  // A granted pre-vote carries the term we would campaign at; a refusal from a
  // higher term already made us a follower (step).
  if (pre_vote && m.success && m.term != term + 1) return;
  if (!pre_vote && m.term != term) return;
  if (!is_voter(m.from)) return;
  votes[m.from] = m.success;
  size_t granted = votes_granted();
  if (granted >= quorum()) {
    won_vote_round();
  } else if (votes.size() - granted >= quorum()) {
    become_follower(term, kNoNode);
  }
}

void Raft::State::become_leader() {
  role = Role::kLeader;
  leader = options.self;
  votes.clear();
  election_elapsed = 0;
  heartbeat_elapsed = 0;
  transfer_target = kNoNode;
  pending_reads.clear();
  uncommitted.clear();
  uncommitted_bytes = 0;
  reset_progress();  // followers' next offset: our log end before the LeaderChange entry
  Entry leader_change{.offset = log_end(),
                      .count = 1,
                      .term = term,
                      .type = EntryType::kLeaderChange,
                      .config = {},
                      .data = nullptr};
  term_start_end_offset = leader_change.end_offset();
  append_to_log({leader_change});
  maybe_commit();
  broadcast_appends();
}

}  // namespace fjord::raft
