// fjord-load consume: throughput of one consumer reading a topic from the start.
#include <fmt/core.h>

#include "clock.h"
#include "consumer_session.h"
#include "modes.h"
#include "settings.h"

namespace fjord::bench {
namespace {

constexpr int kWatermarkTimeoutMs = 10000;
constexpr int kPollTimeoutMs = 100;

struct ConsumeProgress {
  std::vector<int64_t> start_offsets;  // per partition: low watermarks at the start
  std::vector<int64_t> next_offsets;
  std::vector<int64_t> end_offsets;  // high watermarks at the start
  int64_t messages = 0;
  int64_t bytes = 0;
  int64_t last_message_ns = 0;

  // Offsets between the low and high watermarks: what a full read returns
  // (exactly, as long as the log has no compaction gaps or control records).
  int64_t log_messages() const {
    int64_t total = 0;
    for (size_t p = 0; p < end_offsets.size(); ++p) total += end_offsets[p] - start_offsets[p];
    return total;
  }

  bool done() const {
    for (size_t p = 0; p < end_offsets.size(); ++p) {
      if (next_offsets[p] < end_offsets[p]) return false;
    }
    return true;
  }
};

}  // namespace

Result<Report> run_consume(const LoadOptions& options) {
  auto session = ConsumerSession::open(options, consumer_settings(options, Mode::kConsume));
  if (!session.ok()) return session.error();
  ConsumerSession& consumer = **session;
  auto marks = consumer.watermarks(kWatermarkTimeoutMs);
  if (!marks.ok()) return marks.error();
  ConsumeProgress progress;
  for (const Watermarks& mark : *marks) {
    progress.start_offsets.push_back(mark.low);
    progress.next_offsets.push_back(mark.low);
    progress.end_offsets.push_back(mark.high);
  }

  const double cpu_start_s = process_cpu_s();
  const int64_t start_ns = now_ns();
  const int64_t deadline_ns = start_ns + seconds_to_ns(options.timeout_s);
  if (Status started = consumer.start(progress.next_offsets); !started.ok()) {
    return started.error();
  }
  while (!progress.done() && now_ns() < deadline_ns) {
    const size_t received =
        consumer.poll(kPollTimeoutMs, [&progress](const rd_kafka_message_t& message) {
          progress.messages++;
          progress.bytes += static_cast<int64_t>(message.len);
          progress.next_offsets[static_cast<size_t>(message.partition)] = message.offset + 1;
        });
    if (received > 0) progress.last_message_ns = now_ns();
  }
  const double elapsed_s = static_cast<double>(progress.last_message_ns - start_ns) / 1e9;
  const double cpu_s = process_cpu_s() - cpu_start_s;

  Report report("consume");
  report.parameters = {{"topic", options.topic},
                       {"partitions", std::to_string(consumer.partitions())}};
  report.consumer_settings = consumer.settings();
  report.add("mb_per_s", elapsed_s > 0 ? progress.bytes / kBytesPerMb / elapsed_s : 0);
  report.add("msgs_per_s", elapsed_s > 0 ? progress.messages / elapsed_s : 0);
  report.add("messages", static_cast<double>(progress.messages));
  report.add("log_messages", static_cast<double>(progress.log_messages()));
  report.add("bytes", static_cast<double>(progress.bytes));
  report.add("elapsed_s", elapsed_s);
  report.add("consume_errors", static_cast<double>(consumer.errors()));
  report.add("client_cpu_s", cpu_s);
  report.add("client_cpu_us_per_msg",
             progress.messages > 0 ? cpu_s * 1e6 / static_cast<double>(progress.messages) : 0);
  if (!progress.done()) {
    report.notes.push_back(
        fmt::format("stopped after --timeout-s {} before the end of the log", options.timeout_s));
  }
  if (consumer.errors() > 0) {
    report.notes.push_back(fmt::format("{} consume errors, first: {}", consumer.errors(),
                                       rd_kafka_err2str(consumer.first_error())));
  }
  return report;
}

}  // namespace fjord::bench
