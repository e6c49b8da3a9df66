// GoogleTest checks on Raft entries, shared by the storage tests.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "raft/log_storage/test_entries.h"

namespace fjord::raft::testing {

inline void expect_same_entries(const std::vector<Entry>& actual,
                                const std::vector<Entry>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].offset, expected[i].offset) << i;
    EXPECT_EQ(actual[i].count, expected[i].count) << i;
    EXPECT_EQ(actual[i].term, expected[i].term) << i;
    EXPECT_EQ(actual[i].type, expected[i].type) << i;
    EXPECT_EQ(actual[i].config, expected[i].config) << i;
    if (expected[i].type == EntryType::kData) {
      EXPECT_EQ(batch_content(actual[i].data), batch_content(expected[i].data)) << i;
    }
  }
}

}  // namespace fjord::raft::testing
