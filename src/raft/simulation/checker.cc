#include "raft/simulation/checker.h"

#include <fmt/format.h>

#include <algorithm>

#include "raft/simulation/random.h"

namespace fjord::raft::sim {

uint64_t entry_identity(const Entry& entry) {
  uint64_t hash = mix_hash(0x6a09e667f3bcc908ULL, static_cast<uint64_t>(entry.offset));
  hash = mix_hash(hash, static_cast<uint64_t>(entry.count));
  hash = mix_hash(hash, static_cast<uint64_t>(entry.term));
  hash = mix_hash(hash, static_cast<uint64_t>(entry.type));
  for (NodeId voter : entry.config.voters)
    hash = mix_hash(hash, 1000 + static_cast<uint64_t>(voter));
  for (NodeId learner : entry.config.learners) {
    hash = mix_hash(hash, 2000 + static_cast<uint64_t>(learner));
  }
  if (entry.data) {
    hash = mix_hash(hash, entry.data->size());
    for (uint8_t byte : *entry.data) hash = mix_hash(hash, byte);
  }
  return hash;
}

uint64_t chain_next(uint64_t chain, uint64_t identity) { return mix_hash(chain, identity); }

const LoggedEntry* NodeLog::find(Offset offset) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), offset,
                             [](const LoggedEntry& e, Offset o) { return e.offset < o; });
  if (it == entries.end() || it->offset != offset) return nullptr;
  return &*it;
}

Checker::Checker() { digest_at_end_[0] = 0; }

void Checker::fail(const std::string& what) {
  if (violation_.empty()) violation_ = what;
}

void Checker::leader_seen(NodeId node, Term term, const NodeLog& log) {
  auto [it, inserted] = leader_of_term_.emplace(term, node);
  if (!inserted && it->second != node) {
    fail(fmt::format("election safety: nodes {} and {} both lead term {}", it->second, node, term));
    return;
  }
  check_leader_completeness(node, term, log);
}

// Every entry committed in a term before `term` must be in the leader's log
// (or below its snapshot, whose digest state_loaded/entry_logged check).
void Checker::check_leader_completeness(NodeId node, Term term, const NodeLog& log) {
  size_t& checked = completeness_checked_[{node, term}];
  for (; checked < committed_.size(); ++checked) {
    const Committed& committed = committed_[checked];
    if (committed.commit_term >= term) continue;
    const LoggedEntry& entry = committed.entry;
    if (entry.end_offset() <= log.start_offset) continue;
    const LoggedEntry* found = log.find(entry.offset);
    if (found == nullptr || found->identity != entry.identity) {
      fail(fmt::format(
          "leader completeness: node {} leads term {} without the entry at offset {} (term {}) "
          "committed by term {}",
          node, term, entry.offset, entry.term, committed.commit_term));
      return;
    }
  }
}

void Checker::entry_logged(NodeId node, const LoggedEntry& entry) {
  auto [it, inserted] = logged_.emplace(std::pair{entry.offset, entry.term},
                                        LogKey{entry.identity, entry.chain, node});
  if (inserted) return;
  if (it->second.identity != entry.identity) {
    fail(fmt::format("log matching: nodes {} and {} hold different entries at offset {} term {}",
                     it->second.first_node, node, entry.offset, entry.term));
  } else if (it->second.chain != entry.chain) {
    fail(fmt::format(
        "log matching: nodes {} and {} hold the entry at offset {} term {} after different logs",
        it->second.first_node, node, entry.offset, entry.term));
  }
}

void Checker::entry_applied(NodeId node, const LoggedEntry& entry, Term node_term,
                            uint64_t payload) {
  auto [it, first] = applied_.emplace(entry.offset, AppliedAt{entry.identity, entry.end_offset()});
  if (!first &&
      (it->second.identity != entry.identity || it->second.end_offset != entry.end_offset())) {
    fail(fmt::format("state machine safety: node {} applied a different entry at offset {}", node,
                     entry.offset));
    return;
  }
  auto [digest, new_end] = digest_at_end_.emplace(entry.end_offset(), entry.chain);
  if (!new_end && digest->second != entry.chain) {
    fail(fmt::format("state machine safety: node {} applied a different history below offset {}",
                     node, entry.end_offset()));
    return;
  }
  if (payload != 0) {
    auto [at, new_payload] = payload_offset_.emplace(payload, entry.offset);
    if (!new_payload && at->second != entry.offset) {
      fail(fmt::format("state machine safety: proposal {} applied at offsets {} and {}", payload,
                       at->second, entry.offset));
      return;
    }
  }
  if (first) {
    committed_.push_back({entry, node_term});
    committed_end_offset_ = std::max(committed_end_offset_, entry.end_offset());
  }
}

void Checker::state_loaded(NodeId node, Offset end_offset, uint64_t digest) {
  auto it = digest_at_end_.find(end_offset);
  if (it == digest_at_end_.end()) {
    fail(
        fmt::format("state machine safety: node {} loaded a snapshot at offset {}, which no node "
                    "applied up to",
                    node, end_offset));
  } else if (it->second != digest) {
    fail(
        fmt::format("state machine safety: node {} loaded a snapshot at offset {} that differs "
                    "from what was applied there",
                    node, end_offset));
  }
}

void Checker::read_issued(uint64_t context) { read_floor_[context] = committed_end_offset_; }

void Checker::read_ready(NodeId node, uint64_t context, Offset read_offset) {
  auto it = read_floor_.find(context);
  if (it == read_floor_.end()) {
    fail(
        fmt::format("read index: node {} answered read {}, which was never issued", node, context));
  } else if (read_offset < it->second) {
    fail(
        fmt::format("read index: node {} answered read {} at offset {}, below the offset {} "
                    "committed before it was issued",
                    node, context, read_offset, it->second));
  }
}

}  // namespace fjord::raft::sim
