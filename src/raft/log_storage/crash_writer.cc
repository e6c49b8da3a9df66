// Test helper for log_storage_kill9_test: appends entries to the Raft storage
// in argv[1] forever, now and then replacing a few of the last ones with a new
// term's (a follower truncating), syncing after every step. It prints
//   T <offset>                        before a truncation at <offset>
//   S <end> <term> <n> <o1> <t1> ...  after each sync: the log end, the synced
//                                     hard state's term, and the first offset of
//                                     each of the n terms in the log
// so that the test can check what survives a SIGKILL.
#include <cstdio>
#include <random>
#include <string>

#include "raft/log_storage/crash_writer_entries.h"

namespace fjord::raft {
namespace {

void print_synced(const LogStorage& s, const std::vector<std::pair<Offset, Term>>& terms) {
  std::string line = "S " + std::to_string(s.end_offset()) + " " +
                     std::to_string(s.hard_state().term) + " " + std::to_string(terms.size());
  for (const auto& [offset, term] : terms) {
    line += " " + std::to_string(offset) + " " + std::to_string(term);
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int run(const char* dir, uint32_t seed) {
  auto opened = LogStorage::open(dir, testing::crash_writer_options());
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return 1;
  }
  LogStorage& s = **opened;
  std::mt19937 rng(seed);
  // Entry starts and the term index of the log, read back once.
  std::vector<Offset> starts;
  std::vector<std::pair<Offset, Term>> terms;
  for (const Entry& e : s.entries(0, INT64_MAX, SIZE_MAX)) {
    starts.push_back(e.offset);
    if (terms.empty() || terms.back().second != e.term) terms.emplace_back(e.offset, e.term);
  }
  Term term = std::max<Term>(s.hard_state().term, terms.empty() ? 0 : terms.back().second);
  print_synced(s, terms);
  while (true) {
    std::vector<Entry> entries;
    Offset at = s.end_offset();
    if (term == 0 || (rng() % 8 == 0 && !starts.empty())) {
      const size_t back = 1 + rng() % std::min<size_t>(5, starts.size() + 1);
      if (back <= starts.size()) at = starts[starts.size() - back];
      ++term;
      s.save_hard_state({term, 1});
      std::printf("T %lld\n", static_cast<long long>(at));
      std::fflush(stdout);
      while (!starts.empty() && starts.back() >= at) starts.pop_back();
      while (!terms.empty() && terms.back().first >= at) terms.pop_back();
      entries.push_back(testing::control_entry(at, term, EntryType::kLeaderChange));
    }
    const int data_entries = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < data_entries; ++i) {
      const Offset offset = entries.empty() ? at : entries.back().end_offset();
      entries.push_back(testing::crash_data_entry(offset, term));
    }
    s.append(entries);
    for (const Entry& e : entries) {
      starts.push_back(e.offset);
      if (terms.empty() || terms.back().second != e.term) terms.emplace_back(e.offset, e.term);
    }
    s.sync();
    print_synced(s, terms);
  }
}

}  // namespace
}  // namespace fjord::raft

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <group dir> <seed>\n", argv[0]);
    return 2;
  }
  return fjord::raft::run(argv[1], static_cast<uint32_t>(std::stoul(argv[2])));
}
