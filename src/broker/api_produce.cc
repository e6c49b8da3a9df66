// Produce: validate each partition's batches on the connection's shard, append
// them on the owning shards (all shards in parallel, each in request order), and
// answer acks=all only once the data is on disk (group commit in the Syncer).
#include <fmt/core.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <map>

#include "broker/broker.h"
#include "broker/latch.h"
#include "protocol/generated/produce_request.h"
#include "protocol/generated/produce_response.h"
#include "records/validate.h"

namespace fjord::broker {

namespace p = protocol;

namespace {

struct PartitionWork {
  const std::string* topic = nullptr;
  int32_t index = 0;
  std::span<uint8_t> records;  // validated batches, mutable: offsets are assigned in place
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  int64_t base_offset = -1;
  int64_t log_append_time_ms = -1;
  int64_t log_start_offset = -1;
};

struct ProduceState {
  std::vector<PartitionWork> work;
  std::shared_ptr<Latch> appended;  // one arrival per shard hop
  std::shared_ptr<Latch> durable;   // one arrival per acks=all partition
};

std::string topic_config(const metadata::TopicInfo& topic, const metadata::ConfigMap& defaults,
                         std::string_view name) {
  return metadata::effective_topic_config(*metadata::find_topic_config(name), topic.configs,
                                          defaults)
      .value;
}

// Produce versions below 7 predate zstd; Kafka refuses zstd batches on them.
constexpr int16_t kFirstZstdProduceVersion = 7;

ErrorCode validate(int16_t version, const metadata::ConfigMap& defaults,
                   const p::ProduceRequest::PartitionProduceData& data,
                   const metadata::TopicInfo* topic, PartitionWork& work) {
  if (topic == nullptr || data.index < 0 || data.index >= topic->partition_count) {
    return ErrorCode::kUnknownTopicOrPartition;
  }
  if (data.records.is_null || data.records.bytes.empty()) {
    work.error_message = "no record batch";
    return ErrorCode::kInvalidRecord;
  }
  records::ValidationLimits limits;
  limits.max_message_bytes = static_cast<size_t>(
      metadata::config_long(topic_config(*topic, defaults, "max.message.bytes")));
  // Compaction keeps the latest value per key, so a compacted topic needs keys.
  limits.require_keys =
      topic_config(*topic, defaults, "cleanup.policy").find("compact") != std::string::npos;
  auto validated = records::validate_produce_records(data.records.bytes, limits);
  if (!validated) {
    work.error_message = validated.error().message;
    return validated.error().code;
  }
  for (const auto& batch : validated->batches) {
    if (batch.header.compression() == records::Compression::kZstd &&
        version < kFirstZstdProduceVersion) {
      work.error_message = "zstd needs Produce v7 or later";
      return ErrorCode::kUnsupportedCompressionType;
    }
  }
  // The request frame is owned by this request's coroutine; its record bytes are
  // rewritten in place (base offsets) before they go to disk unchanged otherwise.
  work.records = std::span<uint8_t>(const_cast<uint8_t*>(data.records.bytes.data()),
                                    data.records.bytes.size());
  // Kafka stores the true largest record timestamp in the header (CreateTime).
  for (const auto& batch : validated->batches) {
    if (batch.header_max_timestamp_differs) {
      records::set_max_timestamp(work.records.subspan(batch.position_bytes, batch.size_bytes),
                                 batch.max_timestamp);
    }
  }
  return ErrorCode::kNone;
}

}  // namespace

boost::asio::awaitable<net::HandlerResult> Broker::produce(const p::RequestHeaderView& header,
                                                           std::span<const uint8_t> body,
                                                           const RequestContext& context) {
  p::ProduceRequest request;
  p::Reader reader(body);
  request.decode(reader, header.api_version);
  if (!reader.ok()) {
    fmt::print(stderr, "fjord: closing connection {}: malformed produce request: {}\n",
               context.connection->id, reader.error());
    co_return net::HandlerResult{net::HandlerResult::Kind::kClose, {}};
  }
  p::ProduceResponse response = co_await produce_partitions(context, request);
  if (request.acks == 0) {
    // acks=0 gets no response; an error is signalled by closing the connection,
    // as Kafka does, so that the client notices and refreshes its metadata.
    for (const auto& topic : response.responses) {
      for (const auto& partition : topic.partition_responses) {
        if (partition.error_code != 0) {
          co_return net::HandlerResult{net::HandlerResult::Kind::kClose, {}};
        }
      }
    }
    co_return net::HandlerResult{net::HandlerResult::Kind::kNoResponse, {}};
  }
  net::HandlerResult result;
  p::Writer writer(result.response);
  p::write_response_header(writer, header.api_key, header.api_version, header.correlation_id);
  response.encode(writer, header.api_version);
  co_return result;
}

boost::asio::awaitable<p::ProduceResponse> Broker::produce_partitions(const RequestContext& context,
                                                                      p::ProduceRequest& request) {
  const auto image = controller_.image();
  const bool wait_durable = request.acks == -1;
  const bool acks_valid = request.acks == -1 || request.acks == 0 || request.acks == 1;
  auto state = std::make_shared<ProduceState>();
  for (const auto& topic : request.topic_data) {
    const metadata::TopicInfo* info = image->find(topic.name);
    for (const auto& data : topic.partition_data) {
      PartitionWork work;
      work.topic = &topic.name;
      work.index = data.index;
      work.error = acks_valid ? validate(context.api_version, partitions_.broker_defaults(), data,
                                         info, work)
                              : ErrorCode::kInvalidRequiredAcks;
      // Only the coordinators write their own logs (Kafka answers the same).
      if (topic.name == kOffsetsTopic || topic.name == kTransactionStateTopic) {
        work.error = ErrorCode::kInvalidTopicException;
      }
      if (work.error == ErrorCode::kNone && !leads(*image, *info, data.index)) {
        work.error = ErrorCode::kNotLeaderOrFollower;  // the client refreshes its metadata
      }
      state->work.push_back(std::move(work));
    }
  }

  // Group the valid partitions by owning shard; one hop per shard.
  std::map<unsigned, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < state->work.size(); ++i) {
    if (state->work[i].error == ErrorCode::kNone) {
      by_shard[partitions_.shard_of(*state->work[i].topic, state->work[i].index)].push_back(i);
    }
  }
  size_t durable_count = 0;
  if (wait_durable) {
    for (const auto& [shard, indexes] : by_shard) durable_count += indexes.size();
  }
  auto executor = co_await boost::asio::this_coro::executor;
  state->appended = Latch::make(executor, by_shard.size());
  state->durable = Latch::make(executor, durable_count);
  const int64_t now_ms = wall_clock_ms();

