// Topic-level log settings, named after Kafka's topic config keys.
#pragma once

#include <cstdint>

namespace fjord::storage {

enum class CleanupPolicy { kDelete, kCompact, kCompactDelete };

struct LogConfig {
  int64_t segment_bytes = 1073741824;                     // segment.bytes
  int64_t segment_ms = 604800000;                         // segment.ms
  int64_t retention_ms = 604800000;                       // retention.ms (-1 unlimited)
  int64_t retention_bytes = -1;                           // retention.bytes (-1 unlimited)
  CleanupPolicy cleanup_policy = CleanupPolicy::kDelete;  // cleanup.policy
  int64_t delete_retention_ms = 86400000;                 // delete.retention.ms
  int64_t min_compaction_lag_ms = 0;                      // min.compaction.lag.ms
  double min_cleanable_dirty_ratio = 0.5;                 // min.cleanable.dirty.ratio
  int32_t max_message_bytes = 1048588;                    // max.message.bytes
  // flush.messages: 1 = every acked write is fsynced (group commit) before the ack.
  int64_t flush_messages = 1;
  int64_t flush_ms = INT64_MAX;                // flush.ms
  int32_t index_interval_bytes = 4096;         // index.interval.bytes
  int32_t segment_index_bytes = 10485760;      // segment.index.bytes (roll when full)
  bool log_append_time = false;                // message.timestamp.type=LogAppendTime
};

inline bool has_delete(CleanupPolicy p) { return p != CleanupPolicy::kCompact; }
inline bool has_compact(CleanupPolicy p) { return p != CleanupPolicy::kDelete; }

}  // namespace fjord::storage
