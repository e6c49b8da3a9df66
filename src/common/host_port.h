// "host:port" addresses, as in Kafka's listeners and controller.quorum.voters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace fjord {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// "host:port", "[v6addr]:port". Port 0 is allowed (ephemeral).
Result<HostPort> parse_host_port(std::string_view text);

}  // namespace fjord
