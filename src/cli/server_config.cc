#include "cli/server_config.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <map>
#include <optional>

#include "cli/quorum_config.h"

namespace fjord::cli {
namespace {

constexpr int64_t kMsPerMinute = 60'000;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int32_t kMinSegmentBytes = 14;  // Kafka's lower bound for log.segment.bytes

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

Error invalid(const ConfigSetting& setting, std::string_view expected) {
  return Error{ErrorCode::kInvalidConfig,
               fmt::format("invalid value '{}' for {} ({}): expected {}", setting.value,
                           setting.key, setting.origin, expected)};
}

Result<int64_t> parse_integer(const ConfigSetting& setting, int64_t min, int64_t max) {
  std::string_view text = trim(setting.value);
  const std::string expected = max == std::numeric_limits<int64_t>::max()
                                   ? fmt::format("an integer >= {}", min)
                                   : fmt::format("an integer from {} to {}", min, max);
  int64_t number = 0;
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || number < min ||
      number > max) {
    return invalid(setting, expected);
  }
  return number;
}

Result<bool> parse_bool(const ConfigSetting& setting) {
  std::string lowered;
  for (char c : trim(setting.value)) lowered.push_back(static_cast<char>(std::tolower(c)));
  if (lowered == "true") return true;
  if (lowered == "false") return false;
  return invalid(setting, "true or false");
}

struct NamedListener {
  std::string name;
  HostPort address;
  std::string origin;
};

// One "NAME://host:port" of a listeners value. TLS and SASL are refused here;
// other names are checked against controller.listener.names once it is known.
Result<NamedListener> parse_listener_entry(const ConfigSetting& setting, std::string_view text) {
  text = trim(text);
  const size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return invalid(setting, "PLAINTEXT://HOST:PORT");
  }
  const std::string_view name = text.substr(0, scheme_end);
  if (name.empty() || name == "SSL" || name == "SASL_PLAINTEXT" || name == "SASL_SSL") {
    return invalid(setting, "a PLAINTEXT:// listener (TLS and SASL are not supported)");
  }
  std::string_view address = text.substr(scheme_end + 3);
  const std::string expected = fmt::format("{}://HOST:PORT with a port from 0 to 65535", name);
  if (!address.empty() && address.front() == ':') {
    // Kafka: an empty host binds every interface.
    auto port = parse_host_port(fmt::format("0.0.0.0{}", address));
    if (!port.ok()) return invalid(setting, expected);
    return NamedListener{std::string(name), *port, setting.origin};
  }
  auto host_port = parse_host_port(address);
  if (!host_port.ok()) return invalid(setting, expected);
  return NamedListener{std::string(name), *host_port, setting.origin};
}

// advertised.listeners: only the Kafka listener is advertised.
Result<HostPort> parse_listener(const ConfigSetting& setting) {
  std::string_view text = trim(setting.value);
  if (text.find(',') != std::string_view::npos) {
    return invalid(setting, "a single listener (Fjord serves one PLAINTEXT listener)");
  }
  auto listener = parse_listener_entry(setting, text);
  if (!listener.ok()) return listener.error();
  if (listener->name != "PLAINTEXT") {
    return invalid(setting, "a PLAINTEXT:// listener (TLS and SASL are not supported)");
  }
  return listener->address;
}

// A setting applier: updates the build from one setting.
struct Builder {
  ServerConfigBuild build;
  int retention_priority = 0;  // 3: ms, 2: minutes, 1: hours
  int roll_priority = 0;       // 2: ms, 1: hours
  std::optional<uint16_t> advertised_port;
  std::string advertised_origin;
  std::string voters_origin = "default";
  std::string controller_listener_name = "CONTROLLER";  // controller.listener.names
  std::vector<NamedListener> other_listeners;           // listeners other than PLAINTEXT
};
using Applier = std::function<Status(const ConfigSetting&, Builder&)>;

