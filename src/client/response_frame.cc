#include "client/response_frame.h"

#include <fmt/core.h>

#include <vector>

#include "protocol/generated/api_messages.h"
#include "protocol/wire.h"

namespace fjord::client {

Result<size_t> response_body_offset(std::span<const uint8_t> payload, int16_t api_key,
                                    int16_t version, int32_t correlation_id) {
  protocol::Reader reader(payload);
  const int32_t answered = reader.read_int32();
  if (!reader.ok()) return Error{ErrorCode::kCorruptMessage, reader.error()};
  if (answered != correlation_id) {
    return Error{ErrorCode::kCorruptMessage,
                 fmt::format("correlation id {} instead of {}", answered, correlation_id)};
  }
  if (protocol::response_header_version(api_key, version) >= 1) {
    std::vector<protocol::RawTaggedField> ignored;
    protocol::TaggedFieldsReader tagged(reader);
    while (tagged.next()) tagged.keep_unknown(ignored);
  }
  if (!reader.ok()) return Error{ErrorCode::kCorruptMessage, reader.error()};
  return reader.position();
}

}  // namespace fjord::client
