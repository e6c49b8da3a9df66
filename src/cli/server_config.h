// Parsing of the server configuration: a Java-properties file with Kafka's key
// names, plus `--set key=value` overrides, into a broker::NodeConfig.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/node.h"
#include "common/host_port.h"
#include "common/result.h"

namespace fjord::cli {

using fjord::HostPort;
using fjord::parse_host_port;

// One `key=value` setting and where it came from (for messages).
struct ConfigSetting {
  std::string key;
  std::string value;
  std::string origin;  // e.g. "server.properties:12" or "--set"
};

// The origin of the `listeners` setting `fjord serve --listen` makes: it sets
// the Kafka (PLAINTEXT) listener and leaves a configured controller listener.
inline constexpr const char* kListenFlagOrigin = "--listen";

// Java-properties syntax: `key=value`, `key: value` or `key value`; `#` and `!`
// comment lines; a trailing backslash continues the line. Later keys win.
Result<std::vector<ConfigSetting>> parse_properties(std::string_view text,
                                                    std::string_view file_name);

// "key=value" as given to --set.
Result<ConfigSetting> parse_setting_argument(std::string_view argument, std::string_view origin);

struct ServerConfigBuild {
  broker::NodeConfig config;
  std::vector<std::string> warnings;  // unknown keys, ignored parts
};

// Applies `settings` in order on top of `base`. Fails with kInvalidConfig and a
// message naming the key, the value, where it came from and what is expected.
// Precedence between synonyms follows Kafka: log.retention.ms over
// log.retention.minutes over log.retention.hours, log.roll.ms over log.roll.hours.
Result<ServerConfigBuild> build_node_config(const std::vector<ConfigSetting>& settings,
                                            broker::NodeConfig base = {});

}  // namespace fjord::cli
