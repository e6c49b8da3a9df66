// Helpers for librdkafka's admin API and metadata: owning pointers, waiting for
// a result event, and topic metadata in plain structs.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/kafka_client.h"
#include "common/result.h"

namespace fjord::cli {

struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// One admin request: options with the client's timeouts and a private result queue.
class AdminRequest {
 public:
  explicit AdminRequest(KafkaClient& client);
  ~AdminRequest();
  AdminRequest(const AdminRequest&) = delete;
  AdminRequest& operator=(const AdminRequest&) = delete;

  rd_kafka_AdminOptions_t* options() const { return options_; }
  rd_kafka_queue_t* queue() const { return queue_; }

  // Waits for the result event of the request started with options()/queue();
  // fails on timeout or a request-level error.
  Result<EventPtr> wait(const char* what);

 private:
  KafkaClient& client_;
  rd_kafka_AdminOptions_t* options_;
  rd_kafka_queue_t* queue_;
};

struct PartitionInfo {
  int32_t id = 0;
  int32_t leader = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

struct TopicInfo {
  std::string name;
  std::vector<PartitionInfo> partitions;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// Metadata of one topic (without creating it) or, with an empty name, of all topics.
Result<std::vector<TopicInfo>> fetch_topics(KafkaClient& client, const std::string& name);

// One topic's metadata; fails with an actionable message if it does not exist.
Result<TopicInfo> fetch_topic(KafkaClient& client, const std::string& name);

// "topic 'x' does not exist: list topics with 'fjord topic list' or create it with ..."
Error unknown_topic_error(const std::string& name);

}  // namespace fjord::cli
