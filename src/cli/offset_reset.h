// The plan of `fjord group reset-offsets`: which partitions, where to, and the
// new offset of each, clamped to the partition's log like Kafka does. Pure
// functions; group_commands.cc fetches the inputs and commits the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/group_types.h"
#include "common/result.h"

namespace fjord::cli {

// "--topic orders" (every partition) or "--topic orders:0,2".
struct TopicScope {
  std::string topic;
  std::vector<int32_t> partitions;  // empty: all of the topic's partitions
};
Result<TopicScope> parse_topic_scope(std::string_view text);

// Milliseconds since the epoch, from "1700000000000" or ISO 8601:
// "2024-03-01", "2024-03-01T12:30:00", "2024-03-01T12:30:00.250Z",
// "2024-03-01T12:30:00+02:00". Without a zone the time is UTC.
Result<int64_t> parse_timestamp_ms(std::string_view text);

struct ResetTarget {
  enum class Kind { kEarliest, kLatest, kTimestamp, kOffset };
  Kind kind = Kind::kEarliest;
  int64_t value = 0;  // kTimestamp: ms since the epoch; kOffset: the offset
};

// The one target among the --to-* options (`timestamp` and `offset` as typed).
Result<ResetTarget> choose_reset_target(bool to_earliest, bool to_latest,
                                        const std::optional<std::string>& timestamp,
                                        const std::optional<std::string>& offset);

// What the log of one partition offers.
struct PartitionLog {
  int64_t start_offset = 0;  // the first offset still in the log
  int64_t end_offset = 0;    // the offset the next message gets
  // kTimestamp: the first offset with a timestamp at or after the target;
  // nothing when every message is older.
  std::optional<int64_t> offset_for_time;
};

struct ResetPlanRow {
  TopicPartitionId partition;
  std::optional<int64_t> current;  // the committed offset, nothing without a commit
  int64_t new_offset = 0;
  std::string note;  // why the new offset is not the one asked for, else empty
};

ResetPlanRow plan_partition_reset(const ResetTarget& target, const TopicPartitionId& partition,
                                  std::optional<int64_t> current, const PartitionLog& log);

// The dry-run (or executed) plan as a table.
std::string format_reset_plan(const std::vector<ResetPlanRow>& rows);

}  // namespace fjord::cli
