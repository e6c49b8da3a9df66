// Checks of request fields that more than one API makes the same way (the group
// APIs, the transaction APIs and TxnOffsetCommit), so that they answer alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error_code.h"
#include "groups/offsets_records.h"
#include "metadata/image.h"

namespace fjord::broker {

// Group ids are keys of __consumer_offsets records, whose strings are short.
inline bool invalid_group_id(const std::string& group_id) {
  return group_id.empty() || group_id.size() > groups::kMaxKeyStringBytes;
}

inline bool partition_exists(const metadata::TopicInfo* topic, int32_t partition) {
  return topic != nullptr && partition >= 0 && partition < topic->partition_count;
}

// Why one partition's offset (plain or transactional) cannot be committed, or
// kNone; `topic` is null when the topic is unknown.
inline ErrorCode offset_commit_error(const metadata::TopicInfo* topic, int32_t partition,
                                     const std::string& metadata, int32_t max_metadata_bytes) {
  if (!partition_exists(topic, partition)) return ErrorCode::kUnknownTopicOrPartition;
  if (metadata.size() > static_cast<size_t>(max_metadata_bytes)) {
    return ErrorCode::kOffsetMetadataTooLarge;
  }
  return ErrorCode::kNone;
}

}  // namespace fjord::broker