Applier int_field(int64_t min, int64_t max, std::function<void(Builder&, int64_t)> store) {
  return [=](const ConfigSetting& setting, Builder& builder) -> Status {
    auto number = parse_integer(setting, min, max);
    if (!number.ok()) return number.error();
    store(builder, *number);
    return {};
  };
}

// A broker key that sets a topic-level default, validated as an integer.
Applier topic_int(std::string topic_key, int64_t min, int64_t max) {
  return int_field(min, max, [topic_key](Builder& builder, int64_t number) {
    builder.build.config.topic_defaults[topic_key] = std::to_string(number);
  });
}

// A key with synonyms of different precedence and units (log.retention.*, log.roll.*).
Applier topic_time(std::string topic_key, int priority, int Builder::*priority_field,
                   int64_t unit_ms) {
  return [=](const ConfigSetting& setting, Builder& builder) -> Status {
    const int64_t max = std::numeric_limits<int64_t>::max() / unit_ms;
    auto number = parse_integer(setting, -1, max);
    if (!number.ok()) return number.error();
    if (priority < builder.*priority_field) return {};  // a more precise synonym was given
    builder.*priority_field = priority;
    const int64_t ms = *number < 0 ? -1 : *number * unit_ms;
    builder.build.config.topic_defaults[topic_key] = std::to_string(ms);
    return {};
  };
}

Status apply_cleanup_policy(const ConfigSetting& setting, Builder& builder) {
  std::string normalized;
  for (char c : setting.value) {
    if (c != ' ' && c != '\t') normalized.push_back(c);
  }
  if (normalized != "delete" && normalized != "compact" && normalized != "compact,delete" &&
      normalized != "delete,compact") {
    return invalid(setting, "delete, compact or compact,delete");
  }
  builder.build.config.topic_defaults["cleanup.policy"] = normalized;
  return {};
}

Status apply_log_dirs(const ConfigSetting& setting, Builder& builder) {
  std::string_view dirs = trim(setting.value);
  if (dirs.empty()) return invalid(setting, "a directory path");
  if (dirs.find(',') != std::string_view::npos) {
    return invalid(setting, "a single directory (Fjord uses one data directory)");
  }
  builder.build.config.data_dir = std::string(dirs);
  return {};
}

// One PLAINTEXT listener (the Kafka API) and, as in a KRaft combined node's
// server.properties, optionally the controller listener.
Status apply_listeners(const ConfigSetting& setting, Builder& builder) {
  std::optional<HostPort> kafka;
  std::vector<NamedListener> others;
  std::string_view rest = setting.value;
  while (true) {
    const size_t comma = rest.find(',');
    auto listener = parse_listener_entry(setting, rest.substr(0, comma));
    if (!listener.ok()) return listener.error();
    const bool repeated = std::any_of(others.begin(), others.end(), [&](const auto& other) {
      return other.name == listener->name;
    });
    if ((listener->name == "PLAINTEXT" && kafka) || repeated) {
      return invalid(setting, "one listener per name (Fjord serves one PLAINTEXT listener)");
    }
    if (listener->name == "PLAINTEXT") {
      kafka = listener->address;
    } else {
      others.push_back(std::move(*listener));
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!kafka) return invalid(setting, "a PLAINTEXT://HOST:PORT listener for the Kafka API");
  builder.build.config.listen_host = kafka->host;
  builder.build.config.listen_port = kafka->port;
  // --listen names only the Kafka listener: a controller listener set in the
  // file or by --set stays.
  if (setting.origin != kListenFlagOrigin) builder.other_listeners = std::move(others);
  return {};
}

Status apply_quorum_voters(const ConfigSetting& setting, Builder& builder) {
  auto voters = parse_quorum_voters(setting.value);
  if (!voters.ok()) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("{} ({})", voters.error().message, setting.origin)};
  }
  builder.build.config.quorum_voters = std::move(*voters);
  builder.voters_origin = setting.origin;
  return {};
}

