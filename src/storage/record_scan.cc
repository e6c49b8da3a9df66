#include "storage/record_scan.h"

namespace fjord::storage {
namespace {

// Signed zigzag varint (up to 10 bytes); false on truncation or overlong input.
bool read_varlong(std::span<const uint8_t> in, size_t& at, int64_t& value) {
  uint64_t raw = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (at >= in.size()) return false;
    const uint8_t byte = in[at++];
    raw |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      value = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      return true;
    }
  }
  return false;
}

// A nullable byte string: length varint (-1 = null) and the bytes.
bool read_bytes(std::span<const uint8_t> in, size_t& at, bool& present,
                std::span<const uint8_t>& bytes) {
  int64_t length = 0;
  if (!read_varlong(in, at, length) || length < -1) return false;
  present = length >= 0;
  if (!present) return true;
  if (static_cast<uint64_t>(length) > in.size() - at) return false;
  bytes = in.subspan(at, static_cast<size_t>(length));
  at += static_cast<size_t>(length);
  return true;
}

bool scan_one(std::span<const uint8_t> section, size_t& at, RecordView& record) {
  const size_t start = at;
  int64_t length = 0;
  if (!read_varlong(section, at, length) || length < 0 ||
      static_cast<uint64_t>(length) > section.size() - at) {
    return false;
  }
  std::span<const uint8_t> body = section.subspan(at, static_cast<size_t>(length));
  at += static_cast<size_t>(length);
  record.bytes = section.subspan(start, at - start);
  size_t pos = 1;  // attributes
  int64_t timestamp_delta = 0;
  int64_t offset_delta = 0;
  if (body.empty() || !read_varlong(body, pos, timestamp_delta) ||
      !read_varlong(body, pos, offset_delta) || offset_delta < 0 || offset_delta > INT32_MAX) {
    return false;
  }
  record.offset_delta = static_cast<int32_t>(offset_delta);
  record.timestamp_delta_ms = timestamp_delta;
  std::span<const uint8_t> value;
  return read_bytes(body, pos, record.has_key, record.key) &&
         read_bytes(body, pos, record.has_value, value);
}

}  // namespace

bool scan_records(std::span<const uint8_t> section, int32_t count, std::vector<RecordView>& out) {
  out.clear();
  if (count < 0) return false;
  size_t at = 0;
  for (int32_t i = 0; i < count; ++i) {
    RecordView record;
    if (!scan_one(section, at, record)) return false;
    out.push_back(record);
  }
  return at == section.size();
}

}  // namespace fjord::storage
