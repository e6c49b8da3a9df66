// ProducerSession: one librdkafka producer writing stamped messages of a fixed
// size to a topic's partitions, at a RatePacer's rate. Delivery
// reports and statistics are collected on the thread that calls its methods;
// use one session from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kafka.h"
#include "options.h"
#include "pacer.h"
#include "producer_stats.h"

namespace fjord::bench {

enum class Partitioning {
  kRoundRobin,  // message n to partition n % partitions: every partition busy at once
  kSticky,      // librdkafka's choice for keyless messages: one partition per linger window
};

struct DeliveryCounters {
  int64_t messages = 0;  // acknowledged by the broker
  int64_t bytes = 0;     // payload bytes of those messages
  int64_t errors = 0;    // messages that failed
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t last_delivery_ns = 0;
};

class ProducerSession {
 public:
  // Connects, and creates the topic with options.partitions partitions if it is missing.
  static Result<std::unique_ptr<ProducerSession>> open(const LoadOptions& options,
                                                       Settings settings, Partitioning partitioning,
                                                       uint64_t run_id);

  // Hands messages to librdkafka at the pacer's rate until deadline_ns.
  Status produce_until(int64_t deadline_ns, const RatePacer& pacer);
  // Hands `count` messages to librdkafka at once (round-robin continues where it
  // stopped), waiting for room in its bounded queue until deadline_ns.
  Status produce_count(uint64_t count, int64_t deadline_ns);
  // Waits for every handed-over message's delivery report, up to timeout_ms.
  Status flush(int timeout_ms);

  int32_t partitions() const { return partitions_; }
  uint64_t messages_sent() const { return sent_; }
  const DeliveryCounters& delivered() const { return delivered_; }
  const ProducerStats& stats() const { return stats_; }
  const Settings& settings() const { return settings_; }
  rd_kafka_t* handle() const { return handle_.get(); }

 private:
  ProducerSession(const LoadOptions& options, Settings settings, Partitioning partitioning,
                  uint64_t run_id);
  // Returns RD_KAFKA_RESP_ERR__QUEUE_FULL when librdkafka's bounded queue is full.
  rd_kafka_resp_err_t produce_one(int64_t intended_send_ns);

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque);
  static int on_statistics(rd_kafka_t*, char* json, size_t json_bytes, void* opaque);

  Settings settings_;
  Partitioning partitioning_;
  uint64_t run_id_;
  std::vector<uint8_t> message_;  // reused: librdkafka copies it (RD_KAFKA_MSG_F_COPY)
  ProducerStats stats_;
  DeliveryCounters delivered_;
  uint64_t sent_ = 0;
  int32_t partitions_ = 0;
  KafkaPtr handle_;  // destroyed before the counters its callbacks write to
  TopicPtr topic_;
};

}  // namespace fjord::bench
