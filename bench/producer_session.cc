#include "producer_session.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "clock.h"
#include "payload.h"

namespace fjord::bench {
namespace {

// Poll for delivery reports at least every this many messages.
constexpr uint64_t kBurstMessages = 1000;
constexpr int kMetadataTimeoutMs = 10000;

}  // namespace

ProducerSession::ProducerSession(const LoadOptions& options, Settings settings,
                                 Partitioning partitioning, uint64_t run_id)
    : settings_(std::move(settings)),
      partitioning_(partitioning),
      run_id_(run_id),
      message_(static_cast<size_t>(options.message_bytes), uint8_t{'x'}),
      stats_(options.topic) {}

Result<std::unique_ptr<ProducerSession>> ProducerSession::open(const LoadOptions& options,
                                                               Settings settings,
                                                               Partitioning partitioning,
                                                               uint64_t run_id) {
  if (options.message_bytes < static_cast<int64_t>(kPayloadHeaderBytes)) {
    return Error{ErrorCode::kInvalidRequest,
                 fmt::format("--message-bytes must be at least {}", kPayloadHeaderBytes)};
  }
  std::unique_ptr<ProducerSession> session(
      new ProducerSession(options, std::move(settings), partitioning, run_id));
  const ProducerCallbacks callbacks{&on_delivery, &on_statistics, session.get()};
  auto handle = make_producer(session->settings_, callbacks);
  if (!handle.ok()) return handle.error();
  session->handle_ = std::move(handle).value();
  auto partitions =
      ensure_topic(session->handle_.get(), options.topic, options.partitions, kMetadataTimeoutMs);
  if (!partitions.ok()) return partitions.error();
  session->partitions_ = *partitions;
  auto topic = open_topic(session->handle_.get(), options.topic);
  if (!topic.ok()) return topic.error();
  session->topic_ = std::move(topic).value();
  return session;
}

rd_kafka_resp_err_t ProducerSession::produce_one(int64_t intended_send_ns) {
  write_stamp(message_, {.run_id = run_id_,
                         .sequence = sent_,
                         .intended_send_ns = intended_send_ns,
                         .actual_send_ns = now_ns()});
  const auto partition =
      partitioning_ == Partitioning::kRoundRobin
          ? static_cast<int32_t>(sent_ % static_cast<uint64_t>(partitions_))
          : RD_KAFKA_PARTITION_UA;  // keyless: librdkafka's sticky partitioner picks
  if (rd_kafka_produce(topic_.get(), partition, RD_KAFKA_MSG_F_COPY, message_.data(),
                       message_.size(), nullptr, 0, nullptr) != 0) {
    return rd_kafka_last_error();
  }
  sent_++;
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

Status ProducerSession::produce_until(int64_t deadline_ns, const RatePacer& pacer) {
  for (int64_t now = now_ns(); now < deadline_ns; now = now_ns()) {
    const uint64_t due = std::min(pacer.messages_due(now), sent_ + kBurstMessages);
    while (sent_ < due) {
      const rd_kafka_resp_err_t err = produce_one(pacer.intended_send_ns(sent_));
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(handle_.get(), 1);  // wait for deliveries to free the queue
        break;
      }
      if (err == RD_KAFKA_RESP_ERR__FATAL) return fatal_error(handle_.get(), "produce");
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "produce");
    }
    rd_kafka_poll(handle_.get(), 0);
    if (!pacer.unlimited() && sent_ >= pacer.messages_due(now_ns())) {
      const int64_t wake_ns = std::min(pacer.intended_send_ns(sent_), deadline_ns);
      std::this_thread::sleep_for(std::chrono::nanoseconds(wake_ns - now_ns()));
    }
  }
  return {};
}

Status ProducerSession::produce_count(uint64_t count, int64_t deadline_ns) {
  const uint64_t target = sent_ + count;
  while (sent_ < target) {
    const int64_t now = now_ns();
    const rd_kafka_resp_err_t err = produce_one(now);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && now < deadline_ns) {
      rd_kafka_poll(handle_.get(), 1);  // wait for deliveries to free the queue
      continue;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) return fatal_error(handle_.get(), "produce");
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "produce");
  }
  rd_kafka_poll(handle_.get(), 0);
  return {};
}

Status ProducerSession::flush(int timeout_ms) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(handle_.get(), timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "flush");
  return {};
}

void ProducerSession::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* session = static_cast<ProducerSession*>(opaque);
  DeliveryCounters& counters = session->delivered_;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (counters.errors == 0) counters.first_error = message->err;
    counters.errors++;
    return;
  }
  counters.messages++;
  counters.bytes += static_cast<int64_t>(message->len);
  counters.last_delivery_ns = now_ns();
}

int ProducerSession::on_statistics(rd_kafka_t*, char* json, size_t json_bytes, void* opaque) {
  static_cast<ProducerSession*>(opaque)->stats_.add_window(std::string_view(json, json_bytes));
  return 0;  // librdkafka frees the JSON
}

}  // namespace fjord::bench
