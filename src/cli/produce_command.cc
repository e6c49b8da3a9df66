// `fjord produce`: one message per input line through librdkafka's producer.
#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "cli/admin.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/produce_input.h"
#include "cli/progress.h"

namespace fjord::cli {
namespace {

constexpr int kPollEveryMessages = 128;  // serve delivery reports this often
constexpr int kQueueFullWaitMs = 50;
constexpr int kFlushStepMs = 100;
constexpr char kQueueMaxMessages[] = "100000";  // bound on messages buffered in the client

// Delivery outcomes, updated by the delivery-report callback (on our thread,
// inside rd_kafka_poll/flush).
struct DeliveryState {
  uint64_t delivered = 0;
  uint64_t failed = 0;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  size_t first_error_line = 0;
};

void on_delivery(rd_kafka_t* handle, const rd_kafka_message_t* message, void* opaque) {
  auto* state = static_cast<DeliveryState*>(static_cast<KafkaClient*>(opaque)->user_state);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++state->delivered;
    return;
  }
  if (state->failed++ == 0) {
    state->first_error = message->err;
    state->first_error_line = reinterpret_cast<uintptr_t>(message->_private);
  }
}

void register_delivery_callback(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
}

std::string delivery_advice(const ProduceOptions& options, const ClientOptions& client,
                            rd_kafka_resp_err_t error, size_t line) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
      return unknown_topic_error(options.topic).message;
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return fmt::format("topic '{}' has no partition {}: see 'fjord topic describe {}'",
                         options.topic, options.partition, options.topic);
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return fmt::format(
          "line {} is larger than the topic accepts: raise the topic's "
          "max.message.bytes ('fjord topic alter {} --config max.message.bytes=N')",
          line, options.topic);
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
      return fmt::format(
          "line {} was not acknowledged within {} ms: is the server running? "
          "raise --timeout-ms if it is busy",
          line, client.timeout_ms);
    default:
      return fmt::format("line {} was not delivered: {} ({})", line, rd_kafka_err2str(error),
                         kafka_error_name(error));
  }
}

Status validate(const ProduceOptions& options) {
  static const std::set<std::string> kAcks = {"0", "1", "all", "-1"};
  static const std::set<std::string> kCodecs = {"none", "gzip", "snappy", "lz4", "zstd"};
  if (kAcks.count(options.acks) == 0) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid --acks '{}': expected 0, 1 or all", options.acks)};
  }
  if (kCodecs.count(options.compression) == 0) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid --compression '{}': expected none, gzip, snappy, lz4 or zstd",
                             options.compression)};
  }
  if (options.partition < -1) {
    return Error{
        ErrorCode::kInvalidConfig,
        fmt::format("invalid --partition {}: expected a partition number >= 0", options.partition)};
  }
  return {};
}

// librdkafka's message.max.bytes: room for the longest line, within its limits.
size_t client_message_max_bytes(size_t max_line_bytes) {
  constexpr size_t kDefault = 1000000;
  constexpr size_t kLibrdkafkaMax = 1000000000;
  constexpr size_t kOverheadBytes = 4096;  // key, headers and batch framing
  return std::clamp(max_line_bytes + kOverheadBytes, kDefault, kLibrdkafkaMax);
}

// Opens the input; "-" or empty is stdin.
Result<std::FILE*> open_input(const std::string& path) {
  if (path.empty() || path == "-") return stdin;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("cannot open '{}': {}", path, std::strerror(errno))};
  }
  return file;
}

struct Header {
  std::string name;
  std::string value;
};

class Producer {
 public:
  Producer(KafkaClient& client, rd_kafka_topic_t* topic, const ProduceOptions& options,
           std::vector<Header> headers)
      : client_(client), topic_(topic), options_(options), headers_(std::move(headers)) {}

