// The request header of a frame, parsed before the API is known to be
// supported, and the response header. A frame here is a request without its
// int32 size prefix (what net::RequestHandler receives).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "protocol/wire.h"

namespace fjord::protocol {

struct RequestHeaderView {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;  // null in header v0 or when sent as null
  // Header version used to parse: 0, 1 or 2. Unknown keys are parsed as v1.
  int16_t header_version = 1;
  // True when the key is in the table and the version within its schema range;
  // false means: answer UNSUPPORTED_VERSION (or close for unknown keys).
  bool known = false;
  // Offset of the body in the frame (after the header, tagged fields included).
  size_t body_offset = 0;
};

// Parses the request header of `frame`. Fails (kInvalidRequest / kCorruptMessage)
// only when not even key, version and correlation id can be read; for an
// unknown key or an unsupported version the result has known == false and, if
// the client id could not be parsed, body_offset == 8.
Result<RequestHeaderView> parse_request_header(std::span<const uint8_t> frame);

// Writes the response header (correlation id, plus an empty tagged-field
// section for header v1) for a response to `api_key`/`api_version`.
void write_response_header(Writer& w, int16_t api_key, int16_t api_version, int32_t correlation_id);

}  // namespace fjord::protocol
