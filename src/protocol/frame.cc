#include "protocol/frame.h"

#include "protocol/generated/api_messages.h"

namespace fjord::protocol {

Result<RequestHeaderView> parse_request_header(std::span<const uint8_t> frame) {
  Reader reader(frame);
  RequestHeaderView header;
  header.api_key = reader.read_int16();
  header.api_version = reader.read_int16();
  header.correlation_id = reader.read_int32();
  if (!reader.ok()) {
    return Error{ErrorCode::kCorruptMessage, "request header truncated: " + reader.error()};
  }
  header.body_offset = reader.position();
  const ApiInfo* api = find_api(header.api_key);
  header.known = api != nullptr && header.api_version >= api->min_version &&
                 header.api_version <= api->max_version;
  // Unknown keys: assume v1 so the client id is still available for logs.
  const int16_t version = api ? request_header_version(header.api_key, header.api_version) : 1;
  header.header_version = version;
  if (version == 0) return header;

  // The client id is never compact, even in header v2 (so it is readable first).
  auto client_id = reader.read_nullable_string(false);
  if (version >= 2 && reader.ok()) {
    TaggedFieldsReader tagged(reader);
    while (tagged.next()) {
      // No tagged header fields are defined; skipping them is the rule.
    }
  }
  if (!reader.ok()) {
    if (header.known) {
      return Error{ErrorCode::kInvalidRequest, "request header: " + reader.error()};
    }
    return header;  // the caller answers UNSUPPORTED_VERSION or closes anyway
  }
  header.client_id = std::move(client_id);
  header.body_offset = reader.position();
  return header;
}

void write_response_header(Writer& w, int16_t api_key, int16_t api_version,
                           int32_t correlation_id) {
  w.write_int32(correlation_id);
  if (response_header_version(api_key, api_version) >= 1) w.write_uvarint(0);
}

}  // namespace fjord::protocol
