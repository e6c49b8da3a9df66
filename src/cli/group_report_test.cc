#include "cli/group_report.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

TEST(FormatTable, PadsColumnsToTheWidestCellAndTrimsLineEnds) {
  EXPECT_EQ(format_table({"A", "LONG-HEADER", "C"}, {{"wide-cell", "x", ""}, {"y", "z", "last"}}),
            "A          LONG-HEADER  C\n"
            "wide-cell  x\n"
            "y          z            last\n");
}

TEST(FormatTable, PrintsTheHeaderWithoutRows) {
  EXPECT_EQ(format_table({"GROUP", "STATE"}, {}), "GROUP  STATE\n");
}

TEST(PartitionLag, IsLogEndMinusCommitted) {
  EXPECT_EQ(partition_lag(40, 100), 60);
  EXPECT_EQ(partition_lag(100, 100), 0);
}

TEST(PartitionLag, IsUnknownWithoutACommitOrALogEnd) {
  EXPECT_EQ(partition_lag(std::nullopt, 100), std::nullopt);
  EXPECT_EQ(partition_lag(5, std::nullopt), std::nullopt);
}

TEST(PartitionLag, KeepsANegativeLagOfACommitBeyondTheEnd) {
  EXPECT_EQ(partition_lag(120, 100), -20);
}

TEST(OffsetCell, PrintsADashForUnknown) {
  EXPECT_EQ(offset_cell(std::nullopt), "-");
  EXPECT_EQ(offset_cell(0), "0");
}

TEST(FormatPartitions, GroupsByTopicInOrder) {
  EXPECT_EQ(format_partitions({{"orders", 1}, {"audit", 0}, {"orders", 0}}), "audit:0 orders:0,1");
  EXPECT_EQ(format_partitions({}), "");
}

GroupDescription two_member_group() {
  GroupDescription group;
  group.name = "billing";
  group.state = "Stable";
  group.protocol_type = "consumer";
  group.protocol = "range";
  group.coordinator = 1;
  group.members = {
      {"member-a", "", "client-a", "/127.0.0.1", {{"orders", 0}, {"orders", 1}}},
      {"member-b", "static-b", "client-b", "/127.0.0.2", {{"orders", 2}}},
  };
  return group;
}

TEST(PartitionLags, JoinsCommitsLogEndsAndOwners) {
  const OffsetMap committed = {{{"orders", 0}, 10}, {{"orders", 2}, 7}, {{"old", 0}, 3}};
  const OffsetMap log_ends = {{{"orders", 0}, 15}, {{"orders", 1}, 4}, {{"orders", 2}, 7}};
  const auto lags = partition_lags(two_member_group(), committed, log_ends);
  ASSERT_EQ(lags.size(), 4u);
  // Sorted by topic then partition; "old" has a commit but no owner and no known end.
  EXPECT_EQ(lags[0].partition, (TopicPartitionId{"old", 0}));
  EXPECT_EQ(lags[0].committed, 3);
  EXPECT_EQ(lags[0].log_end, std::nullopt);
  EXPECT_EQ(lags[0].member_id, "");
  EXPECT_EQ(lags[1].partition, (TopicPartitionId{"orders", 0}));
  EXPECT_EQ(lags[1].member_id, "member-a");
  EXPECT_EQ(partition_lag(lags[1].committed, lags[1].log_end), 5);
  EXPECT_EQ(lags[2].partition, (TopicPartitionId{"orders", 1}));
  EXPECT_EQ(lags[2].committed, std::nullopt);
  EXPECT_EQ(lags[2].log_end, 4);
  EXPECT_EQ(lags[3].member_id, "member-b");
  EXPECT_EQ(total_lag(lags), 5);
}

TEST(FormatGroupList, ShowsStateAndProtocolTypeWithADashForNone) {
  EXPECT_EQ(format_group_list({{"a", "Stable", "consumer"}, {"offsets-only", "Empty", ""}}),
            "GROUP         STATE   PROTOCOL-TYPE\n"
            "a             Stable  consumer\n"
            "offsets-only  Empty   -\n");
}

TEST(FormatGroupDescription, ShowsMembersAndPartitionsWithLag) {
  const GroupDescription group = two_member_group();
  const auto lags = partition_lags(group, {{{"orders", 0}, 10}}, {{{"orders", 0}, 15}});
  EXPECT_EQ(format_group_description(group, lags),
            "Group: billing  State: Stable  Protocol: consumer/range  Members: 2  "
            "Coordinator: 1  Total lag: 5\n"
            "\n"
            "MEMBER-ID  INSTANCE-ID  CLIENT-ID  HOST        PARTITIONS\n"
            "member-a   -            client-a   /127.0.0.1  orders:0,1\n"
            "member-b   static-b     client-b   /127.0.0.2  orders:2\n"
            "\n"
            "TOPIC   PARTITION  COMMITTED-OFFSET  LOG-END-OFFSET  LAG  MEMBER-ID\n"
            "orders  0          10                15              5    member-a\n"
            "orders  1          -                 -               -    member-a\n"
            "orders  2          -                 -               -    member-b\n");
}

TEST(FormatGroupDescription, SaysSoWhenThereAreNoMembersOrPartitions) {
  GroupDescription group;
  group.name = "idle";
  group.state = "Empty";
  EXPECT_EQ(format_group_description(group, {}),
            "Group: idle  State: Empty  Protocol: -  Members: 0  Coordinator: -  Total lag: 0\n"
            "\n"
            "(no active members)\n"
            "\n"
            "(no committed offsets and no assigned partitions)\n");
}

}  // namespace
}  // namespace fjord::cli
