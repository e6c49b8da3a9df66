#include "protocol/wire.h"

#include <array>
#include <cstring>
#include <limits>

#include "common/endian.h"

namespace fjord::protocol {
namespace {

constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::array<uint8_t, 16> uuid_bytes(const Uuid& uuid) {
  std::array<uint8_t, 16> bytes;
  store_be<uint64_t>(bytes.data(), uuid.hi);
  store_be<uint64_t>(bytes.data() + 8, uuid.lo);
  return bytes;
}

bool same_range(const FileRange& a, const FileRange& b) {
  return a.fd == b.fd && a.offset == b.offset && a.length == b.length;
}

}  // namespace

// ---- Uuid ----

std::string Uuid::to_string() const {
  const auto bytes = uuid_bytes(*this);
  std::string text;
  text.reserve(22);
  // 16 bytes = 5 groups of 3 bytes (4 chars each) + 1 byte (2 chars), unpadded.
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) text += kBase64Url[(group >> shift) & 63];
  }
  const uint32_t last = bytes[i];
  text += kBase64Url[last >> 2];
  text += kBase64Url[(last & 3) << 4];
  return text;
}

Result<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 22) return Error{ErrorCode::kInvalidRequest, "uuid must be 22 characters"};
  std::array<uint8_t, 16> bytes{};
  uint32_t bits = 0;
  int bit_count = 0;
  size_t out = 0;
  for (char c : text) {
    const int value = base64url_value(c);
    if (value < 0) return Error{ErrorCode::kInvalidRequest, "uuid has a non-base64url character"};
    bits = (bits << 6) | static_cast<uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      if (out < bytes.size()) bytes[out++] = static_cast<uint8_t>(bits >> bit_count);
    }
    bits &= (1u << bit_count) - 1;
  }
  // 22 chars carry 132 bits: the last 4 must be zero for a canonical string.
  if (bits != 0) return Error{ErrorCode::kInvalidRequest, "uuid has trailing bits set"};
  return Uuid{load_be<uint64_t>(bytes.data()), load_be<uint64_t>(bytes.data() + 8)};
}

// ---- Records ----

size_t Records::size() const {
  if (file_ranges.empty()) return bytes.size();
  size_t total = 0;
  for (const auto& range : file_ranges) total += range.length;
  return total;
}

bool Records::operator==(const Records& other) const {
  if (is_null != other.is_null) return false;
  if (bytes.size() != other.bytes.size()) return false;
  if (!bytes.empty() && std::memcmp(bytes.data(), other.bytes.data(), bytes.size()) != 0) {
    return false;
  }
  if (file_ranges.size() != other.file_ranges.size()) return false;
  for (size_t i = 0; i < file_ranges.size(); ++i) {
    if (!same_range(file_ranges[i], other.file_ranges[i])) return false;
  }
  return true;
}

// ---- Reader ----

void Reader::fail(std::string_view why) {
  if (!ok()) return;
  error_ = std::string(why) + " at byte " + std::to_string(position_);
}

bool Reader::take(size_t length, const uint8_t** out) {
  if (!ok()) return false;
  if (length > data_.size() - position_) {
    fail("truncated input");
    return false;
  }
  *out = data_.data() + position_;
  position_ += length;
  return true;
}

int8_t Reader::read_int8() {
  const uint8_t* p;
  return take(1, &p) ? static_cast<int8_t>(*p) : 0;
}

int16_t Reader::read_int16() {
  const uint8_t* p;
  return take(2, &p) ? load_be<int16_t>(p) : 0;
}

int32_t Reader::read_int32() {
  const uint8_t* p;
  return take(4, &p) ? load_be<int32_t>(p) : 0;
}

int64_t Reader::read_int64() {
  const uint8_t* p;
  return take(8, &p) ? load_be<int64_t>(p) : 0;
}

uint16_t Reader::read_uint16() {
  const uint8_t* p;
  return take(2, &p) ? load_be<uint16_t>(p) : 0;
}

uint32_t Reader::read_uint32() {
  const uint8_t* p;
  return take(4, &p) ? load_be<uint32_t>(p) : 0;
}

