#include "kafka.h"

#include <fmt/core.h>

#include <array>
#include <cstring>

namespace fjord::bench {
namespace {

constexpr size_t kErrorTextBytes = 512;

Result<rd_kafka_conf_t*> make_conf(const Settings& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::array<char, kErrorTextBytes> error_text{};
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error_text.data(), error_text.size()) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("{}={}: {}", key, value, error_text.data())};
    }
  }
  return conf;
}

// Takes ownership of `conf` whatever the outcome, as rd_kafka_new() does on success.
Result<KafkaPtr> make_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  std::array<char, kErrorTextBytes> error_text{};
  rd_kafka_t* handle = rd_kafka_new(type, conf, error_text.data(), error_text.size());
  if (handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error{ErrorCode::kInvalidConfig, error_text.data()};
  }
  return KafkaPtr(handle);
}

Status create_topic(rd_kafka_t* handle, const std::string& topic, int32_t partitions,
                    int timeout_ms) {
  std::array<char, kErrorTextBytes> error_text{};
  rd_kafka_NewTopic_t* new_topic =
      rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, error_text.data(), error_text.size());
  if (new_topic == nullptr) return Error{ErrorCode::kInvalidRequest, error_text.data()};
  QueuePtr queue(rd_kafka_queue_new(handle));
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, nullptr, 0);
  rd_kafka_CreateTopics(handle, &new_topic, 1, options, queue.get());
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue.get(), timeout_ms + 1000);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(new_topic);
  if (event == nullptr) return Error{ErrorCode::kRequestTimedOut, "CreateTopics: no reply"};
  Status status;
  if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = kafka_error(rd_kafka_event_error(event), "CreateTopics");
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    for (size_t i = 0; i < count; ++i) {
      const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        status = kafka_error(err, fmt::format("CreateTopics {}", topic));
      }
    }
  }
  rd_kafka_event_destroy(event);
  return status;
}

}  // namespace

Error kafka_error(rd_kafka_resp_err_t err, const std::string& context) {
  const auto code = err > 0 ? static_cast<ErrorCode>(err) : ErrorCode::kUnknownServerError;
  return Error{code, fmt::format("{}: {}", context, rd_kafka_err2str(err))};
}

Error kafka_error(const rd_kafka_error_t& error, const std::string& context) {
  const rd_kafka_resp_err_t err = rd_kafka_error_code(&error);
  const auto code = err > 0 ? static_cast<ErrorCode>(err) : ErrorCode::kUnknownServerError;
  return Error{code, fmt::format("{}: {}", context, rd_kafka_error_string(&error))};
}

Error fatal_error(rd_kafka_t* handle, const std::string& context) {
  std::array<char, kErrorTextBytes> error_text{};
  const rd_kafka_resp_err_t err =
      rd_kafka_fatal_error(handle, error_text.data(), error_text.size());
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(RD_KAFKA_RESP_ERR__FATAL, context);
  const auto code = err > 0 ? static_cast<ErrorCode>(err) : ErrorCode::kUnknownServerError;
  return Error{code, fmt::format("{}: fatal: {}", context, error_text.data())};
}

Result<KafkaPtr> make_producer(const Settings& settings, const ProducerCallbacks& callbacks) {
  auto conf = make_conf(settings);
  if (!conf.ok()) return conf.error();
  if (callbacks.delivery != nullptr) rd_kafka_conf_set_dr_msg_cb(*conf, callbacks.delivery);
  if (callbacks.statistics != nullptr) rd_kafka_conf_set_stats_cb(*conf, callbacks.statistics);
  rd_kafka_conf_set_opaque(*conf, callbacks.opaque);
  return make_handle(RD_KAFKA_PRODUCER, *conf);
}

Result<KafkaPtr> make_consumer(const Settings& settings) {
  auto conf = make_conf(settings);
  if (!conf.ok()) return conf.error();
  return make_handle(RD_KAFKA_CONSUMER, *conf);
}

Result<KafkaPtr> make_group_consumer(const Settings& settings, RebalanceCallback rebalance,
                                     void* opaque) {
  auto conf = make_conf(settings);
  if (!conf.ok()) return conf.error();
  rd_kafka_conf_set_rebalance_cb(*conf, rebalance);
  rd_kafka_conf_set_opaque(*conf, opaque);
  auto handle = make_handle(RD_KAFKA_CONSUMER, *conf);
  if (handle.ok()) rd_kafka_poll_set_consumer(handle->get());
  return handle;
}

Result<TopicPtr> open_topic(rd_kafka_t* handle, const std::string& topic) {
  rd_kafka_topic_t* opened = rd_kafka_topic_new(handle, topic.c_str(), nullptr);
  if (opened == nullptr) return kafka_error(rd_kafka_last_error(), "topic " + topic);
  return TopicPtr(opened);
}

Result<int32_t> partition_count(rd_kafka_t* handle, const std::string& topic, int timeout_ms) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(handle, 1, nullptr, &metadata, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "Metadata");
  Result<int32_t> result(ErrorCode::kUnknownTopicOrPartition, "no topic " + topic);
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& entry = metadata->topics[i];
    if (topic != entry.topic) continue;
    if (entry.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = kafka_error(entry.err, "Metadata " + topic);
    } else {
      result = entry.partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(metadata);
  return result;
}

Result<int32_t> ensure_topic(rd_kafka_t* handle, const std::string& topic, int32_t partitions,
                             int timeout_ms) {
  auto existing = partition_count(handle, topic, timeout_ms);
  if (existing.code() != ErrorCode::kUnknownTopicOrPartition) return existing;
  const Status created = create_topic(handle, topic, partitions, timeout_ms);
  if (!created.ok()) return created.error();
  // Metadata can lag a fresh CreateTopics for a moment; ask a few times.
  constexpr int kAttempts = 20;
  for (int attempt = 1;; ++attempt) {
    auto count = partition_count(handle, topic, timeout_ms);
    if (count.ok() || attempt == kAttempts) return count;
    rd_kafka_poll(handle, 100);
  }
}

Result<std::vector<Watermarks>> query_watermarks(rd_kafka_t* handle, const std::string& topic,
                                                 int32_t partitions, int timeout_ms) {
  std::vector<Watermarks> marks(static_cast<size_t>(partitions));
  for (int32_t partition = 0; partition < partitions; ++partition) {
    Watermarks& mark = marks[static_cast<size_t>(partition)];
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        handle, topic.c_str(), partition, &mark.low, &mark.high, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_error(err, fmt::format("ListOffsets {}-{}", topic, partition));
    }
  }
  return marks;
}

}  // namespace fjord::bench