// Fjord nodes are KRaft "combined" nodes: each is a broker and a controller.
Status apply_process_roles(const ConfigSetting& setting, Builder& builder) {
  std::string normalized;
  for (char c : setting.value) {
    if (c != ' ' && c != '\t') normalized.push_back(c);
  }
  if (normalized != "broker,controller" && normalized != "controller,broker") {
    return invalid(setting,
                   "broker,controller (every Fjord node is both a broker and a controller)");
  }
  (void)builder;
  return {};
}

Status apply_controller_listener_names(const ConfigSetting& setting, Builder& builder) {
  std::string_view name = trim(setting.value);
  if (name.empty() || name.find(',') != std::string_view::npos ||
      name.find(':') != std::string_view::npos) {
    return invalid(setting, "one listener name, e.g. CONTROLLER");
  }
  builder.controller_listener_name = std::string(name);
  return {};
}

// A controller listener in `listeners` is where the Raft transport listens; it
// must agree with this node's entry of controller.quorum.voters.
Status check_controller_listener(Builder& builder) {
  const broker::NodeConfig& config = builder.build.config;
  for (const NamedListener& listener : builder.other_listeners) {
    if (listener.name != builder.controller_listener_name) {
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("listener '{}' in listeners ({}) is neither PLAINTEXT nor the "
                               "controller listener (controller.listener.names={})",
                               listener.name, listener.origin, builder.controller_listener_name)};
    }
    const broker::QuorumVoter* self = config.own_voter();
    if (self == nullptr && !config.quorum_voters.empty()) {
      // Not among the voters: the controller listener is where a node that
      // joins a running cluster listens.
      builder.build.config.controller_listener =
          HostPort{listener.address.host, listener.address.port};
    } else if (self == nullptr) {
      builder.build.warnings.push_back(fmt::format(
          "listener '{}' ({}) is ignored: without controller.quorum.voters this node is a "
          "single-node quorum",
          listener.name, listener.origin));
    } else if (self->port != listener.address.port) {
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("the controller listener {}:{} ({}) and node {}'s entry {}:{} in "
                               "controller.quorum.voters ({}) name different ports",
                               listener.address.host, listener.address.port, listener.origin,
                               config.node_id, self->host, self->port, builder.voters_origin)};
    }
  }
  return {};
}

Status apply_advertised_listeners(const ConfigSetting& setting, Builder& builder) {
  auto listener = parse_listener(setting);
  if (!listener.ok()) return listener.error();
  builder.build.config.advertised_host = listener->host;
  builder.advertised_port = listener->port;
  builder.advertised_origin = setting.origin;
  return {};
}

Status apply_auto_create(const ConfigSetting& setting, Builder& builder) {
  auto flag = parse_bool(setting);
  if (!flag.ok()) return flag.error();
  builder.build.config.auto_create_topics = *flag;
  return {};
}

Status apply_cluster_id(const ConfigSetting& setting, Builder& builder) {
  std::string_view id = trim(setting.value);
  if (id.empty()) return invalid(setting, "a non-empty cluster id");
  builder.build.config.cluster_id = std::string(id);
  return {};
}