double Reader::read_float64() {
  const uint64_t bits = static_cast<uint64_t>(read_int64());
  double value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

bool Reader::read_bool() { return read_int8() != 0; }

Uuid Reader::read_uuid() {
  Uuid uuid;
  uuid.hi = static_cast<uint64_t>(read_int64());
  uuid.lo = static_cast<uint64_t>(read_int64());
  return uuid;
}

uint64_t Reader::read_unsigned_varint(int max_bytes) {
  uint64_t value = 0;
  for (int i = 0; i < max_bytes; ++i) {
    const uint8_t* p;
    if (!take(1, &p)) return 0;
    value |= static_cast<uint64_t>(*p & 0x7f) << (7 * i);
    if ((*p & 0x80) == 0) return value;
  }
  fail("varint too long");
  return 0;
}

uint32_t Reader::read_uvarint() {
  const uint64_t value = read_unsigned_varint(5);
  if (value > std::numeric_limits<uint32_t>::max()) {
    fail("varint exceeds 32 bits");
    return 0;
  }
  return static_cast<uint32_t>(value);
}

int32_t Reader::read_varint() {
  const uint64_t raw = read_unsigned_varint(5);
  if (raw > std::numeric_limits<uint32_t>::max()) {
    fail("varint exceeds 32 bits");
    return 0;
  }
  const auto zigzag = static_cast<uint32_t>(raw);
  return static_cast<int32_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
}

int64_t Reader::read_varlong() {
  // 10 bytes carry 70 bits; the 10th byte may only hold the top bit.
  const size_t start = position_;
  const uint64_t zigzag = read_unsigned_varint(10);
  if (ok() && position_ - start == 10 && data_[position_ - 1] > 1) {
    fail("varlong exceeds 64 bits");
    return 0;
  }
  return static_cast<int64_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
}

int64_t Reader::read_length(bool flexible, bool wide, bool nullable) {
  int64_t length;
  if (flexible) {
    length = static_cast<int64_t>(read_uvarint()) - 1;
  } else {
    length = wide ? read_int32() : read_int16();
  }
  if (!ok()) return 0;
  if (length == -1 && !nullable) {
    fail("null in a non-nullable field");
    return 0;
  }
  if (length < -1) {
    fail("negative length");
    return 0;
  }
  if (length > static_cast<int64_t>(remaining())) {
    fail("length exceeds input");
    return 0;
  }
  return length;
}

std::span<const uint8_t> Reader::read_raw(size_t length) {
  const uint8_t* p;
  if (!take(length, &p)) return {};
  return {p, length};
}

std::string Reader::read_string(bool flexible) {
  const int64_t length = read_length(flexible, false, false);
  const auto bytes = read_raw(static_cast<size_t>(length));
  return std::string(bytes.begin(), bytes.end());
}

std::optional<std::string> Reader::read_nullable_string(bool flexible) {
  const int64_t length = read_length(flexible, false, true);
  if (length < 0) return std::nullopt;
  const auto bytes = read_raw(static_cast<size_t>(length));
  return std::string(bytes.begin(), bytes.end());
}

std::vector<uint8_t> Reader::read_bytes(bool flexible) {
  const int64_t length = read_length(flexible, true, false);
  const auto bytes = read_raw(static_cast<size_t>(length));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::optional<std::vector<uint8_t>> Reader::read_nullable_bytes(bool flexible) {
  const int64_t length = read_length(flexible, true, true);
  if (length < 0) return std::nullopt;
  const auto bytes = read_raw(static_cast<size_t>(length));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Records Reader::read_records(bool flexible, bool nullable) {
  Records records;
  const int64_t length = read_length(flexible, true, nullable);
  if (!ok() || length < 0) return records;
  records.is_null = false;
  records.bytes = read_raw(static_cast<size_t>(length));
  return records;
}

int32_t Reader::read_array_length(bool flexible, bool nullable) {
  const int64_t count = flexible ? static_cast<int64_t>(read_uvarint()) - 1 : read_int32();
  if (!ok()) return 0;
  if (count == -1) {
    if (!nullable) fail("null in a non-nullable array");
    return nullable ? -1 : 0;
  }
  if (count < -1) {
    fail("negative array length");
    return 0;
  }
  if (count > static_cast<int64_t>(remaining())) {
    fail("array length exceeds input");
    return 0;
  }
  return static_cast<int32_t>(count);
}

// ---- Writer ----

void Writer::write_raw(std::span<const uint8_t> data) {
  out_->bytes.insert(out_->bytes.end(), data.begin(), data.end());
}

void Writer::write_int8(int8_t value) { out_->bytes.push_back(static_cast<uint8_t>(value)); }

void Writer::write_int16(int16_t value) {
  uint8_t buffer[2];
  store_be(buffer, value);
  write_raw(buffer);
}

void Writer::write_int32(int32_t value) {
  uint8_t buffer[4];
  store_be(buffer, value);
  write_raw(buffer);
}

void Writer::write_int64(int64_t value) {
  uint8_t buffer[8];
  store_be(buffer, value);
  write_raw(buffer);
}

void Writer::write_uint16(uint16_t value) { write_int16(static_cast<int16_t>(value)); }
void Writer::write_uint32(uint32_t value) { write_int32(static_cast<int32_t>(value)); }

void Writer::write_float64(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  write_int64(static_cast<int64_t>(bits));
}

void Writer::write_bool(bool value) { write_int8(value ? 1 : 0); }

void Writer::write_uuid(const Uuid& value) {
  write_int64(static_cast<int64_t>(value.hi));
  write_int64(static_cast<int64_t>(value.lo));
}

void Writer::write_uvarint(uint32_t value) {
  while (value >= 0x80) {
    out_->bytes.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out_->bytes.push_back(static_cast<uint8_t>(value));
}

void Writer::write_varint(int32_t value) {
  const uint32_t zigzag = (static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31);
  write_uvarint(zigzag);
}

void Writer::write_varlong(int64_t value) {
  uint64_t zigzag = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  while (zigzag >= 0x80) {
    out_->bytes.push_back(static_cast<uint8_t>(zigzag | 0x80));
    zigzag >>= 7;
  }
  out_->bytes.push_back(static_cast<uint8_t>(zigzag));
}

void Writer::write_length(int64_t length, bool flexible, bool wide) {
  const int64_t limit = flexible ? std::numeric_limits<uint32_t>::max() - 1
                        : wide   ? std::numeric_limits<int32_t>::max()
                                 : std::numeric_limits<int16_t>::max();
  if (length > limit) {
    ok_ = false;
    length = 0;
  }
  if (flexible) {
    write_uvarint(static_cast<uint32_t>(length + 1));
  } else if (wide) {
    write_int32(static_cast<int32_t>(length));
  } else {
    write_int16(static_cast<int16_t>(length));
  }
}

void Writer::write_string(std::string_view value, bool flexible) {
  write_length(static_cast<int64_t>(value.size()), flexible, false);
  if (ok_) write_raw({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
}

void Writer::write_nullable_string(const std::optional<std::string>& value, bool flexible) {
  if (!value) {
    write_length(-1, flexible, false);
  } else {
    write_string(*value, flexible);
  }
}

void Writer::write_bytes(std::span<const uint8_t> value, bool flexible) {
  write_length(static_cast<int64_t>(value.size()), flexible, true);
  if (ok_) write_raw(value);
}

void Writer::write_nullable_bytes(const std::optional<std::vector<uint8_t>>& value, bool flexible) {
  if (!value) {
    write_length(-1, flexible, true);
  } else {
    write_bytes(*value, flexible);
  }
}

void Writer::write_array_length(size_t count, bool flexible) {
  write_length(static_cast<int64_t>(count), flexible, true);
}

void Writer::write_null_array_length(bool flexible) { write_length(-1, flexible, true); }

void Writer::write_records(const Records& records, bool flexible) {
  if (records.is_null) {
    write_length(-1, flexible, true);
    return;
  }
  write_length(static_cast<int64_t>(records.size()), flexible, true);
  if (records.file_ranges.empty()) {
    write_raw(records.bytes);
    return;
  }
  for (const auto& range : records.file_ranges) {
    out_->splices.push_back(Splice{out_->bytes.size(), range});
  }
}

void Writer::append(const OutboundMessage& other) {
  const size_t base = out_->bytes.size();
  for (const auto& splice : other.splices) {
    out_->splices.push_back(Splice{base + splice.at, splice.range});
  }
  write_raw(other.bytes);
}

void Writer::patch_int32(size_t position, int32_t value) {
  if (position + 4 > out_->bytes.size()) {
    ok_ = false;
    return;
  }
  store_be(out_->bytes.data() + position, value);
}

// ---- Tagged fields ----

TaggedFieldsWriter::TaggedFieldsWriter(Writer& out, const std::vector<RawTaggedField>& unknown,
                                       uint32_t known_count)
    : out_(out), unknown_(unknown) {
  out_.write_uvarint(known_count + static_cast<uint32_t>(unknown.size()));
}

void TaggedFieldsWriter::flush_unknown_below(uint64_t tag) {
  while (next_unknown_ < unknown_.size() && unknown_[next_unknown_].tag < tag) {
    const auto& field = unknown_[next_unknown_++];
    out_.write_uvarint(field.tag);
    out_.write_uvarint(static_cast<uint32_t>(field.data.size()));
    out_.write_raw(field.data);
  }
}

Writer& TaggedFieldsWriter::begin(uint32_t tag) {
  flush_unknown_below(tag);
  tag_ = tag;
  payload_.bytes.clear();
  payload_.splices.clear();
  return payload_writer_;
}

void TaggedFieldsWriter::end() {
  out_.write_uvarint(tag_);
  out_.write_uvarint(static_cast<uint32_t>(payload_.size()));
  out_.append(payload_);
}

void TaggedFieldsWriter::finish() { flush_unknown_below(std::numeric_limits<uint64_t>::max()); }

TaggedFieldsReader::TaggedFieldsReader(Reader& in) : in_(in) { remaining_ = in_.read_uvarint(); }

bool TaggedFieldsReader::next() {
  if (!payload_.ok())
    in_.fail("bad tagged field " + std::to_string(tag_) + ": " + payload_.error());
  if (remaining_ == 0 || !in_.ok()) return false;
  --remaining_;
  tag_ = in_.read_uvarint();
  const uint32_t size = in_.read_uvarint();
  if (size > in_.remaining()) in_.fail("tagged field size exceeds input");
  data_ = in_.read_raw(size);
  payload_ = Reader(data_);
  return in_.ok();
}

void TaggedFieldsReader::keep_unknown(std::vector<RawTaggedField>& unknown) {
  unknown.push_back(RawTaggedField{tag_, std::vector<uint8_t>(data_.begin(), data_.end())});
}

}  // namespace fjord::protocol
