#include "consumer_session.h"

#include <fmt/core.h>

namespace fjord::bench {
namespace {

constexpr int kMetadataTimeoutMs = 10000;

}  // namespace

Result<std::unique_ptr<ConsumerSession>> ConsumerSession::open(const LoadOptions& options,
                                                               Settings settings) {
  std::unique_ptr<ConsumerSession> session(new ConsumerSession(std::move(settings)));
  auto handle = make_consumer(session->settings_);
  if (!handle.ok()) return handle.error();
  session->handle_ = std::move(handle).value();
  auto partitions = partition_count(session->handle_.get(), options.topic, kMetadataTimeoutMs);
  if (!partitions.ok()) return partitions.error();
  session->partitions_ = *partitions;
  session->topic_name_ = options.topic;
  auto topic = open_topic(session->handle_.get(), options.topic);
  if (!topic.ok()) return topic.error();
  session->topic_ = std::move(topic).value();
  session->queue_.reset(rd_kafka_queue_new(session->handle_.get()));
  return session;
}

ConsumerSession::~ConsumerSession() {
  if (!started_) return;
  for (int32_t partition = 0; partition < partitions_; ++partition) {
    rd_kafka_consume_stop(topic_.get(), partition);
  }
}

Result<std::vector<Watermarks>> ConsumerSession::watermarks(int timeout_ms) const {
  return query_watermarks(handle_.get(), topic_name_, partitions_, timeout_ms);
}

Status ConsumerSession::start(const std::vector<int64_t>& start_offsets) {
  if (started_ || start_offsets.size() != static_cast<size_t>(partitions_)) {
    return Error{ErrorCode::kInvalidRequest, "start: one offset per partition, once"};
  }
  for (int32_t partition = 0; partition < partitions_; ++partition) {
    if (rd_kafka_consume_start_queue(topic_.get(), partition,
                                     start_offsets[static_cast<size_t>(partition)],
                                     queue_.get()) != 0) {
      return kafka_error(rd_kafka_last_error(), fmt::format("consume_start {}", partition));
    }
    started_ = true;  // stop what was started even if a later partition fails
  }
  return {};
}

void ConsumerSession::count_error(rd_kafka_resp_err_t err) {
  if (errors_ == 0) first_error_ = err;
  errors_++;
}

}  // namespace fjord::bench
