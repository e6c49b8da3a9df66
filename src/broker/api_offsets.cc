// Offset APIs: ListOffsets (earliest, latest, by timestamp, max timestamp) and
// DeleteRecords (advance the log start offset).
#include <fmt/core.h>

#include "broker/broker.h"
#include "broker/cross_shard.h"
#include "protocol/generated/delete_records_request.h"
#include "protocol/generated/delete_records_response.h"
#include "protocol/generated/list_offsets_request.h"
#include "protocol/generated/list_offsets_response.h"

namespace fjord::broker {

namespace p = protocol;

namespace {

constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr int64_t kEarliestLocal = -4;
constexpr int64_t kLatestTiered = -5;

struct OffsetAnswer {
  ErrorCode error = ErrorCode::kNone;
  int64_t offset = -1;
  int64_t timestamp = -1;
};

// On the owner shard. Offsets at or past the high watermark are not visible yet.
// read_committed (ListOffsets v2+) sees only what is below the last stable offset.
OffsetAnswer lookup_offset(Partition& partition, int64_t timestamp, bool read_committed) {
  const storage::PartitionLog& log = *partition.log;
  const int64_t high_watermark =
      read_committed ? log.last_stable_offset(partition.high_watermark) : partition.high_watermark;
  switch (timestamp) {
    case kLatest:
      return {ErrorCode::kNone, high_watermark, -1};
    case kEarliest:
    case kEarliestLocal:
      return {ErrorCode::kNone, log.log_start_offset(), -1};
    case kLatestTiered:
      return {ErrorCode::kNone, -1, -1};  // no tiered storage
    case kMaxTimestamp: {
      auto max = log.max_timestamp_and_offset();
      if (!max || max->second >= high_watermark) return {};
      return {ErrorCode::kNone, max->second, max->first};
    }
    default: {
      if (timestamp < 0) return {ErrorCode::kInvalidRequest, -1, -1};
      auto found = log.offset_for_timestamp(timestamp);
      if (!found || found->second >= high_watermark) return {};
      return {ErrorCode::kNone, found->second, found->first};
    }
  }
}

}  // namespace

boost::asio::awaitable<p::ListOffsetsResponse> Broker::list_offsets(
    const RequestContext& context, p::ListOffsetsRequest& request) {
  p::ListOffsetsResponse response;
  const auto image = controller_.image();
  const bool read_committed = context.api_version >= 2 && request.isolation_level == 1;
  for (const auto& topic : request.topics) {
    p::ListOffsetsResponse::ListOffsetsTopicResponse topic_response;
    topic_response.name = topic.name;
    const metadata::TopicInfo* info = image->find(topic.name);
    for (const auto& wanted : topic.partitions) {
      p::ListOffsetsResponse::ListOffsetsPartitionResponse answer;
      answer.partition_index = wanted.partition_index;
      OffsetAnswer found{ErrorCode::kUnknownTopicOrPartition, -1, -1};
      const bool exists = info != nullptr && wanted.partition_index >= 0 &&
                          wanted.partition_index < info->partition_count;
      if (exists && !leads(*image, *info, wanted.partition_index)) {
        found = OffsetAnswer{ErrorCode::kNotLeaderOrFollower, -1, -1};
      } else if (exists) {
        found = co_await run_on(
            partitions_.shards(), partitions_.shard_of(topic.name, wanted.partition_index), [&] {
              Partition* partition = partitions_.find(topic.name, wanted.partition_index);
              if (partition == nullptr) {
                return OffsetAnswer{ErrorCode::kNotLeaderOrFollower, -1, -1};
              }
              return lookup_offset(*partition, wanted.timestamp, read_committed);
            });
      }
      answer.error_code = to_wire(found.error);
      answer.offset = found.offset;
      answer.timestamp = found.timestamp;
      answer.leader_epoch = 0;
      if (context.api_version == 0 && found.error == ErrorCode::kNone && found.offset >= 0 &&
          wanted.max_num_offsets > 0) {
        answer.old_style_offsets = {found.offset};
      }
      topic_response.partitions.push_back(std::move(answer));
    }
    response.topics.push_back(std::move(topic_response));
  }
  co_return response;
}

boost::asio::awaitable<p::DeleteRecordsResponse> Broker::delete_records(
    const RequestContext& context, p::DeleteRecordsRequest& request) {
  p::DeleteRecordsResponse response;
  const auto image = controller_.image();
  for (const auto& topic : request.topics) {
    p::DeleteRecordsResponse::DeleteRecordsTopicResult topic_result;
    topic_result.name = topic.name;
    const metadata::TopicInfo* info = image->find(topic.name);
    for (const auto& wanted : topic.partitions) {
      p::DeleteRecordsResponse::DeleteRecordsPartitionResult result;
      result.partition_index = wanted.partition_index;
      result.low_watermark = -1;
      if (info == nullptr || wanted.partition_index < 0 ||
          wanted.partition_index >= info->partition_count) {
        result.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
        topic_result.partitions.push_back(std::move(result));
        continue;
      }
      if (!leads(*image, *info, wanted.partition_index)) {
        result.error_code = to_wire(ErrorCode::kNotLeaderOrFollower);
        topic_result.partitions.push_back(std::move(result));
        continue;
      }
      auto outcome = co_await run_on(
          partitions_.shards(), partitions_.shard_of(topic.name, wanted.partition_index),
          [&]() -> Result<int64_t> {
            Partition* partition = partitions_.find(topic.name, wanted.partition_index);
            if (partition == nullptr) return Error{ErrorCode::kNotLeaderOrFollower, ""};
            // -1 means "up to the high watermark".
            const int64_t offset = wanted.offset == -1 ? partition->high_watermark : wanted.offset;
            if (offset < 0 || offset > partition->high_watermark) {
              return Error{ErrorCode::kOffsetOutOfRange, ""};
            }
            return partition->log->delete_records_before(offset);
          });
      if (outcome) {
        result.low_watermark = *outcome;
      } else {
        result.error_code = to_wire(outcome.error().code);
      }
      topic_result.partitions.push_back(std::move(result));
    }
    response.topics.push_back(std::move(topic_result));
  }
  co_return response;
}

}  // namespace fjord::broker