const std::map<std::string, Applier, std::less<>>& appliers() {
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
  static const auto* table = new std::map<std::string, Applier, std::less<>>{
      {"node.id",
       int_field(0, kInt32Max,
                 [](Builder& b, int64_t n) { b.build.config.node_id = static_cast<int32_t>(n); })},
      {"broker.id",
       int_field(0, kInt32Max,
                 [](Builder& b, int64_t n) { b.build.config.node_id = static_cast<int32_t>(n); })},
      {"log.dirs", apply_log_dirs},
      {"log.dir", apply_log_dirs},
      {"listeners", apply_listeners},
      {"advertised.listeners", apply_advertised_listeners},
      {"cluster.id", apply_cluster_id},
      {"controller.quorum.voters", apply_quorum_voters},
      {"process.roles", apply_process_roles},
      {"controller.listener.names", apply_controller_listener_names},
      {"controller.quorum.election.timeout.ms",
       int_field(100, kInt32Max,
                 [](Builder& b, int64_t n) {
                   b.build.config.quorum_election_timeout_ms = static_cast<int32_t>(n);
                 })},
      {"controller.quorum.request.timeout.ms",
       int_field(1, kInt32Max,
                 [](Builder& b, int64_t n) {
                   b.build.config.quorum_request_timeout_ms = static_cast<int32_t>(n);
                 })},
      {"broker.heartbeat.interval.ms", int_field(1, kInt32Max,
                                                 [](Builder& b, int64_t n) {
                                                   b.build.config.broker_heartbeat_interval_ms =
                                                       static_cast<int32_t>(n);
                                                 })},
      {"broker.session.timeout.ms", int_field(1, kInt32Max,
                                              [](Builder& b, int64_t n) {
                                                b.build.config.broker_session_timeout_ms =
                                                    static_cast<int32_t>(n);
                                              })},
      {"fjord.shards",
       int_field(0, 1024,
                 [](Builder& b, int64_t n) { b.build.config.shards = static_cast<unsigned>(n); })},
      {"num.partitions", int_field(1, kInt32Max,
                                   [](Builder& b, int64_t n) {
                                     b.build.config.num_partitions = static_cast<int32_t>(n);
                                   })},
      {"auto.create.topics.enable", apply_auto_create},
      {"default.replication.factor", int_field(1, std::numeric_limits<int16_t>::max(),
                                               [](Builder& b, int64_t n) {
                                                 b.build.config.default_replication_factor =
                                                     static_cast<int32_t>(n);
                                               })},
      {"metadata.log.max.record.bytes.between.snapshots",
       int_field(1, std::numeric_limits<int64_t>::max(),
                 [](Builder& b, int64_t n) { b.build.config.metadata_snapshot_after_bytes = n; })},
      {"socket.request.max.bytes",
       int_field(1, kInt32Max,
                 [](Builder& b, int64_t n) { b.build.config.max_request_bytes = n; })},
      {"connections.max.idle.ms",
       int_field(-1, kInt64Max,
                 [](Builder& b, int64_t n) { b.build.config.connections_max_idle_ms = n; })},
      {"log.retention.check.interval.ms",
       int_field(
           1, kInt64Max,
           [](Builder& b, int64_t n) { b.build.config.log_retention_check_interval_ms = n; })},
      {"log.cleaner.backoff.ms",
       int_field(1, kInt64Max,
                 [](Builder& b, int64_t n) { b.build.config.log_cleaner_backoff_ms = n; })},
      {"group.initial.rebalance.delay.ms",
       int_field(0, kInt32Max,
                 [](Builder& b, int64_t n) {
                   b.build.config.group_limits.initial_rebalance_delay_ms = static_cast<int32_t>(n);
                 })},
      {"group.min.session.timeout.ms",
       int_field(0, kInt32Max,
                 [](Builder& b, int64_t n) {
                   b.build.config.group_limits.min_session_timeout_ms = static_cast<int32_t>(n);
                 })},
      {"group.max.session.timeout.ms",
       int_field(0, kInt32Max,
                 [](Builder& b, int64_t n) {
                   b.build.config.group_limits.max_session_timeout_ms = static_cast<int32_t>(n);
                 })},
      {"group.max.size", int_field(1, kInt32Max,
                                   [](Builder& b, int64_t n) {
                                     b.build.config.group_limits.max_size = static_cast<int32_t>(n);
                                   })},
      {"offset.metadata.max.bytes", int_field(0, kInt32Max,
                                              [](Builder& b, int64_t n) {
                                                b.build.config.group_limits.max_metadata_bytes =
                                                    static_cast<int32_t>(n);
                                              })},
      {"offsets.retention.minutes", int_field(1, kInt64Max / kMsPerMinute,
                                              [](Builder& b, int64_t n) {
                                                b.build.config.group_limits.offsets_retention_ms =
                                                    n * kMsPerMinute;
                                              })},
      {"offsets.retention.check.interval.ms",
       int_field(
           1, kInt64Max,
           [](Builder& b, int64_t n) { b.build.config.offsets_retention_check_interval_ms = n; })},
      {"producer.id.expiration.ms",
       int_field(1, kInt64Max,
                 [](Builder& b, int64_t n) { b.build.config.producer_id_expiration_ms = n; })},
      {"transaction.max.timeout.ms", int_field(1, kInt32Max,
                                               [](Builder& b, int64_t n) {
                                                 b.build.config.transaction_max_timeout_ms =
                                                     static_cast<int32_t>(n);
                                               })},
      {"transactional.id.expiration.ms",
       int_field(1, kInt32Max,
                 [](Builder& b, int64_t n) { b.build.config.transactional_id_expiration_ms = n; })},
      {"transaction.abort.timed.out.transaction.cleanup.interval.ms",
       int_field(
           1, kInt32Max,
           [](Builder& b, int64_t n) { b.build.config.transaction_abort_check_interval_ms = n; })},
      {"transaction.remove.expired.transaction.cleanup.interval.ms",
       int_field(
           1, kInt32Max,
           [](Builder& b, int64_t n) { b.build.config.transaction_expiry_check_interval_ms = n; })},
      {"transaction.state.log.num.partitions",
       int_field(1, 10000,
                 [](Builder& b, int64_t n) {
                   b.build.config.transaction_state_partitions = static_cast<int32_t>(n);
                 })},
      {"transaction.state.log.segment.bytes",
       int_field(kMinSegmentBytes, kInt32Max,
                 [](Builder& b, int64_t n) {
                   b.build.config.transaction_state_segment_bytes = static_cast<int32_t>(n);
                 })},
      {"offsets.topic.num.partitions", int_field(1, 10000,
                                                 [](Builder& b, int64_t n) {
                                                   b.build.config.offsets_topic_partitions =
                                                       static_cast<int32_t>(n);
                                                 })},
      {"offsets.topic.segment.bytes", int_field(kMinSegmentBytes, kInt32Max,
                                                [](Builder& b, int64_t n) {
                                                  b.build.config.offsets_topic_segment_bytes =
                                                      static_cast<int32_t>(n);
                                                })},
      {"log.retention.ms", topic_time("retention.ms", 3, &Builder::retention_priority, 1)},
      {"log.retention.minutes",
       topic_time("retention.ms", 2, &Builder::retention_priority, kMsPerMinute)},
      {"log.retention.hours",
       topic_time("retention.ms", 1, &Builder::retention_priority, kMsPerHour)},
      {"log.roll.ms", topic_time("segment.ms", 2, &Builder::roll_priority, 1)},
      {"log.roll.hours", topic_time("segment.ms", 1, &Builder::roll_priority, kMsPerHour)},
      {"log.retention.bytes", topic_int("retention.bytes", -1, kInt64Max)},
      {"log.segment.bytes", topic_int("segment.bytes", kMinSegmentBytes, kInt32Max)},
      {"log.cleanup.policy", apply_cleanup_policy},
      {"log.flush.interval.messages", topic_int("flush.messages", 1, kInt64Max)},
      {"log.flush.interval.ms", topic_int("flush.ms", 0, kInt64Max)},
      {"message.max.bytes", topic_int("max.message.bytes", 0, kInt32Max)},
      {"log.cleaner.delete.retention.ms", topic_int("delete.retention.ms", 0, kInt64Max)},
      {"min.insync.replicas", topic_int("min.insync.replicas", 1, kInt32Max)},
  };
  return *table;
}

