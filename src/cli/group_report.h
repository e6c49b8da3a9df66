// What `fjord group list|describe` print: aligned tables, per-partition lag.
// Pure functions, so that the arithmetic and the layout are unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/group_types.h"

namespace fjord::cli {

using OffsetMap = std::map<TopicPartitionId, int64_t>;

// Columns padded to their widest cell, separated by two spaces; no trailing blanks.
std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

// Log end offset minus committed offset; nothing when either is unknown. A
// negative lag (a commit beyond the end, e.g. after the topic was recreated)
// is kept: it points at a problem.
std::optional<int64_t> partition_lag(std::optional<int64_t> committed,
                                     std::optional<int64_t> log_end);

// An offset or lag for a table cell: the number, or "-" when unknown.
std::string offset_cell(std::optional<int64_t> value);

// "orders:0,1 payments:3" (sorted by topic, then partition).
std::string format_partitions(std::vector<TopicPartitionId> partitions);

struct PartitionLag {
  TopicPartitionId partition;
  std::optional<int64_t> committed;  // nothing: the group has no commit for it
  std::optional<int64_t> log_end;    // nothing: unknown (topic deleted, no leader)
  std::string member_id;             // empty: assigned to no member
};

// One row per partition that the group has a commit for or that a member owns,
// sorted by topic and partition.
std::vector<PartitionLag> partition_lags(const GroupDescription& group, const OffsetMap& committed,
                                         const OffsetMap& log_ends);

// The sum of the known lags of `lags`.
int64_t total_lag(const std::vector<PartitionLag>& lags);

std::string format_group_list(const std::vector<GroupListing>& groups);

// A group's header line, its members and its partitions with lag.
std::string format_group_description(const GroupDescription& group,
                                     const std::vector<PartitionLag>& lags);

}  // namespace fjord::cli
