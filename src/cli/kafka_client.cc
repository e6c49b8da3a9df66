#include "cli/kafka_client.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "cli/server_config.h"

namespace fjord::cli {
namespace {

constexpr int kMetadataProbeMs = 250;  // one attempt of await_cluster
constexpr char kStartHint[] = "is the server running? start it with 'make run'";

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// librdkafka's transport errors, reduced to what a person needs.
std::string transport_reason(std::string_view raw) {
  if (contains(raw, "Connection refused")) return "connection refused";
  if (contains(raw, "resolve")) return "unknown host";
  if (contains(raw, "timed out")) return "connection timed out";
  if (contains(raw, "Disconnected") || contains(raw, "Connection reset")) {
    return "the server closed the connection";
  }
  return std::string(raw);
}

Error set_conf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char reason[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), reason, sizeof(reason)) !=
      RD_KAFKA_CONF_OK) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid client setting {}={}: {}", key, value, reason)};
  }
  return Error{ErrorCode::kNone, {}};
}

}  // namespace

Status parse_client_properties(const std::vector<std::string>& arguments, ClientOptions& options) {
  for (const std::string& argument : arguments) {
    auto setting = parse_setting_argument(argument, "-X");
    if (!setting.ok()) return setting.error();
    options.properties.emplace_back(setting->key, setting->value);
  }
  return {};
}

Result<std::unique_ptr<KafkaClient>> KafkaClient::create(
    Kind kind, const ClientOptions& options,
    const std::vector<std::pair<std::string, std::string>>& settings,
    void (*setup)(rd_kafka_conf_t*)) {
  auto host_port = parse_host_port(options.bootstrap);
  if (!host_port.ok()) {
    return Error{
        ErrorCode::kInvalidConfig,
        fmt::format("invalid --bootstrap-server '{}': expected HOST:PORT", options.bootstrap)};
  }
  std::unique_ptr<KafkaClient> client(new KafkaClient(options));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> all = {
      {"bootstrap.servers", options.bootstrap},
      {"client.id", "fjord-cli"},
      {"log.connection.close", "false"},
      {"socket.timeout.ms", std::to_string(std::clamp(options.timeout_ms, 10, 300000))},
  };
  all.insert(all.end(), settings.begin(), settings.end());
  all.insert(all.end(), options.properties.begin(), options.properties.end());
  for (const auto& [key, value] : all) {
    Error error = set_conf(conf, key, value);
    if (error.code != ErrorCode::kNone) {
      rd_kafka_conf_destroy(conf);
      return error;
    }
  }
  rd_kafka_conf_set_opaque(conf, client.get());
  rd_kafka_conf_set_error_cb(conf, &KafkaClient::on_error);
  rd_kafka_conf_set_log_cb(conf, &KafkaClient::on_log);
  if (setup != nullptr) setup(conf);
  char reason[512];
  client->handle_ = rd_kafka_new(kind == Kind::kProducer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER,
                                 conf, reason, sizeof(reason));
  if (client->handle_ == nullptr) {  // conf is still ours on failure
    rd_kafka_conf_destroy(conf);
    return Error{ErrorCode::kInvalidConfig, fmt::format("cannot create the client: {}", reason)};
  }
  return client;
}

KafkaClient::~KafkaClient() {
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

void KafkaClient::on_error(rd_kafka_t* handle, int error, const char* reason, void* opaque) {
  auto* client = static_cast<KafkaClient*>(opaque);
  if (error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    client->all_brokers_down_ = true;
  } else if (error == RD_KAFKA_RESP_ERR__TRANSPORT || error == RD_KAFKA_RESP_ERR__RESOLVE) {
    std::lock_guard lock(client->mutex_);
    client->last_transport_error_ = reason;
  }
  if (client->options_.verbose) fmt::print(stderr, "fjord: librdkafka: {}\n", reason);
}

void KafkaClient::on_log(const rd_kafka_t* handle, int level, const char* facility,
                         const char* text) {
  auto* client = static_cast<KafkaClient*>(rd_kafka_opaque(handle));
  if (client != nullptr && client->options_.verbose) {
    fmt::print(stderr, "fjord: librdkafka {} {}: {}\n", level, facility, text);
  }
}

Error KafkaClient::unreachable_error() const {
  std::string raw;
  {
    std::lock_guard lock(mutex_);
    raw = last_transport_error_;
  }
  if (raw.empty()) {
    return Error{ErrorCode::kRequestTimedOut,
                 fmt::format("no answer from {} within {} ms: {}", options_.bootstrap,
                             options_.timeout_ms, kStartHint)};
  }
  const std::string reason = transport_reason(raw);
  const char* hint =
      reason == "unknown host" ? "check --bootstrap-server (or FJORD_BOOTSTRAP)" : kStartHint;
  return Error{ErrorCode::kUnknownServerError,
               fmt::format("cannot reach {} ({}): {}", options_.bootstrap, reason, hint)};
}

Status KafkaClient::await_cluster() {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  while (true) {
    const auto remaining_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (remaining_ms <= 0) return unreachable_error();
    const struct rd_kafka_metadata* metadata = nullptr;
    const rd_kafka_resp_err_t error =
        rd_kafka_metadata(handle_, 0, nullptr, &metadata,
                          static_cast<int>(std::min<int64_t>(remaining_ms, kMetadataProbeMs)));
    if (error == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(metadata);
      return {};
    }
    rd_kafka_poll(handle_, 0);  // runs on_error
    if (all_brokers_down_) return unreachable_error();
  }
}

std::string kafka_error_name(rd_kafka_resp_err_t error) { return rd_kafka_err2name(error); }

}  // namespace fjord::cli
