// `fjord consume`: prints messages with a kcat-like format, stops at the end
// of the partitions unless --follow.
#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <set>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/message_format.h"
#include "cli/progress.h"
#include "cli/start_offset.h"

namespace fjord::cli {
namespace {

constexpr int kPollMs = 100;
constexpr size_t kOutputFlushBytes = 64 * 1024;  // bound on buffered output

std::atomic<bool> g_interrupted{false};

void on_interrupt(int) { g_interrupted = true; }

// The first SIGINT/SIGTERM stops the loop cleanly (commits with --group); a
// second one kills the process (SA_RESETHAND).
void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = &on_interrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

using PartitionListPtr =
    std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)>;

PartitionListPtr new_partition_list(int size) {
  return PartitionListPtr(rd_kafka_topic_partition_list_new(size),
                          &rd_kafka_topic_partition_list_destroy);
}

struct ConsumePlan {
  StartOffset start;
  MessageFormat format;
};

Result<ConsumePlan> plan(const ConsumeOptions& options) {
  auto start = parse_start_offset(options.offset);
  if (!start.ok()) return start.error();
  auto format = MessageFormat::compile(options.format);
  if (!format.ok()) return format.error();
  const bool absolute =
      start->kind == StartOffset::Kind::kAbsolute || start->kind == StartOffset::Kind::kFromEnd;
  if (!options.group.empty() && (options.partition || absolute || options.from_timestamp_ms)) {
    return Error{ErrorCode::kInvalidConfig,
                 "--group takes its partitions and offsets from the group: drop --partition, "
                 "--from-timestamp and numeric --offset, or drop --group"};
  }
  return ConsumePlan{*start, std::move(*format)};
}

std::vector<std::pair<std::string, std::string>> consumer_settings(const ConsumeOptions& options,
                                                                   const StartOffset& start) {
  const bool group = !options.group.empty();
  // An absolute offset beyond the partition is an error, not a silent jump;
  // "the last N" of a shorter partition is all of it.
  const char* reset = start.kind == StartOffset::Kind::kLatest     ? "latest"
                      : start.kind == StartOffset::Kind::kAbsolute ? "error"
                                                                   : "earliest";
  return {
      {"group.id", group ? options.group : std::string("fjord-cli")},
      {"enable.auto.commit", group ? "true" : "false"},
      {"enable.auto.offset.store", group ? "true" : "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", reset},
      {"allow.auto.create.topics", "false"},
  };
}

// The assignment for a consumer without a group.
Result<PartitionListPtr> build_assignment(KafkaClient& client, const ConsumeOptions& options,
                                          const TopicInfo& topic, const StartOffset& start) {
  PartitionListPtr list = new_partition_list(static_cast<int>(topic.partitions.size()));
  for (const PartitionInfo& partition : topic.partitions) {
    if (options.partition && *options.partition != partition.id) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic.name.c_str(), partition.id)->offset =
        options.from_timestamp_ms ? *options.from_timestamp_ms : start.to_librdkafka();
  }
  if (list->cnt == 0) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("topic '{}' has no partition {}: it has {} (0 to {})", topic.name,
                             *options.partition, topic.partitions.size(),
                             static_cast<int>(topic.partitions.size()) - 1)};
  }
  if (options.from_timestamp_ms) {
    const rd_kafka_resp_err_t error =
        rd_kafka_offsets_for_times(client.handle(), list.get(), client.options().timeout_ms);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{ErrorCode::kUnknownServerError,
                   fmt::format("cannot look up offsets for timestamp {}: {}",
                               *options.from_timestamp_ms, rd_kafka_err2str(error))};
    }
    for (int i = 0; i < list->cnt; ++i) {
      // -1: no message at or after the timestamp; start at the end.
      if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_END;
    }
  }
  return list;
}

