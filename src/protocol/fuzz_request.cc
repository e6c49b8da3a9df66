// Fuzzes request parsing: a frame (without its size prefix) goes through the
// header parser and, for a known key and version, the generated body decoder.
// Whatever decodes must re-encode to bytes that decode and re-encode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "protocol/frame.h"
#include "protocol/generated/api_visit.h"

namespace {

using fjord::OutboundMessage;
using fjord::protocol::Reader;
using fjord::protocol::Writer;

template <typename Message>
void check_body(std::span<const uint8_t> body, int16_t version) {
  Message first;
  Reader reader(body);
  first.decode(reader, version);
  if (!reader.ok()) return;

  OutboundMessage encoded;
  Writer writer(encoded);
  first.encode(writer, version);
  if (!writer.ok()) return;  // e.g. a value that only fits the compact encoding

  Message second;
  Reader again(encoded.bytes);
  second.decode(again, version);
  if (!again.ok() || again.remaining() != 0) std::abort();

  OutboundMessage reencoded;
  Writer rewriter(reencoded);
  second.encode(rewriter, version);
  if (reencoded.bytes != encoded.bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> frame(data, size);
  auto header = fjord::protocol::parse_request_header(frame);
  if (!header.ok() || !header->known) return 0;
  const auto body = frame.subspan(header->body_offset);
  const int16_t version = header->api_version;
  fjord::protocol::visit_request(
      header->api_key, [&](auto message) { check_body<decltype(message)>(body, version); });
  return 0;
}
