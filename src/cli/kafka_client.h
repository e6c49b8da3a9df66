// A librdkafka handle for the CLI commands: configuration from the common
// options, quiet logging, and connection problems turned into one actionable line.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fjord::cli {

// The options every client command shares.
struct ClientOptions {
  std::string bootstrap = "127.0.0.1:9092";
  int timeout_ms = 10000;
  bool verbose = false;                                         // librdkafka logs on stderr
  std::vector<std::pair<std::string, std::string>> properties;  // -X key=value
};

// Parses "key=value" arguments of -X into `options.properties`.
Status parse_client_properties(const std::vector<std::string>& arguments, ClientOptions& options);

class KafkaClient {
 public:
  enum class Kind { kProducer, kConsumer };

  // `settings` are applied after the common ones; `setup` may register
  // callbacks on the configuration (its opaque is the KafkaClient).
  static Result<std::unique_ptr<KafkaClient>> create(
      Kind kind, const ClientOptions& options,
      const std::vector<std::pair<std::string, std::string>>& settings,
      void (*setup)(rd_kafka_conf_t*) = nullptr);
  ~KafkaClient();
  KafkaClient(const KafkaClient&) = delete;
  KafkaClient& operator=(const KafkaClient&) = delete;

  rd_kafka_t* handle() const { return handle_; }
  const ClientOptions& options() const { return options_; }

  // Waits until the cluster answers a Metadata request; fails fast with an
  // actionable message when the bootstrap server cannot be reached.
  Status await_cluster();

  // The message for "the server cannot be reached", from the last transport
  // error seen (or a timeout).
  Error unreachable_error() const;

  // True once librdkafka reported that every broker is down.
  bool all_brokers_down() const { return all_brokers_down_.load(); }

  // Serves librdkafka's main queue (error callbacks, delivery reports).
  void poll(int timeout_ms) { rd_kafka_poll(handle_, timeout_ms); }

  // State a command hangs on the client for its callbacks.
  void* user_state = nullptr;

 private:
  explicit KafkaClient(ClientOptions options) : options_(std::move(options)) {}
  static void on_error(rd_kafka_t* handle, int error, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t* handle, int level, const char* facility, const char* text);

  ClientOptions options_;
  rd_kafka_t* handle_ = nullptr;
  std::atomic<bool> all_brokers_down_{false};
  mutable std::mutex mutex_;
  std::string last_transport_error_;  // guarded by mutex_
};

// A human-readable name for a librdkafka error, e.g. "UNKNOWN_TOPIC_OR_PART".
std::string kafka_error_name(rd_kafka_resp_err_t error);

}  // namespace fjord::cli