  // Enqueues one line, waiting while the client's queue is full.
  Status send(const KeyedLine& line, size_t line_number) {
    std::vector<rd_kafka_vu_t>& fields = fields_;
    fields.clear();
    fields.push_back(field(RD_KAFKA_VTYPE_RKT, [&](auto& u) { u.rkt = topic_; }));
    fields.push_back(field(RD_KAFKA_VTYPE_PARTITION, [&](auto& u) { u.i32 = options_.partition; }));
    fields.push_back(field(RD_KAFKA_VTYPE_MSGFLAGS, [](auto& u) { u.i = RD_KAFKA_MSG_F_COPY; }));
    fields.push_back(field(RD_KAFKA_VTYPE_VALUE, [&](auto& u) {
      u.mem.ptr = const_cast<char*>(line.value.data());
      u.mem.size = line.value.size();
    }));
    if (line.key) {
      fields.push_back(field(RD_KAFKA_VTYPE_KEY, [&](auto& u) {
        u.mem.ptr = const_cast<char*>(line.key->data());
        u.mem.size = line.key->size();
      }));
    }
    fields.push_back(field(RD_KAFKA_VTYPE_OPAQUE, [&](auto& u) {
      u.ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(line_number));
    }));
    for (const Header& header : headers_) {
      fields.push_back(field(RD_KAFKA_VTYPE_HEADER, [&](auto& u) {
        u.header.name = header.name.c_str();
        u.header.val = header.value.data();
        u.header.size = static_cast<ssize_t>(header.value.size());
      }));
    }
    while (true) {
      rd_kafka_error_t* error = rd_kafka_produceva(client_.handle(), fields.data(), fields.size());
      if (error == nullptr) break;
      const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
      const std::string text = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return Error{ErrorCode::kUnknownServerError,
                     fmt::format("line {} cannot be sent: {}", line_number, text)};
      }
      client_.poll(kQueueFullWaitMs);  // the queue is bounded: wait for deliveries
    }
    if (++sent_since_poll_ >= kPollEveryMessages) {
      sent_since_poll_ = 0;
      client_.poll(0);
    }
    return {};
  }

 private:
  template <typename Fill>
  static rd_kafka_vu_t field(rd_kafka_vtype_t type, Fill fill) {
    rd_kafka_vu_t vu{};
    vu.vtype = type;
    fill(vu.u);
    return vu;
  }

  KafkaClient& client_;
  rd_kafka_topic_t* topic_;
  const ProduceOptions& options_;
  std::vector<Header> headers_;
  std::vector<rd_kafka_vu_t> fields_;
  int sent_since_poll_ = 0;
};

// Waits for every queued message to be acknowledged or failed.
void flush_all(KafkaClient& client) {
  while (rd_kafka_outq_len(client.handle()) > 0) {
    rd_kafka_flush(client.handle(), kFlushStepMs);
  }
}

}  // namespace

int produce(const ClientOptions& client_options, const ProduceOptions& options) {
  Status valid = validate(options);
  if (!valid.ok()) return fail(kExitUsage, valid.error().message);
  std::vector<Header> headers;
  for (const std::string& argument : options.headers) {
    auto header = parse_header_argument(argument);
    if (!header.ok()) return fail(kExitUsage, header.error().message);
    headers.push_back(Header{header->first, header->second});
  }
  auto input = open_input(options.file);
  if (!input.ok()) return fail(kExitUsage, input.error().message);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> input_closer(*input == stdin ? nullptr : *input,
                                                               &std::fclose);

  DeliveryState delivery;
  auto client = KafkaClient::create(
      KafkaClient::Kind::kProducer, client_options,
      {{"acks", options.acks},
       {"compression.codec", options.compression},
       {"linger.ms", "5"},
       {"queue.buffering.max.messages", kQueueMaxMessages},
       {"message.max.bytes", std::to_string(client_message_max_bytes(options.max_line_bytes))},
       {"message.timeout.ms", std::to_string(client_options.timeout_ms)}},
      &register_delivery_callback);
  if (!client.ok()) return fail(kExitUsage, client.error().message);
  KafkaClient& producer = **client;
  producer.user_state = &delivery;
  Status reachable = producer.await_cluster();
  if (!reachable.ok()) return fail(kExitFailure, reachable.error().message);
  // A missing topic fails here with advice; other metadata errors (e.g. a topic
  // the server is still creating) are left to librdkafka's retries.
  auto topic_info = fetch_topic(producer, options.topic);
  if (!topic_info.ok() && topic_info.code() == ErrorCode::kUnknownTopicOrPartition) {
    return fail(kExitFailure, topic_info.error().message);
  }
  if (topic_info.ok() && options.partition >= static_cast<int32_t>(topic_info->partitions.size())) {
    return fail(kExitUsage,
                delivery_advice(options, client_options, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, 0));
  }

  rd_kafka_topic_t* topic = rd_kafka_topic_new(producer.handle(), options.topic.c_str(), nullptr);
  std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> topic_owner(
      topic, &rd_kafka_topic_destroy);
  Producer sender(producer, topic, options, std::move(headers));
  ProgressMeter progress("produced", !options.quiet);
  LineReader reader(*input, options.max_line_bytes);
  Status outcome;
  while (delivery.failed == 0) {
    auto line = reader.next();
    if (!line.ok()) {
      outcome = line.error();
      break;
    }
    if (!line->has_value()) break;
    const KeyedLine keyed = split_key(**line, options.key_separator);
    outcome = sender.send(keyed, reader.line_number());
    if (!outcome.ok()) break;
    progress.add(1, keyed.value.size() + (keyed.key ? keyed.key->size() : 0));
  }
  flush_all(producer);
  if (delivery.failed > 0) {
    fail(kExitFailure,
         fmt::format("{} of {} messages failed; {}", delivery.failed, progress.messages(),
                     delivery_advice(options, client_options, delivery.first_error,
                                     delivery.first_error_line)));
    return kExitFailure;
  }
  if (!outcome.ok()) return fail(kExitFailure, outcome.error().message);
  progress.finish(fmt::format(" to '{}'", options.topic));
  return kExitOk;
}

}  // namespace fjord::cli
