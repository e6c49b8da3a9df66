// fjord-load latency: end-to-end latency at a fixed rate, producer and consumer
// in one process so both ends read the same steady clock.
#include <fmt/core.h>

#include <atomic>
#include <thread>

#include "clock.h"
#include "consumer_session.h"
#include "histogram.h"
#include "modes.h"
#include "payload.h"
#include "producer_session.h"
#include "settings.h"

namespace fjord::bench {
namespace {

constexpr int kWatermarkTimeoutMs = 10000;
constexpr int kPollTimeoutMs = 100;

// What the consumer thread measured. Written by that thread only, read after join.
struct LatencySamples {
  LatencyHistogram from_send;      // from the producer's produce() call
  LatencyHistogram from_schedule;  // from the pacer's planned time (coordinated omission)
  int64_t received = 0;            // this run's messages, warm-up included
  int64_t foreign = 0;             // messages of other runs or tools, ignored
};

// Shared between the producer (main) thread and the consumer thread.
struct LatencyRun {
  uint64_t run_id = 0;
  int64_t measure_from_ns = 0;              // planned send times before this are warm-up
  std::atomic<bool> producing_done{false};  // set after the producer's flush
  std::atomic<int64_t> delivered{0};        // valid once producing_done
};

void consume_until_drained(ConsumerSession& consumer, LatencyRun& run, LatencySamples& samples,
                           int64_t drain_timeout_ns) {
  int64_t drain_deadline_ns = 0;
  while (true) {
    consumer.poll(kPollTimeoutMs, [&](const rd_kafka_message_t& message) {
      const int64_t received_ns = now_ns();
      const auto stamp = read_stamp({static_cast<const uint8_t*>(message.payload), message.len});
      if (!stamp || stamp->run_id != run.run_id) {
        samples.foreign++;
        return;
      }
      samples.received++;
      if (stamp->intended_send_ns < run.measure_from_ns) return;
      samples.from_send.record(received_ns - stamp->actual_send_ns);
      samples.from_schedule.record(received_ns - stamp->intended_send_ns);
    });
    if (!run.producing_done.load()) continue;
    if (samples.received >= run.delivered.load()) return;
    if (drain_deadline_ns == 0) drain_deadline_ns = now_ns() + drain_timeout_ns;
    if (now_ns() >= drain_deadline_ns) return;
  }
}

void add_percentiles(Report& report, const std::string& prefix, const LatencyHistogram& histogram) {
  const auto us = [](int64_t ns) { return static_cast<double>(ns) / 1e3; };
  report.add(prefix + "_p50_us", us(histogram.value_at_quantile(0.50)));
  report.add(prefix + "_p90_us", us(histogram.value_at_quantile(0.90)));
  report.add(prefix + "_p99_us", us(histogram.value_at_quantile(0.99)));
  report.add(prefix + "_p99_9_us", us(histogram.value_at_quantile(0.999)));
  report.add(prefix + "_max_us", us(histogram.max()));
  report.add(prefix + "_mean_us", histogram.mean() / 1e3);
}

Report make_report(const LoadOptions& options, const ProducerSession& producer,
                   const ConsumerSession& consumer, const LatencySamples& samples) {
  Report report("latency");
  report.parameters = {{"topic", options.topic},
                       {"partitions", std::to_string(producer.partitions())},
                       {"partitioning", "sticky"},
                       {"message_bytes", std::to_string(options.message_bytes)},
                       {"duration_s", fmt::format("{}", options.duration_s)},
                       {"warmup_s", fmt::format("{}", options.warmup_s)},
                       {"rate_mb_s", fmt::format("{}", options.rate_mb_s)}};
  report.producer_settings = producer.settings();
  report.consumer_settings = consumer.settings();
  const DeliveryCounters& delivered = producer.delivered();
  report.add("sent", static_cast<double>(producer.messages_sent()));
  report.add("delivered", static_cast<double>(delivered.messages));
  report.add("received", static_cast<double>(samples.received));
  report.add("measured", static_cast<double>(samples.from_send.count()));
  report.add("achieved_mb_per_s",
             static_cast<double>(delivered.bytes) / kBytesPerMb / options.duration_s);
  add_percentiles(report, "e2e", samples.from_send);
  add_percentiles(report, "e2e_from_schedule", samples.from_schedule);
  // Where the time goes: the produce round trip is part of every end-to-end latency.
  report.add("produce_request_rtt_us_mean", producer.stats().mean_rtt_us());
  report.add("batch_messages_mean", producer.stats().mean_batch_messages());
  report.add("delivery_errors", static_cast<double>(delivered.errors));
  report.add("consume_errors", static_cast<double>(consumer.errors()));
  if (samples.received < delivered.messages) {
    report.notes.push_back(fmt::format("{} delivered messages were not consumed",
                                       delivered.messages - samples.received));
  }
  if (samples.foreign > 0) {
    report.notes.push_back(fmt::format("ignored {} messages of other runs", samples.foreign));
  }
  if (delivered.errors > 0) {
    report.notes.push_back(fmt::format("{} delivery errors, first: {}", delivered.errors,
                                       rd_kafka_err2str(delivered.first_error)));
  }
  return report;
}

}  // namespace

Result<Report> run_latency(const LoadOptions& options) {
  if (options.rate_mb_s <= 0) {
    return Error{ErrorCode::kInvalidRequest, "latency needs --rate-mb-s > 0"};
  }
  LatencyRun run;
  run.run_id = new_run_id();
  // Sticky, as for keyless messages of any librdkafka application: round robin would
  // turn each linger window into one tiny produce request per partition.
  auto producer = ProducerSession::open(options, producer_settings(options, Mode::kLatency),
                                        Partitioning::kSticky, run.run_id);
  if (!producer.ok()) return producer.error();
  auto consumer = ConsumerSession::open(options, consumer_settings(options, Mode::kLatency));
  if (!consumer.ok()) return consumer.error();
  // Start at the current end, so only this run's messages are fetched.
  auto marks = (*consumer)->watermarks(kWatermarkTimeoutMs);
  if (!marks.ok()) return marks.error();
  std::vector<int64_t> start_offsets;
  for (const Watermarks& mark : *marks) start_offsets.push_back(mark.high);
  if (Status started = (*consumer)->start(start_offsets); !started.ok()) return started.error();

  LatencySamples samples;
  const int64_t start_ns = now_ns();
  run.measure_from_ns = start_ns + seconds_to_ns(options.warmup_s);
  std::thread consumer_thread(
      [&] { consume_until_drained(**consumer, run, samples, seconds_to_ns(options.timeout_s)); });
  const RatePacer pacer(options.rate_mb_s * kBytesPerMb, options.message_bytes, start_ns);
  Status produced = (*producer)->produce_until(start_ns + seconds_to_ns(options.duration_s), pacer);
  if (produced.ok()) produced = (*producer)->flush(static_cast<int>(options.timeout_s * 1000));
  run.delivered.store((*producer)->delivered().messages);
  run.producing_done.store(true);
  consumer_thread.join();
  if (!produced.ok()) return produced.error();
  return make_report(options, **producer, **consumer, samples);
}

}  // namespace fjord::bench