  for (auto& [shard, indexes] : by_shard) {
    // Runs on the owner shard. Results are written back on the caller's executor.
    auto append_all = [this, state, indexes = std::move(indexes), executor, wait_durable,
                       now_ms]() {
      for (size_t i : indexes) {
        PartitionWork& work = state->work[i];
        auto report = [state, i, executor](ErrorCode code, std::string message) {
          boost::asio::post(executor, [state, i, code, message = std::move(message)] {
            if (code != ErrorCode::kNone) {
              state->work[i].error = code;
              state->work[i].error_message = message;
            }
            state->durable->arrive();
          });
        };
        Partition* partition = partitions_.find(*work.topic, work.index);
        if (partition == nullptr) {
          if (wait_durable) report(ErrorCode::kNotLeaderOrFollower, "partition is not open here");
          continue;
        }
        if (wait_durable && partition->min_insync_replicas > 1) {
          report(ErrorCode::kNotEnoughReplicas,
                 fmt::format("min.insync.replicas is {} but this partition has 1 in-sync replica",
                             partition->min_insync_replicas));
          continue;
        }
        auto appended = partition->log->append(work.records, now_ms);
        if (!appended) {
          if (wait_durable) report(appended.error().code, appended.error().message);
          continue;
        }
        // Written here, read by the caller only after the latch it waits on opens.
        work.base_offset = appended->base_offset;
        work.log_append_time_ms = appended->log_append_time_ms;
        work.log_start_offset = partition->log->log_start_offset();
        if (appended->duplicate) {
          // A retry of a batch already appended: answer once the original is
          // durable (it may still be waiting for its fsync).
          if (wait_durable) {
            partitions_.when_durable(*partition, appended->last_offset,
                                     [report](ErrorCode code) { report(code, {}); });
          }
          continue;
        }
        if (partition->sync_every_write) {
          if (wait_durable) {
            partitions_.when_durable(*partition, appended->last_offset,
                                     [report](ErrorCode code) { report(code, {}); });
          } else {
            partitions_.request_sync(*partition);
          }
        } else {
          partition->high_watermark = partition->log->log_end_offset();
          partitions_.publish_high_watermark(*partition);
          if (wait_durable) report(ErrorCode::kNone, {});
        }
      }
      boost::asio::post(executor, [state] { state->appended->arrive(); });
    };
    boost::asio::post(partitions_.shards().executor(shard), std::move(append_all));
  }
  // The appends always finish (they read the request's buffer); only waiting for
  // durability is bounded by the request's timeout.
  co_await state->appended->wait();
  const bool finished =
      co_await state->durable->wait_for(std::chrono::milliseconds(std::max(request.timeout_ms, 0)));

  p::ProduceResponse response;
  size_t i = 0;
  for (const auto& topic : request.topic_data) {
    p::ProduceResponse::TopicProduceResponse topic_response;
    topic_response.name = topic.name;
    for (size_t n = 0; n < topic.partition_data.size(); ++n, ++i) {
      const PartitionWork& work = state->work[i];
      p::ProduceResponse::PartitionProduceResponse partition;
      partition.index = work.index;
      ErrorCode error = work.error;
      if (!finished && error == ErrorCode::kNone) error = ErrorCode::kRequestTimedOut;
      partition.error_code = to_wire(error);
      if (error == ErrorCode::kNone) {
        partition.base_offset = work.base_offset;
        partition.log_append_time_ms = work.log_append_time_ms;
        partition.log_start_offset = work.log_start_offset;
      } else {
        partition.base_offset = -1;
        if (!work.error_message.empty()) partition.error_message = work.error_message;
      }
      topic_response.partition_responses.push_back(std::move(partition));
    }
    response.responses.push_back(std::move(topic_response));
  }
  co_return response;
}

}  // namespace fjord::broker
