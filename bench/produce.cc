// fjord-load produce: throughput of one producer.
#include <fmt/core.h>
#include <sys/resource.h>

#include <random>

#include "clock.h"
#include "modes.h"
#include "producer_session.h"
#include "settings.h"

namespace fjord::bench {

uint64_t new_run_id() {
  std::random_device seed;
  return (uint64_t{seed()} << 32) | seed();
}

double process_cpu_s() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Result<Report> run_produce(const LoadOptions& options) {
  auto session = ProducerSession::open(options, producer_settings(options, Mode::kProduce),
                                       Partitioning::kRoundRobin, new_run_id());
  if (!session.ok()) return session.error();
  ProducerSession& producer = **session;
  const double cpu_start_s = process_cpu_s();
  const int64_t start_ns = now_ns();
  const RatePacer pacer(options.rate_mb_s * kBytesPerMb, options.message_bytes, start_ns);
  if (Status status = producer.produce_until(start_ns + seconds_to_ns(options.duration_s), pacer);
      !status.ok()) {
    return status.error();
  }
  const Status flushed = producer.flush(static_cast<int>(options.timeout_s * 1000));
  const DeliveryCounters& delivered = producer.delivered();
  // Throughput counts acknowledged messages up to the last acknowledgement.
  const double elapsed_s = delivered.messages == 0
                               ? 0
                               : static_cast<double>(delivered.last_delivery_ns - start_ns) / 1e9;
  const double cpu_s = process_cpu_s() - cpu_start_s;

  Report report("produce");
  report.parameters = {{"topic", options.topic},
                       {"partitions", std::to_string(producer.partitions())},
                       {"partitioning", "round-robin"},
                       {"message_bytes", std::to_string(options.message_bytes)},
                       {"duration_s", fmt::format("{}", options.duration_s)},
                       {"rate_mb_s", fmt::format("{}", options.rate_mb_s)}};
  report.producer_settings = producer.settings();
  report.add("mb_per_s", elapsed_s > 0 ? delivered.bytes / kBytesPerMb / elapsed_s : 0);
  report.add("msgs_per_s", elapsed_s > 0 ? delivered.messages / elapsed_s : 0);
  report.add("messages", static_cast<double>(delivered.messages));
  report.add("bytes", static_cast<double>(delivered.bytes));
  report.add("elapsed_s", elapsed_s);
  report.add("delivery_errors", static_cast<double>(delivered.errors));
  report.add("undelivered", static_cast<double>(producer.messages_sent()) -
                                static_cast<double>(delivered.messages + delivered.errors));
  report.add("batch_bytes_mean", producer.stats().mean_batch_bytes());
  report.add("batch_messages_mean", producer.stats().mean_batch_messages());
  report.add("request_rtt_us_mean", producer.stats().mean_rtt_us());
  report.add("client_cpu_s", cpu_s);
  report.add("client_cpu_us_per_msg",
             delivered.messages > 0 ? cpu_s * 1e6 / static_cast<double>(delivered.messages) : 0);
  if (delivered.errors > 0) {
    report.notes.push_back(fmt::format("{} delivery errors, first: {}", delivered.errors,
                                       rd_kafka_err2str(delivered.first_error)));
  }
  if (!flushed.ok()) report.notes.push_back(flushed.error().message);
  return report;
}

Result<Report> run_create_topic(const LoadOptions& options) {
  auto handle = make_producer(producer_settings(options, Mode::kProduce), {});
  if (!handle.ok()) return handle.error();
  constexpr int kTimeoutMs = 10000;
  auto partitions = ensure_topic(handle->get(), options.topic, options.partitions, kTimeoutMs);
  if (!partitions.ok()) return partitions.error();
  Report report("create-topic");
  report.parameters = {{"topic", options.topic}};
  report.add("partitions", *partitions);
  if (*partitions != options.partitions) {
    report.notes.push_back(
        fmt::format("the topic already existed with {} partitions", *partitions));
  }
  return report;
}

}  // namespace fjord::bench
