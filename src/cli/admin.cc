#include "cli/admin.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>

namespace fjord::cli {
namespace {

constexpr int kQueuePollMs = 100;
constexpr int kResultSlackMs = 2000;  // librdkafka's own timeout fires first

}  // namespace

AdminRequest::AdminRequest(KafkaClient& client)
    : client_(client),
      options_(rd_kafka_AdminOptions_new(client.handle(), RD_KAFKA_ADMIN_OP_ANY)),
      queue_(rd_kafka_queue_new(client.handle())) {
  char reason[256];
  const int timeout_ms = client.options().timeout_ms;
  rd_kafka_AdminOptions_set_request_timeout(options_, timeout_ms, reason, sizeof(reason));
  rd_kafka_AdminOptions_set_operation_timeout(options_, timeout_ms, reason, sizeof(reason));
}

AdminRequest::~AdminRequest() {
  rd_kafka_queue_destroy(queue_);
  rd_kafka_AdminOptions_destroy(options_);
}

Result<EventPtr> AdminRequest::wait(const char* what) {
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(client_.options().timeout_ms + kResultSlackMs);
  while (Clock::now() < deadline) {
    EventPtr event(rd_kafka_queue_poll(queue_, kQueuePollMs));
    client_.poll(0);  // error callbacks
    if (!event) continue;
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const rd_kafka_resp_err_t error = rd_kafka_event_error(event.get());
      if (error == RD_KAFKA_RESP_ERR__TIMED_OUT && client_.all_brokers_down()) {
        return client_.unreachable_error();
      }
      return Error{ErrorCode::kUnknownServerError,
                   fmt::format("{} failed: {} ({})", what, rd_kafka_event_error_string(event.get()),
                               kafka_error_name(error))};
    }
    return event;
  }
  return Error{ErrorCode::kRequestTimedOut,
               fmt::format("{}: no answer within {} ms: retry with a larger --timeout-ms", what,
                           client_.options().timeout_ms)};
}

Result<std::vector<TopicInfo>> fetch_topics(KafkaClient& client, const std::string& name) {
  rd_kafka_topic_t* topic = nullptr;
  if (!name.empty()) {
    // No topic conf of our own: the handle keeps the first conf a topic was
    // created with, and a fresh one would override the client's topic settings
    // (auto.offset.reset of a group consumer) with librdkafka's defaults.
    topic = rd_kafka_topic_new(client.handle(), name.c_str(), nullptr);
    if (topic == nullptr) {
      return Error{ErrorCode::kInvalidTopicException, fmt::format("invalid topic name '{}'", name)};
    }
  }
  const struct rd_kafka_metadata* metadata = nullptr;
  const rd_kafka_resp_err_t error = rd_kafka_metadata(
      client.handle(), topic == nullptr ? 1 : 0, topic, &metadata, client.options().timeout_ms);
  if (topic != nullptr) rd_kafka_topic_destroy(topic);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (client.all_brokers_down()) return client.unreachable_error();
    return Error{ErrorCode::kUnknownServerError,
                 fmt::format("cannot read metadata: {}", rd_kafka_err2str(error))};
  }
  std::vector<TopicInfo> topics;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const rd_kafka_metadata_topic& source = metadata->topics[t];
    TopicInfo info{source.topic, {}, source.err};
    for (int p = 0; p < source.partition_cnt; ++p) {
      const rd_kafka_metadata_partition& partition = source.partitions[p];
      info.partitions.push_back(PartitionInfo{
          partition.id, partition.leader,
          std::vector<int32_t>(partition.replicas, partition.replicas + partition.replica_cnt),
          std::vector<int32_t>(partition.isrs, partition.isrs + partition.isr_cnt), partition.err});
    }
    std::sort(info.partitions.begin(), info.partitions.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    topics.push_back(std::move(info));
  }
  rd_kafka_metadata_destroy(metadata);
  std::sort(topics.begin(), topics.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return topics;
}

Error unknown_topic_error(const std::string& name) {
  return Error{ErrorCode::kUnknownTopicOrPartition,
               fmt::format("topic '{}' does not exist: list topics with 'fjord topic list' or "
                           "create it with 'fjord topic create {}'",
                           name, name)};
}

Result<TopicInfo> fetch_topic(KafkaClient& client, const std::string& name) {
  auto topics = fetch_topics(client, name);
  if (!topics.ok()) return topics.error();
  for (TopicInfo& topic : *topics) {
    if (topic.name != name) continue;
    if (topic.error == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        (topic.error == RD_KAFKA_RESP_ERR_NO_ERROR && topic.partitions.empty())) {
      return unknown_topic_error(name);
    }
    if (topic.error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{ErrorCode::kUnknownServerError,
                   fmt::format("topic '{}': {} ({})", name, rd_kafka_err2str(topic.error),
                               kafka_error_name(topic.error))};
    }
    return std::move(topic);
  }
  return unknown_topic_error(name);
}

}  // namespace fjord::cli
