// Real crashes of the Raft storage: runs crash_writer (append, sometimes
// truncate with a new term, sync, report), kills it with SIGKILL at random
// points, reopens the storage and checks that
// - every entry synced before the kill is there, unless a truncation reported
//   after that sync removed it (a truncation is durable at once);
// - the log is a prefix-consistent Raft log: contiguous entries, terms never
//   decreasing, each entry the one the writer wrote for its offset and term;
// - the hard state is never older than a synced one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <sstream>
#include <string>

#include "raft/log_storage/crash_writer_entries.h"
#include "raft/log_storage/entry_matchers.h"
#include "storage/test_util.h"

namespace fjord::raft {
namespace {

struct Child {
  pid_t pid;
  FILE* out;
};

Child spawn_writer(const std::string& dir, uint32_t seed) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  const std::string seed_text = std::to_string(seed);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(RAFT_CRASH_WRITER, RAFT_CRASH_WRITER, dir.c_str(), seed_text.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  return Child{pid, ::fdopen(fds[0], "r")};
}

struct Synced {
  Offset end = 0;
  Term hard_term = 0;
  std::vector<std::pair<Offset, Term>> terms;  // first offset of each term
  Term term_at(Offset offset) const {
    Term term = -1;
    for (const auto& [start, t] : terms) {
      if (start <= offset) term = t;
    }
    return term;
  }
};

// What the writer reported: the last sync, and the lowest truncation after it.
struct Report {
  std::optional<Synced> synced;
  std::optional<Offset> truncated_after_sync;
  int lines = 0;
};

bool read_line(FILE* in, Report& report) {
  char buffer[1 << 16];
  if (!std::fgets(buffer, sizeof buffer, in)) return false;
  std::istringstream line(buffer);
  std::string kind;
  line >> kind;
  if (kind == "T") {
    Offset offset = 0;
    line >> offset;
    report.truncated_after_sync = std::min(report.truncated_after_sync.value_or(offset), offset);
  } else if (kind == "S") {
    Synced s;
    size_t count = 0;
    line >> s.end >> s.hard_term >> count;
    for (size_t i = 0; i < count; ++i) {
      std::pair<Offset, Term> p;
      line >> p.first >> p.second;
      s.terms.push_back(p);
    }
    if (!line) return false;  // a line cut short by the kill
    report.synced = std::move(s);
    report.truncated_after_sync.reset();
  }
  ++report.lines;
  return true;
}

void check_recovered(const LogStorage& s, const Report& report) {
  ASSERT_TRUE(report.synced);
  const Synced& synced = *report.synced;
  EXPECT_GE(s.hard_state().term, synced.hard_term);
  const Offset kept = std::min(synced.end, report.truncated_after_sync.value_or(synced.end));
  ASSERT_GE(s.end_offset(), kept);
  const auto entries = s.entries(0, INT64_MAX, SIZE_MAX);
  Offset expected_offset = 0;
  Term last_term = 0;
  for (const Entry& e : entries) {
    ASSERT_EQ(e.offset, expected_offset);
    ASSERT_GE(e.term, last_term);
    if (e.offset < kept) {
      ASSERT_EQ(e.term, synced.term_at(e.offset)) << "synced entry at " << e.offset << " lost";
    }
    if (e.type == EntryType::kData) {
      testing::expect_same_entries({e}, {testing::crash_data_entry(e.offset, e.term)});
    } else {
      ASSERT_EQ(e.type, EntryType::kLeaderChange);
    }
    expected_offset = e.end_offset();
    last_term = e.term;
  }
  EXPECT_EQ(expected_offset, s.end_offset());
}

TEST(LogStorageKill9, SyncedEntriesAndHardStateSurviveSigkill) {
  storage::testing::TempDir tmp;
  const std::string dir = (tmp.path() / "__cluster_metadata-0").string();
  std::mt19937 rng(std::random_device{}());
  int lines = 0;
  for (int round = 0; round < 8; ++round) {
    Child child = spawn_writer(dir, static_cast<uint32_t>(rng()));
    Report report;
    const int wait_for = 5 + static_cast<int>(rng() % 60);
    for (int i = 0; i < wait_for && read_line(child.out, report); ++i) {
    }
    ::usleep(rng() % 3000);  // land the kill anywhere in append, truncate or sync
    ::kill(child.pid, SIGKILL);
    while (read_line(child.out, report)) {
    }
    ::fclose(child.out);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed on its own in round " << round;
    lines += report.lines;

    auto opened = LogStorage::open(dir, testing::crash_writer_options());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    check_recovered(**opened, report);
    if (HasFatalFailure()) return;
    if (round % 2 == 0) {
      ASSERT_TRUE((*opened)->close().ok());  // odd rounds: crash again
    }
  }
  std::printf("checked %d reports over 8 SIGKILLs\n", lines);
}

}  // namespace
}  // namespace fjord::raft
