// Fetch: read each partition on its owning shard (all shards in parallel), serve
// the record batches as file ranges (sent with sendfile by the network layer),
// and long-poll: with fewer than min_bytes available, wait until a produce moves
// a high watermark or max_wait_ms passes.
#include <fmt/core.h>

#include <boost/asio/this_coro.hpp>
#include <map>

#include "broker/broker.h"
#include "broker/latch.h"
#include "protocol/generated/fetch_request.h"
#include "protocol/generated/fetch_response.h"

namespace fjord::broker {

namespace p = protocol;

namespace {

constexpr int8_t kReadCommitted = 1;

struct FetchItem {
  std::string topic;  // empty if the topic is unknown
  int32_t partition = 0;
  int64_t fetch_offset = 0;
  size_t max_bytes = 0;
  ErrorCode error = ErrorCode::kNone;
  int64_t high_watermark = -1;
  int64_t last_stable_offset = -1;
  int64_t log_start_offset = -1;
  std::vector<storage::AbortedRange> aborted;  // read_committed only
  std::vector<FileRange> ranges;
  size_t bytes = 0;
};

struct FetchState {
  bool read_committed = false;
  std::vector<FetchItem> items;
  std::shared_ptr<Latch> read;  // one arrival per shard hop
};

// Cuts `ranges` down to `budget` bytes. The cut may end inside a batch; clients
// drop a partial batch at the end of a partition's records.
void truncate_ranges(FetchItem& item, size_t budget) {
  size_t kept = 0;
  std::vector<FileRange> out;
  for (auto& range : item.ranges) {
    if (kept >= budget) break;
    const size_t take = std::min<size_t>(range.length, budget - kept);
    range.length = static_cast<uint32_t>(take);
    kept += take;
    out.push_back(std::move(range));
  }
  item.ranges = std::move(out);
  item.bytes = kept;
}

}  // namespace

boost::asio::awaitable<p::FetchResponse> Broker::fetch(const RequestContext& context,
                                                       p::FetchRequest& request) {
  p::FetchResponse response;
  const int16_t version = context.api_version;
  // Fetch sessions (KIP-227) are refused cleanly: session id 0 means "no session
  // was created", so clients keep sending full fetch requests.
  if (version >= 7 && request.session_id != 0) {
    response.error_code = to_wire(ErrorCode::kFetchSessionIdNotFound);
    co_return response;
  }
  if (version >= 7 && request.session_epoch > 0) {
    response.error_code = to_wire(ErrorCode::kInvalidFetchSessionEpoch);
    co_return response;
  }

  const auto image = controller_.image();
  auto state = std::make_shared<FetchState>();
  state->read_committed = version >= 4 && request.isolation_level == kReadCommitted;
  for (const auto& topic : request.topics) {
    const metadata::TopicInfo* info =
        version >= 13 ? image->find(topic.topic_id) : image->find(topic.topic);
    for (const auto& partition : topic.partitions) {
      FetchItem item;
      item.partition = partition.partition;
      item.fetch_offset = partition.fetch_offset;
      item.max_bytes = static_cast<size_t>(std::max(partition.partition_max_bytes, 0));
      if (info == nullptr) {
        item.error =
            version >= 13 ? ErrorCode::kUnknownTopicId : ErrorCode::kUnknownTopicOrPartition;
      } else if (partition.partition < 0 || partition.partition >= info->partition_count) {
        item.error = ErrorCode::kUnknownTopicOrPartition;
      } else if (!leads(*image, *info, partition.partition)) {
        item.error = ErrorCode::kNotLeaderOrFollower;  // no fetching from followers (yet)
      } else {
        item.topic = info->name;
      }
      state->items.push_back(std::move(item));
    }
  }

  auto executor = co_await boost::asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max(request.max_wait_ms, 0));
  const size_t min_bytes = static_cast<size_t>(std::max(request.min_bytes, 0));
  const size_t response_max_bytes =
      version >= 3 ? static_cast<size_t>(std::max(request.max_bytes, 0)) : SIZE_MAX;

