// The checker on hand-made histories: each bad history must be reported, and
// the matching good one must not.
#include "raft/simulation/checker.h"

#include <gtest/gtest.h>

namespace fjord::raft::sim {
namespace {

Entry data_entry(Offset offset, Term term, uint8_t payload) {
  Entry entry;
  entry.offset = offset;
  entry.term = term;
  entry.data = std::make_shared<const Bytes>(Bytes{payload});
  return entry;
}

// A log built from entries, with chain digests from offset 0.
NodeLog make_log(const std::vector<Entry>& entries) {
  NodeLog log;
  uint64_t chain = 0;
  for (const Entry& entry : entries) {
    LoggedEntry logged{.offset = entry.offset,
                       .count = entry.count,
                       .term = entry.term,
                       .identity = entry_identity(entry)};
    chain = chain_next(chain, logged.identity);
    logged.chain = chain;
    log.entries.push_back(logged);
  }
  return log;
}

TEST(CheckerTest, TwoLeadersInOneTermViolateElectionSafety) {
  Checker checker;
  checker.leader_seen(1, 3, NodeLog{});
  checker.leader_seen(1, 3, NodeLog{});
  checker.leader_seen(2, 4, NodeLog{});
  EXPECT_TRUE(checker.ok());
  checker.leader_seen(2, 3, NodeLog{});
  EXPECT_FALSE(checker.ok());
  EXPECT_NE(checker.violation().find("election safety"), std::string::npos);
}

TEST(CheckerTest, DifferentEntriesAtOneOffsetAndTermViolateLogMatching) {
  Checker checker;
  NodeLog a = make_log({data_entry(0, 1, 'a')});
  NodeLog b = make_log({data_entry(0, 1, 'b')});
  checker.entry_logged(1, a.entries[0]);
  checker.entry_logged(2, a.entries[0]);
  EXPECT_TRUE(checker.ok());
  checker.entry_logged(3, b.entries[0]);
  EXPECT_NE(checker.violation().find("log matching"), std::string::npos);
}

TEST(CheckerTest, SameEntryAfterDifferentPrefixesViolatesLogMatching) {
  Checker checker;
  NodeLog a = make_log({data_entry(0, 1, 'a'), data_entry(1, 2, 'c')});
  NodeLog b = make_log({data_entry(0, 2, 'b'), data_entry(1, 2, 'c')});
  checker.entry_logged(1, a.entries[1]);
  EXPECT_TRUE(checker.ok());
  checker.entry_logged(2, b.entries[1]);
  EXPECT_NE(checker.violation().find("after different logs"), std::string::npos);
}

TEST(CheckerTest, TwoEntriesAppliedAtOneOffsetViolateStateMachineSafety) {
  Checker checker;
  NodeLog a = make_log({data_entry(0, 1, 'a')});
  NodeLog b = make_log({data_entry(0, 2, 'b')});
  checker.entry_applied(1, a.entries[0], 1, 0);
  checker.entry_applied(2, a.entries[0], 1, 0);  // another node, same entry: fine
  EXPECT_TRUE(checker.ok());
  EXPECT_EQ(checker.committed_end_offset(), 1);
  checker.entry_applied(1, b.entries[0], 2, 0);  // e.g. after a crash, a different one
  EXPECT_NE(checker.violation().find("state machine safety"), std::string::npos);
}

TEST(CheckerTest, AProposalAppliedTwiceIsAViolation) {
  Checker checker;
  NodeLog log = make_log({data_entry(0, 1, 'a'), data_entry(1, 1, 'b')});
  checker.entry_applied(1, log.entries[0], 1, 7);
  checker.entry_applied(1, log.entries[1], 1, 7);
  EXPECT_NE(checker.violation().find("proposal 7"), std::string::npos);
}

TEST(CheckerTest, ALeaderWithoutACommittedEntryViolatesLeaderCompleteness) {
  Checker checker;
  NodeLog committed = make_log({data_entry(0, 1, 'a'), data_entry(1, 1, 'b')});
  checker.entry_applied(1, committed.entries[0], 1, 0);
  checker.entry_applied(1, committed.entries[1], 1, 0);
  checker.leader_seen(1, 1, committed);
  checker.leader_seen(2, 2, committed);
  NodeLog below_snapshot = make_log({});
  below_snapshot.start_offset = 2;
  checker.leader_seen(3, 3, below_snapshot);
  EXPECT_TRUE(checker.ok()) << checker.violation();
  NodeLog missing_one = make_log({data_entry(0, 1, 'a')});
  checker.leader_seen(4, 4, missing_one);
  EXPECT_NE(checker.violation().find("leader completeness"), std::string::npos);
}

TEST(CheckerTest, AnEntryCommittedInALaterTermNeedNotBeInAnEarlierLeadersLog) {
  Checker checker;
  NodeLog committed = make_log({data_entry(0, 5, 'a')});
  checker.entry_applied(1, committed.entries[0], 5, 0);
  checker.leader_seen(2, 4, NodeLog{});  // a stale leader of term 4
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST(CheckerTest, ASnapshotMustEqualWhatWasApplied) {
  Checker checker;
  NodeLog log = make_log({data_entry(0, 1, 'a')});
  checker.entry_applied(1, log.entries[0], 1, 0);
  checker.state_loaded(2, 0, 0);
  checker.state_loaded(2, 1, log.entries[0].chain);
  EXPECT_TRUE(checker.ok()) << checker.violation();
  checker.state_loaded(3, 1, log.entries[0].chain + 1);
  EXPECT_NE(checker.violation().find("snapshot"), std::string::npos);
}

TEST(CheckerTest, ASnapshotAtAnOffsetNeverAppliedIsAViolation) {
  Checker checker;
  checker.state_loaded(2, 5, 0);
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, AReadMustSeeEverythingCommittedBeforeIt) {
  Checker checker;
  NodeLog log = make_log({data_entry(0, 1, 'a'), data_entry(1, 1, 'b')});
  checker.read_issued(1);  // nothing committed yet
  checker.entry_applied(1, log.entries[0], 1, 0);
  checker.entry_applied(1, log.entries[1], 1, 0);
  checker.read_issued(2);  // committed end 2
  checker.read_ready(1, 1, 0);
  checker.read_ready(1, 2, 2);
  EXPECT_TRUE(checker.ok()) << checker.violation();
  checker.read_issued(3);
  checker.read_ready(1, 3, 1);
  EXPECT_NE(checker.violation().find("read index"), std::string::npos);
}

TEST(CheckerTest, AReadNeverIssuedIsAViolation) {
  Checker checker;
  checker.read_ready(1, 99, 0);
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, TheFirstViolationIsKept) {
  Checker checker;
  checker.fail("first");
  checker.fail("second");
  EXPECT_EQ(checker.violation(), "first");
}

}  // namespace
}  // namespace fjord::raft::sim
