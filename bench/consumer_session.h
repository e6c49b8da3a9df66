// ConsumerSession: one librdkafka consumer reading every partition of a topic
// from given offsets into one queue. It uses the queue-based "simple consumer"
// API, not a consumer group, so it needs only Metadata, ListOffsets and Fetch
// from the broker. Use one session from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "kafka.h"
#include "options.h"

namespace fjord::bench {

class ConsumerSession {
 public:
  static constexpr size_t kBatchMessages = 1024;  // messages taken from the queue at once

  // Connects and learns the topic's partitions; the topic must exist.
  static Result<std::unique_ptr<ConsumerSession>> open(const LoadOptions& options,
                                                       Settings settings);
  ~ConsumerSession();

  // The current watermarks of every partition.
  Result<std::vector<Watermarks>> watermarks(int timeout_ms) const;
  // Starts fetching partition p at start_offsets[p] (an offset or RD_KAFKA_OFFSET_*).
  Status start(const std::vector<int64_t>& start_offsets);

  // Waits up to timeout_ms for the first message, then takes every message already
  // queued (up to kBatchMessages), and calls visit(const rd_kafka_message_t&) for
  // each one without an error. Returns how many were visited; counts errors.
  template <typename Visit>
  size_t poll(int timeout_ms, Visit&& visit);

  int32_t partitions() const { return partitions_; }
  int64_t errors() const { return errors_; }
  rd_kafka_resp_err_t first_error() const { return first_error_; }
  const Settings& settings() const { return settings_; }

 private:
  explicit ConsumerSession(Settings settings) : settings_(std::move(settings)) {}
  void count_error(rd_kafka_resp_err_t err);

  Settings settings_;
  std::string topic_name_;
  int32_t partitions_ = 0;
  bool started_ = false;
  int64_t errors_ = 0;
  rd_kafka_resp_err_t first_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::array<rd_kafka_message_t*, kBatchMessages> batch_{};
  KafkaPtr handle_;  // destroyed last: the topic and queue belong to it
  TopicPtr topic_;
  QueuePtr queue_;
};

template <typename Visit>
size_t ConsumerSession::poll(int timeout_ms, Visit&& visit) {
  // With a timeout, consume_batch_queue waits until the batch is full: take what is
  // there now, and only if nothing is, wait for the first message alone.
  ssize_t count = rd_kafka_consume_batch_queue(queue_.get(), 0, batch_.data(), batch_.size());
  if (count == 0) {
    batch_[0] = rd_kafka_consume_queue(queue_.get(), timeout_ms);
    count = batch_[0] == nullptr ? 0 : 1;
  }
  size_t visited = 0;
  for (ssize_t i = 0; i < count; ++i) {
    rd_kafka_message_t* message = batch_[static_cast<size_t>(i)];
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      visit(*message);
      visited++;
    } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      count_error(message->err);
    }
    rd_kafka_message_destroy(message);
  }
  if (count < 0) count_error(rd_kafka_last_error());
  return visited;
}

}  // namespace fjord::bench
