#include "common/host_port.h"

#include <fmt/core.h>

#include <charconv>

namespace fjord {

Result<HostPort> parse_host_port(std::string_view text) {
  const auto error = [&] {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid address '{}': expected HOST:PORT", text)};
  };
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return error();
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return error();
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return error();  // bare IPv6 needs brackets
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port > 65535) {
    return error();
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

}  // namespace fjord