MessageView view_of(const rd_kafka_message_t& message, bool with_headers) {
  MessageView view;
  view.topic = rd_kafka_topic_name(message.rkt);
  view.partition = message.partition;
  view.offset = message.offset;
  rd_kafka_timestamp_type_t type;
  view.timestamp_ms = rd_kafka_message_timestamp(&message, &type);
  if (message.key != nullptr) {
    view.key = std::string_view(static_cast<const char*>(message.key), message.key_len);
  }
  if (message.payload != nullptr) {
    view.value = std::string_view(static_cast<const char*>(message.payload), message.len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (with_headers && rd_kafka_message_headers(&message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      view.headers.push_back(MessageHeader{
          name, value == nullptr
                    ? std::nullopt
                    : std::optional(std::string_view(static_cast<const char*>(value), size))});
    }
  }
  return view;
}

// The consume loop's state: what is at the end, what was printed.
class ConsumeLoop {
 public:
  ConsumeLoop(KafkaClient& client, const ConsumeOptions& options, const MessageFormat& format)
      : client_(client),
        options_(options),
        format_(format),
        progress_("consumed", !options.quiet) {}

  Status run() {
    auto last_activity = Clock::now();
    while (!g_interrupted && !done_) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(client_.handle(), kPollMs);
      if (message == nullptr) {
        flush_output();
        progress_.check_clock();
        if (client_.all_brokers_down()) return client_.unreachable_error();
        if (!options_.follow && Clock::now() - last_activity > timeout()) {
          if (!options_.group.empty() && !has_assignment()) {
            return Error{ErrorCode::kRequestTimedOut,
                         fmt::format("group '{}' got no partitions within {} ms: see the "
                                     "coordinator's answers with -v -X debug=cgrp",
                                     options_.group, client_.options().timeout_ms)};
          }
          return Error{ErrorCode::kRequestTimedOut,
                       fmt::format("no data and no end of partition within {} ms: check 'fjord "
                                   "topic describe {}' or raise --timeout-ms",
                                   client_.options().timeout_ms, options_.topic)};
        }
        continue;
      }
      last_activity = Clock::now();
      Status status = handle(*message);
      rd_kafka_message_destroy(message);
      if (!status.ok()) return status;
    }
    return {};
  }

  void finish() {
    flush_output();
    progress_.finish(fmt::format(" from '{}'", options_.topic));
  }

 private:
  using Clock = std::chrono::steady_clock;

  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(client_.options().timeout_ms);
  }

  Status handle(const rd_kafka_message_t& message) {
    if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end_.insert(message.partition);
      if (!options_.follow && all_assigned_at_end()) done_ = true;
      return {};
    }
    if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) return message_error(message);
    at_end_.erase(message.partition);
    format_.render(view_of(message, format_.uses_headers()), output_);
    if (output_.size() >= kOutputFlushBytes) flush_output();
    progress_.add(1, message.len + message.key_len);
    if (options_.count && progress_.messages() >= *options_.count) done_ = true;
    return {};
  }

  Status message_error(const rd_kafka_message_t& message) {
    switch (message.err) {
      case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        return unknown_topic_error(options_.topic);
      case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        return Error{ErrorCode::kOffsetOutOfRange,
                     fmt::format("offset {} is out of range for partition {}: use --offset "
                                 "earliest or latest",
                                 options_.offset, message.partition)};
      default:
        return Error{ErrorCode::kUnknownServerError,
                     fmt::format("consume failed: {} ({})", rd_kafka_message_errstr(&message),
                                 kafka_error_name(message.err))};
    }
  }

  bool has_assignment() {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(client_.handle(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return false;
    }
    const bool any = assigned->cnt > 0;
    rd_kafka_topic_partition_list_destroy(assigned);
    return any;
  }

  bool all_assigned_at_end() {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(client_.handle(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return false;
    }
    bool all = assigned->cnt > 0;
    for (int i = 0; i < assigned->cnt && all; ++i) {
      all = at_end_.count(assigned->elems[i].partition) > 0;
    }
    rd_kafka_topic_partition_list_destroy(assigned);
    return all;
  }

  void flush_output() {
    if (output_.empty()) return;
    std::fwrite(output_.data(), 1, output_.size(), stdout);
    std::fflush(stdout);
    output_.clear();
  }

  KafkaClient& client_;
  const ConsumeOptions& options_;
  const MessageFormat& format_;
  ProgressMeter progress_;
  std::set<int32_t> at_end_;
  std::string output_;
  bool done_ = false;
};

Status start_consuming(KafkaClient& client, const ConsumeOptions& options, const TopicInfo& topic,
                       const StartOffset& start) {
  if (!options.group.empty()) {
    PartitionListPtr topics = new_partition_list(1);
    rd_kafka_topic_partition_list_add(topics.get(), options.topic.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t error = rd_kafka_subscribe(client.handle(), topics.get());
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Error{
          ErrorCode::kUnknownServerError,
          fmt::format("cannot subscribe to '{}': {}", options.topic, rd_kafka_err2str(error))};
    }
    return {};
  }
  auto assignment = build_assignment(client, options, topic, start);
  if (!assignment.ok()) return assignment.error();
  const rd_kafka_resp_err_t error = rd_kafka_assign(client.handle(), assignment->get());
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Error{ErrorCode::kUnknownServerError,
                 fmt::format("cannot assign partitions: {}", rd_kafka_err2str(error))};
  }
  return {};
}

}  // namespace

int consume(const ClientOptions& client_options, const ConsumeOptions& options) {
  auto consume_plan = plan(options);
  if (!consume_plan.ok()) return fail(kExitUsage, consume_plan.error().message);
  auto client = KafkaClient::create(KafkaClient::Kind::kConsumer, client_options,
                                    consumer_settings(options, consume_plan->start));
  if (!client.ok()) return fail(kExitUsage, client.error().message);
  KafkaClient& consumer = **client;
  Status reachable = consumer.await_cluster();
  if (!reachable.ok()) return fail(kExitFailure, reachable.error().message);
  auto topic = fetch_topic(consumer, options.topic);
  if (!topic.ok()) return fail(kExitFailure, topic.error().message);
  if (options.partition && *options.partition >= static_cast<int32_t>(topic->partitions.size())) {
    return fail(kExitUsage, fmt::format("topic '{}' has no partition {}: it has {} (0 to {})",
                                        options.topic, *options.partition, topic->partitions.size(),
                                        static_cast<int>(topic->partitions.size()) - 1));
  }
  rd_kafka_poll_set_consumer(consumer.handle());
  Status started = start_consuming(consumer, options, *topic, consume_plan->start);
  if (!started.ok()) {
    return fail(started.error().code == ErrorCode::kInvalidConfig ? kExitUsage : kExitFailure,
                started.error().message);
  }
  install_interrupt_handler();
  ConsumeLoop loop(consumer, options, consume_plan->format);
  Status outcome = loop.run();
  loop.finish();
  rd_kafka_consumer_close(consumer.handle());
  if (!outcome.ok()) return fail(kExitFailure, outcome.error().message);
  return kExitOk;
}

}  // namespace fjord::cli
