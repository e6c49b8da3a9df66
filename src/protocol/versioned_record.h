// Kafka's internal-topic records (__consumer_offsets, __transaction_state):
// each key and value is a big-endian int16 version followed by a generated
// message encoded at that version. Shared so that both topics parse the prefix
// and report corruption the same way.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/endian.h"
#include "common/outbound.h"
#include "common/result.h"
#include "protocol/wire.h"

namespace fjord::protocol {

inline constexpr size_t kRecordVersionBytes = 2;

// `version` as a big-endian int16, then `message` at that version. nullopt
// when the version cannot represent a value (a string over 32767 bytes).
template <typename Message>
std::optional<std::vector<uint8_t>> encode_versioned(const Message& message, int16_t version) {
  OutboundMessage out;
  Writer writer(out);
  writer.write_int16(version);
  message.encode(writer, version);
  if (!writer.ok()) return std::nullopt;
  return std::move(out.bytes);
}

// The version prefix of a key or value; `what` names it in the error.
inline Result<int16_t> read_record_version(std::span<const uint8_t> bytes, const char* what) {
  if (bytes.size() < kRecordVersionBytes) {
    return Error{ErrorCode::kCorruptMessage, fmt::format("{} shorter than its version", what)};
  }
  return load_be<int16_t>(bytes.data());
}

// Decodes `Message` from `bytes` (after the version prefix); all bytes must be used.
template <typename Message>
Result<Message> decode_versioned(std::span<const uint8_t> bytes, int16_t version,
                                 const char* what) {
  Reader reader(bytes.subspan(kRecordVersionBytes));
  Message message;
  message.decode(reader, version);
  if (!reader.ok()) {
    return Error{ErrorCode::kCorruptMessage,
                 fmt::format("{} v{}: {}", what, version, reader.error())};
  }
  if (reader.remaining() != 0) {
    return Error{ErrorCode::kCorruptMessage,
                 fmt::format("{} v{}: {} bytes after the end", what, version, reader.remaining())};
  }
  return message;
}

}  // namespace fjord::protocol
