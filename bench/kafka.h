// Thin RAII and Result<> wrappers over the librdkafka C API, and the topic
// helpers every mode needs. Nothing here knows about a benchmark mode.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fjord::bench {

// librdkafka configuration, in the order it is applied (later keys win).
using Settings = std::vector<std::pair<std::string, std::string>>;

struct KafkaDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* error) const { rd_kafka_error_destroy(error); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
// What the transactional API returns: null for success.
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

// Callbacks of a producer; both run inside rd_kafka_poll()/rd_kafka_flush() on
// the polling thread, with `opaque` as their last argument.
struct ProducerCallbacks {
  void (*delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr;
  int (*statistics)(rd_kafka_t*, char*, size_t, void*) = nullptr;
  void* opaque = nullptr;
};

// librdkafka's error as a Result error: Kafka's codes keep their value,
// librdkafka's local errors (negative) become kUnknownServerError.
Error kafka_error(rd_kafka_resp_err_t err, const std::string& context);

// The same for an rd_kafka_error_t of the transactional API (not null).
Error kafka_error(const rd_kafka_error_t& error, const std::string& context);

// The fatal error that stopped an idempotent or transactional producer (what
// RD_KAFKA_RESP_ERR__FATAL stands for), e.g. a broker without idempotence.
Error fatal_error(rd_kafka_t* handle, const std::string& context);

Result<KafkaPtr> make_producer(const Settings& settings, const ProducerCallbacks& callbacks);
Result<KafkaPtr> make_consumer(const Settings& settings);

// librdkafka's rebalance callback: runs inside rd_kafka_consumer_poll() and
// rd_kafka_consumer_close() of the handle, with `opaque` as its last argument.
using RebalanceCallback = void (*)(rd_kafka_t*, rd_kafka_resp_err_t,
                                   rd_kafka_topic_partition_list_t*, void*);
// A group consumer (`settings` carry group.id) whose main queue is forwarded to
// the consumer queue, so rd_kafka_consumer_poll() serves every callback.
Result<KafkaPtr> make_group_consumer(const Settings& settings, RebalanceCallback rebalance,
                                     void* opaque);
Result<TopicPtr> open_topic(rd_kafka_t* handle, const std::string& topic);

// The partition count of `topic`, or kUnknownTopicOrPartition. Asks for all
// topics' metadata, because naming the topic may make the broker auto-create it.
Result<int32_t> partition_count(rd_kafka_t* handle, const std::string& topic, int timeout_ms);

// The topic's partition count, creating it with `partitions` partitions
// (replication factor 1) through CreateTopics when it does not exist yet.
Result<int32_t> ensure_topic(rd_kafka_t* handle, const std::string& topic, int32_t partitions,
                             int timeout_ms);

struct Watermarks {
  int64_t low = 0;   // first offset still in the log
  int64_t high = 0;  // next offset to be written
};
// The watermarks of partitions 0..partitions-1, asked of the broker (ListOffsets).
Result<std::vector<Watermarks>> query_watermarks(rd_kafka_t* handle, const std::string& topic,
                                                 int32_t partitions, int timeout_ms);

}  // namespace fjord::bench
