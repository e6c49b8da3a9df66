// The simulation's checker: Raft's safety properties, asserted on every step of
// every history. It sees plain facts (who leads which term, which entries each
// log holds, what each state machine applied, which reads were answered) so
// that it can be unit-tested on hand-made bad histories.
//
// Entries are compared by identity (a hash of everything a state machine could
// observe: offset, count, term, type, config and payload) and logs by chain
// digests: chain(prefix + e) = chain_next(chain(prefix), identity(e)). A state
// machine's digest after applying up to offset X is the chain of the log below
// X, so a snapshot carries the chain at its end.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "raft/message.h"

namespace fjord::raft::sim {

uint64_t entry_identity(const Entry& entry);
uint64_t chain_next(uint64_t chain, uint64_t identity);

struct LoggedEntry {
  Offset offset = 0;
  int32_t count = 1;
  Term term = 0;
  uint64_t identity = 0;
  uint64_t chain = 0;  // chain of the log up to and including this entry
  Offset end_offset() const { return offset + count; }
};

// One node's log as the checker sees it: the snapshot's end and digest, then
// the entries after it.
struct NodeLog {
  Offset start_offset = 0;
  uint64_t start_chain = 0;
  std::vector<LoggedEntry> entries;

  Offset end_offset() const { return entries.empty() ? start_offset : entries.back().end_offset(); }
  // The entry that starts at `offset`, or nullptr.
  const LoggedEntry* find(Offset offset) const;
};

class Checker {
 public:
  Checker();

  // Election safety (one leader per term over the whole history) and leader
  // completeness (the leader's log holds every entry committed in an earlier
  // term). Called for every node that is leader, after every step.
  void leader_seen(NodeId node, Term term, const NodeLog& log);
  // Log matching: an entry that starts at the same offset with the same term on
  // any two nodes, at any two times, is the same entry after the same prefix.
  void entry_logged(NodeId node, const LoggedEntry& entry);
  // State-machine safety: never two different entries applied at one offset,
  // by any nodes, across crashes; an acknowledged payload is applied at one
  // offset only. `entry.chain` is the node's state digest after the entry;
  // `node_term` the applying node's term (the entry was committed in that term
  // or an earlier one). `payload` identifies a client proposal (0: none).
  void entry_applied(NodeId node, const LoggedEntry& entry, Term node_term, uint64_t payload);
  // A node's state machine was loaded from a snapshot (installed, or on a
  // restart): it must equal what every node applied up to that offset.
  void state_loaded(NodeId node, Offset end_offset, uint64_t digest);
  // Linearizable reads: a read answered at read_offset must cover everything
  // committed (applied by any node) before it was issued.
  void read_issued(uint64_t context);
  void read_ready(NodeId node, uint64_t context, Offset read_offset);
  // Any other violation found by the driver (liveness, durability order).
  void fail(const std::string& what);

  bool ok() const { return violation_.empty(); }
  const std::string& violation() const { return violation_; }
  // Highest end offset applied by any node: everything below is committed.
  Offset committed_end_offset() const { return committed_end_offset_; }
  size_t committed_entries() const { return committed_.size(); }
  size_t leaders_seen() const { return leader_of_term_.size(); }

 private:
  struct Committed {
    LoggedEntry entry;
    Term commit_term = 0;  // an upper bound of the term that committed it
  };
  struct AppliedAt {
    uint64_t identity = 0;
    Offset end_offset = 0;
  };
  struct LogKey {
    uint64_t identity = 0;
    uint64_t chain = 0;
    NodeId first_node = kNoNode;
  };

  void check_leader_completeness(NodeId node, Term term, const NodeLog& log);

  std::string violation_;
  std::map<Term, NodeId> leader_of_term_;
  std::map<std::pair<NodeId, Term>, size_t> completeness_checked_;  // index into committed_
  std::map<std::pair<Offset, Term>, LogKey> logged_;
  std::vector<Committed> committed_;
  std::map<Offset, AppliedAt> applied_;       // by start offset
  std::map<Offset, uint64_t> digest_at_end_;  // applied-state digest by end offset
  std::map<uint64_t, Offset> payload_offset_;
  std::map<uint64_t, Offset> read_floor_;  // issued reads: committed end at issue
  Offset committed_end_offset_ = 0;
};

}  // namespace fjord::raft::sim
