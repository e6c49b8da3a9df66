// `fjord serve`: the server configuration from a properties file, --set and
// dedicated flags (in that order of precedence, last wins), then the node.
#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "broker/node.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/server_config.h"

namespace fjord::cli {
namespace {

constexpr std::streamsize kMaxConfigFileBytes = 1 << 20;  // a properties file, not data

Result<std::string> read_config_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("cannot read config file '{}': {}", path, std::strerror(errno))};
  }
  std::string text(static_cast<size_t>(kMaxConfigFileBytes) + 1, '\0');
  file.read(text.data(), kMaxConfigFileBytes + 1);
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > static_cast<size_t>(kMaxConfigFileBytes)) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("config file '{}' is larger than 1 MiB", path)};
  }
  return text;
}

// Every source of settings, in order of increasing precedence.
Result<std::vector<ConfigSetting>> collect_settings(const ServeOptions& options) {
  std::vector<ConfigSetting> settings;
  if (!options.config_file.empty()) {
    auto text = read_config_file(options.config_file);
    if (!text.ok()) return text.error();
    auto from_file = parse_properties(*text, options.config_file);
    if (!from_file.ok()) return from_file.error();
    settings = std::move(*from_file);
  }
  for (const std::string& argument : options.settings) {
    auto setting = parse_setting_argument(argument, "--set");
    if (!setting.ok()) return setting.error();
    settings.push_back(std::move(*setting));
  }
  if (!options.data_dir.empty()) settings.push_back({"log.dirs", options.data_dir, "--data-dir"});
  if (!options.listen.empty()) {
    auto address = parse_host_port(options.listen);
    if (!address.ok()) {
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("invalid --listen '{}': expected HOST:PORT (port 0: any free port)",
                               options.listen)};
    }
    settings.push_back({"listeners", "PLAINTEXT://" + options.listen, kListenFlagOrigin});
  }
  if (options.node_id) {
    settings.push_back({"node.id", std::to_string(*options.node_id), "--node-id"});
  }
  return settings;
}

}  // namespace

int serve(const ServeOptions& options) {
  auto settings = collect_settings(options);
  if (!settings.ok()) return fail(kExitUsage, settings.error().message);
  auto build = build_node_config(*settings);
  if (!build.ok()) return fail(kExitUsage, build.error().message);
  for (const std::string& warning : build->warnings) warn(warning);
  return broker::run_node(build->config);
}

}  // namespace fjord::cli