// Appends `line` to `logical` (a Java-properties logical line being built).
// Returns true if the line ends with an unescaped backslash (continues).
bool append_physical_line(std::string_view line, std::string& logical) {
  size_t trailing_backslashes = 0;
  while (trailing_backslashes < line.size() &&
         line[line.size() - 1 - trailing_backslashes] == '\\') {
    ++trailing_backslashes;
  }
  const bool continues = trailing_backslashes % 2 == 1;
  if (continues) line.remove_suffix(1);
  logical.append(logical.empty() ? line : trim(line));
  return continues;
}

// Resolves the escapes \t \n \r \\ and \<other> (Java drops the backslash).
std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    const char next = text[++i];
    out.push_back(next == 't' ? '\t' : next == 'n' ? '\n' : next == 'r' ? '\r' : next);
  }
  return out;
}

// Splits a logical line into key and value at the first unescaped '=', ':' or
// whitespace.
ConfigSetting split_logical_line(std::string_view line, std::string origin) {
  size_t key_end = 0;
  while (key_end < line.size()) {
    const char c = line[key_end];
    if (c == '\\') {
      key_end += 2;
      continue;
    }
    if (c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f') break;
    ++key_end;
  }
  key_end = std::min(key_end, line.size());
  std::string_view rest = trim(line.substr(key_end));
  if (!rest.empty() && (rest.front() == '=' || rest.front() == ':')) {
    rest = trim(rest.substr(1));
  }
  return ConfigSetting{unescape(line.substr(0, key_end)), unescape(rest), std::move(origin)};
}

}  // namespace

