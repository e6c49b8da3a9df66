// The first offset of every term in a Raft log, in memory, so that term_at()
// needs no disk read (Kafka's leader-epoch cache). One element per term change;
// terms never decrease along a log.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "raft/message.h"

namespace fjord::raft {

class TermIndex {
 public:
  // An entry of `term` starts at `offset`, after every entry already noted.
  // Aborts if the term decreases or the offset goes back (a broken log).
  void note_entry(Offset offset, Term term);
  // Forgets the entries at or after `offset` (suffix truncation).
  void truncate(Offset offset);
  // Forgets the entries below `offset` (the log start moved up).
  void drop_before(Offset offset);
  void clear() { starts_.clear(); }
  // The term of the entry holding `offset`, for offsets the caller knows are in
  // the log; nullopt below the first noted entry.
  std::optional<Term> term_at(Offset offset) const;
  std::optional<Term> last_term() const;
  size_t size() const { return starts_.size(); }

 private:
  std::vector<std::pair<Offset, Term>> starts_;  // (first offset, term), increasing
};

}  // namespace fjord::raft
