#include "raft/log_storage/term_index.h"

#include <gtest/gtest.h>

namespace fjord::raft {
namespace {

TEST(TermIndex, AnswersForEveryOffsetOfATerm) {
  TermIndex index;
  EXPECT_EQ(index.term_at(0), std::nullopt);
  index.note_entry(0, 1);
  index.note_entry(3, 1);  // same term: no new element
  index.note_entry(5, 2);
  index.note_entry(9, 4);
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.term_at(0), 1);
  EXPECT_EQ(index.term_at(4), 1);
  EXPECT_EQ(index.term_at(5), 2);
  EXPECT_EQ(index.term_at(8), 2);
  EXPECT_EQ(index.term_at(100), 4);
  EXPECT_EQ(index.last_term(), 4);
}

TEST(TermIndex, TruncateForgetsTheSuffix) {
  TermIndex index;
  index.note_entry(0, 1);
  index.note_entry(5, 2);
  index.note_entry(9, 4);
  index.truncate(6);  // term 2 still starts below 6
  EXPECT_EQ(index.last_term(), 2);
  index.note_entry(6, 5);
  EXPECT_EQ(index.term_at(5), 2);
  EXPECT_EQ(index.term_at(6), 5);
  index.truncate(0);
  EXPECT_EQ(index.size(), 0u);
}

TEST(TermIndex, DropBeforeKeepsTheCoveringTerm) {
  TermIndex index;
  index.note_entry(0, 1);
  index.note_entry(5, 2);
  index.note_entry(9, 4);
  index.drop_before(7);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.term_at(6), std::nullopt);
  EXPECT_EQ(index.term_at(7), 2);
  EXPECT_EQ(index.term_at(9), 4);
}

TEST(TermIndexDeathTest, ADecreasingTermIsABrokenLog) {
  TermIndex index;
  index.note_entry(0, 3);
  EXPECT_DEATH(index.note_entry(1, 2), "after term 3");
}

}  // namespace
}  // namespace fjord::raft
