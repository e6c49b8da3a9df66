// The response header of a frame a BrokerConnection received, parsed
// apart from the socket so that it can be fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"

namespace fjord::client {

// Checks the correlation id of `payload` (a response frame without its size
// prefix) and skips the header's tagged fields when `api_key`/`version` use
// response header v1. Returns where the body starts; the error message says
// what was wrong (for "malformed X response from Y: ...").
Result<size_t> response_body_offset(std::span<const uint8_t> payload, int16_t api_key,
                                    int16_t version, int32_t correlation_id);

}  // namespace fjord::client