Result<std::vector<ConfigSetting>> parse_properties(std::string_view text,
                                                    std::string_view file_name) {
  std::vector<ConfigSetting> settings;
  std::string logical;
  size_t logical_start_line = 0;
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (logical.empty()) {
      line = trim(line);
      if (line.empty() || line.front() == '#' || line.front() == '!') continue;
      logical_start_line = line_number;
    }
    if (append_physical_line(trim(line), logical)) continue;
    settings.push_back(
        split_logical_line(logical, fmt::format("{}:{}", file_name, logical_start_line)));
    logical.clear();
  }
  if (!logical.empty()) {
    settings.push_back(
        split_logical_line(logical, fmt::format("{}:{}", file_name, logical_start_line)));
  }
  return settings;
}

Result<ConfigSetting> parse_setting_argument(std::string_view argument, std::string_view origin) {
  const size_t equals = argument.find('=');
  if (equals == std::string_view::npos || trim(argument.substr(0, equals)).empty()) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid setting '{}' ({}): expected key=value", argument, origin)};
  }
  return ConfigSetting{std::string(trim(argument.substr(0, equals))),
                       std::string(trim(argument.substr(equals + 1))), std::string(origin)};
}

Result<ServerConfigBuild> build_node_config(const std::vector<ConfigSetting>& settings,
                                            broker::NodeConfig base) {
  Builder builder;
  builder.build.config = std::move(base);
  for (const ConfigSetting& setting : settings) {
    auto applier = appliers().find(setting.key);
    if (applier == appliers().end()) {
      builder.build.warnings.push_back(
          fmt::format("unknown config key '{}' ({}) is ignored", setting.key, setting.origin));
      continue;
    }
    Status status = applier->second(setting, builder);
    if (!status.ok()) return status.error();
  }
  // A port of 0 means "the port the listener got" (useful with listeners=...:0).
  if (builder.advertised_port) builder.build.config.advertised_port = *builder.advertised_port;
  if (Status listener = check_controller_listener(builder); !listener.ok()) {
    return listener.error();
  }
  if (Status cluster = check_cluster_settings(builder.build.config, builder.voters_origin);
      !cluster.ok()) {
    return cluster.error();
  }
  return std::move(builder.build);
}

}  // namespace fjord::cli
