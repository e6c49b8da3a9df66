#include "raft/log_storage/term_index.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace fjord::raft {

void TermIndex::note_entry(Offset offset, Term term) {
  if (!starts_.empty()) {
    const auto& [last_offset, last_term] = starts_.back();
    if (term < last_term || offset < last_offset) {
      std::fprintf(stderr, "fjord: raft log: entry at %lld of term %lld after term %lld at %lld\n",
                   static_cast<long long>(offset), static_cast<long long>(term),
                   static_cast<long long>(last_term), static_cast<long long>(last_offset));
      std::abort();  // terms never decrease along a Raft log
    }
    if (term == last_term) return;
  }
  starts_.emplace_back(offset, term);
}

void TermIndex::truncate(Offset offset) {
  while (!starts_.empty() && starts_.back().first >= offset) starts_.pop_back();
}

void TermIndex::drop_before(Offset offset) {
  // Keep the term that covers `offset`: the last one starting at or below it.
  auto covering = std::upper_bound(starts_.begin(), starts_.end(), offset,
                                   [](Offset o, const auto& start) { return o < start.first; });
  if (covering == starts_.begin()) return;
  --covering;
  covering->first = offset;
  starts_.erase(starts_.begin(), covering);
}

std::optional<Term> TermIndex::term_at(Offset offset) const {
  auto after = std::upper_bound(starts_.begin(), starts_.end(), offset,
                                [](Offset o, const auto& start) { return o < start.first; });
  if (after == starts_.begin()) return std::nullopt;
  return std::prev(after)->second;
}

std::optional<Term> TermIndex::last_term() const {
  if (starts_.empty()) return std::nullopt;
  return starts_.back().second;
}

}  // namespace fjord::raft