  std::map<unsigned, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < state->items.size(); ++i) {
    if (!state->items[i].topic.empty()) {
      by_shard[partitions_.shard_of(state->items[i].topic, state->items[i].partition)].push_back(i);
    }
  }

  for (;;) {
    state->read = Latch::make(executor, by_shard.size());
    // Woken by any of the partitions' high watermarks moving (long polling).
    auto wakeup = Latch::make(executor, 1);
    for (const auto& [shard, indexes] : by_shard) {
      boost::asio::post(partitions_.shards().executor(shard), [this, state, indexes, wakeup] {
        for (size_t i : indexes) {
          FetchItem& item = state->items[i];
          item.ranges.clear();
          item.bytes = 0;
          Partition* partition = partitions_.find(item.topic, item.partition);
          if (partition == nullptr) {
            item.error = ErrorCode::kUnknownTopicOrPartition;
            continue;
          }
          const storage::PartitionLog& log = *partition->log;
          item.high_watermark = partition->high_watermark;
          item.last_stable_offset = log.last_stable_offset(partition->high_watermark);
          item.log_start_offset = log.log_start_offset();
          // read_committed sees only what is below the last stable offset.
          const int64_t visible_end =
              state->read_committed ? item.last_stable_offset : item.high_watermark;
          if (item.fetch_offset < log.log_start_offset() ||
              item.fetch_offset > log.log_end_offset()) {
            item.error = ErrorCode::kOffsetOutOfRange;
            continue;
          }
          item.error = ErrorCode::kNone;
          if (item.fetch_offset >= visible_end) {
            partition->fetch_waiters.push_back(wakeup);
            continue;
          }
          auto read = log.read(item.fetch_offset, item.max_bytes, visible_end);
          if (!read) {
            item.error = read.error().code;
            continue;
          }
          item.ranges = std::move(read->ranges);
          item.bytes = read->bytes;
          if (state->read_committed) {
            item.aborted = log.aborted_transactions(item.fetch_offset, visible_end);
          }
        }
        state->read->count_down();
      });
    }
    co_await state->read->wait();

    size_t total = 0;
    bool any_error = false;
    for (const auto& item : state->items) {
      total += item.bytes;
      any_error = any_error || item.error != ErrorCode::kNone;
    }
    if (total >= min_bytes || any_error || std::chrono::steady_clock::now() >= deadline) break;
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const bool woken = co_await wakeup->wait_for(remaining);
    if (!woken) break;
  }

  // Apply the response byte limit; the first partition with data is never cut
  // (KIP-74: a consumer must always be able to make progress).
  size_t budget = response_max_bytes;
  bool first_with_data = true;
  for (auto& item : state->items) {
    if (item.bytes == 0) continue;
    if (!first_with_data) truncate_ranges(item, budget);
    first_with_data = false;
    budget -= std::min(budget, item.bytes);
  }

  size_t i = 0;
  for (const auto& topic : request.topics) {
    p::FetchResponse::FetchableTopicResponse topic_response;
    topic_response.topic = topic.topic;
    topic_response.topic_id = topic.topic_id;
    for (size_t n = 0; n < topic.partitions.size(); ++n, ++i) {
      FetchItem& item = state->items[i];
      p::FetchResponse::PartitionData data;
      data.partition_index = item.partition;
      data.error_code = to_wire(item.error);
      data.high_watermark = item.high_watermark;
      data.last_stable_offset = item.last_stable_offset;
      data.log_start_offset = item.log_start_offset;
      if (state->read_committed) {
        // Clients drop these producers' batches from first_offset to their ABORT marker.
        std::vector<p::FetchResponse::AbortedTransaction> aborted;
        aborted.reserve(item.aborted.size());
        for (const auto& range : item.aborted) {
          p::FetchResponse::AbortedTransaction entry;
          entry.producer_id = range.producer_id;
          entry.first_offset = range.first_offset;
          aborted.push_back(entry);
        }
        data.aborted_transactions = std::move(aborted);
      }
      data.preferred_read_replica = -1;
      data.records.is_null = false;
      data.records.file_ranges = std::move(item.ranges);
      topic_response.partitions.push_back(std::move(data));
    }
    response.responses.push_back(std::move(topic_response));
  }
  co_return response;
}

}  // namespace fjord::broker
