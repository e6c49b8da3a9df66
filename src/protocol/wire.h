// Kafka wire primitives: a bounds-checked Reader over a received frame and a
// Writer that appends to an OutboundMessage. The generated message code
// (protocol/generated/) is built only from these calls.
//
// The Reader never throws and never reads out of bounds: the first error is
// recorded, every later read is a no-op returning a default, and the caller
// checks ok() once at the end. This keeps the generated decoders straight-line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/outbound.h"
#include "common/result.h"

namespace fjord::protocol {

// A 128-bit id (topic id, member id...). All zeros means "no id".
struct Uuid {
  uint64_t hi = 0;  // most significant 64 bits, sent first
  uint64_t lo = 0;

  bool operator==(const Uuid&) const = default;

  // Kafka's Uuid.toString(): unpadded base64url of the 16 bytes (22 chars).
  std::string to_string() const;
  // The inverse of to_string(); fails on anything that is not 22 base64url chars.
  static Result<Uuid> parse(std::string_view text);
};

// A tagged field this code does not know (or not in this version). Kept on
// decode and re-emitted on encode so a proxy-like round trip loses nothing.
struct RawTaggedField {
  uint32_t tag = 0;
  std::vector<uint8_t> data;

  bool operator==(const RawTaggedField&) const = default;
};

// The value of a `records` field: concatenated record batches.
// Decoded: `bytes` points into the request buffer (no copy); the caller keeps
// that buffer alive as long as the message. Encoded: either `bytes`, or, when
// `file_ranges` is non-empty, the ranges are spliced in (zero-copy fetch).
struct Records {
  bool is_null = true;
  std::span<const uint8_t> bytes;
  std::vector<FileRange> file_ranges;

  // The byte size on the wire (without the length prefix).
  size_t size() const;

  static Records from_bytes(std::span<const uint8_t> data) {
    Records records;
    records.is_null = false;
    records.bytes = data;
    return records;
  }

  // Same null-ness, same bytes and same file ranges (fd, offset, length).
  bool operator==(const Records& other) const;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t position() const { return position_; }
  size_t remaining() const { return ok() ? data_.size() - position_ : 0; }
  // Records the first failure; later reads return defaults.
  void fail(std::string_view why);

  int8_t read_int8();
  int16_t read_int16();
  int32_t read_int32();
  int64_t read_int64();
  uint16_t read_uint16();
  uint32_t read_uint32();
  double read_float64();
  bool read_bool();
  Uuid read_uuid();

  // Unsigned LEB128 varint (compact lengths, tag numbers), at most 5 bytes.
  uint32_t read_uvarint();
  // Signed zigzag varints as used inside record batches.
  int32_t read_varint();
  int64_t read_varlong();

  // `flexible` selects the compact encodings. A null where the field is not
  // nullable is an error.
  std::string read_string(bool flexible);
  std::optional<std::string> read_nullable_string(bool flexible);
  std::vector<uint8_t> read_bytes(bool flexible);
  std::optional<std::vector<uint8_t>> read_nullable_bytes(bool flexible);
  Records read_records(bool flexible, bool nullable);

  // Element count of an array: -1 for null (only when `nullable`, else an
  // error). A count larger than the remaining bytes fails at once (every
  // element takes at least one byte), so a huge count never allocates.
  int32_t read_array_length(bool flexible, bool nullable);

  // The next `length` bytes, without copying.
  std::span<const uint8_t> read_raw(size_t length);

 private:
  bool take(size_t length, const uint8_t** out);
  uint64_t read_unsigned_varint(int max_bytes);
  // Length of a string/bytes: -1 is null; other negatives fail.
  int64_t read_length(bool flexible, bool wide, bool nullable);

  std::span<const uint8_t> data_;
  size_t position_ = 0;
  std::string error_;
};

class Writer {
 public:
  explicit Writer(OutboundMessage& out) : out_(&out) {}

  OutboundMessage& message() { return *out_; }
  // Bytes written so far, spliced file ranges included.
  size_t size() const { return out_->size(); }
  // False once a value could not be represented (e.g. a string over 32767
  // bytes in a non-flexible version); the output is then unusable.
  bool ok() const { return ok_; }

  void write_int8(int8_t value);
  void write_int16(int16_t value);
  void write_int32(int32_t value);
  void write_int64(int64_t value);
  void write_uint16(uint16_t value);
  void write_uint32(uint32_t value);
  void write_float64(double value);
  void write_bool(bool value);
  void write_uuid(const Uuid& value);

  void write_uvarint(uint32_t value);
  void write_varint(int32_t value);
  void write_varlong(int64_t value);

  void write_string(std::string_view value, bool flexible);
  void write_nullable_string(const std::optional<std::string>& value, bool flexible);
  void write_bytes(std::span<const uint8_t> value, bool flexible);
  void write_nullable_bytes(const std::optional<std::vector<uint8_t>>& value, bool flexible);
  void write_array_length(size_t count, bool flexible);
  void write_null_array_length(bool flexible);
  // Size prefix, then the bytes or, with file ranges, one Splice per range.
  void write_records(const Records& records, bool flexible);

  void write_raw(std::span<const uint8_t> data);
  // Appends another message (bytes and splices), e.g. a tagged-field payload.
  void append(const OutboundMessage& other);

  // Overwrites 4 bytes at `position` of the in-memory bytes (a size prefix
  // reserved earlier; only valid before any splice at or after it).
  void patch_int32(size_t position, int32_t value);

 private:
  void write_length(int64_t length, bool flexible, bool wide);

  OutboundMessage* out_;
  bool ok_ = true;
};

// Writes a flexible struct's tagged-field section: the known tagged fields the
// generated code emits, merged in ascending tag order with the unknown ones.
//   TaggedFieldsWriter tagged(w, unknown_tagged_fields, known_count);
//   if (...) { Writer& payload = tagged.begin(0); ...; tagged.end(); }
//   tagged.finish();
class TaggedFieldsWriter {
 public:
  TaggedFieldsWriter(Writer& out, const std::vector<RawTaggedField>& unknown, uint32_t known_count);
  TaggedFieldsWriter(const TaggedFieldsWriter&) = delete;
  TaggedFieldsWriter& operator=(const TaggedFieldsWriter&) = delete;
  Writer& begin(uint32_t tag);
  void end();
  void finish();

 private:
  void flush_unknown_below(uint64_t tag);

  Writer& out_;
  const std::vector<RawTaggedField>& unknown_;
  size_t next_unknown_ = 0;
  uint32_t tag_ = 0;
  OutboundMessage payload_;
  Writer payload_writer_{payload_};
};

// Reads one tagged-field section entry by entry:
//   TaggedFieldsReader tagged(r);
//   while (tagged.next()) { switch (tagged.tag()) { case 0: x = tagged.payload().read_...; break;
//                           default: tagged.keep_unknown(unknown_tagged_fields); } }
class TaggedFieldsReader {
 public:
  explicit TaggedFieldsReader(Reader& in);
  // Advances to the next entry; false at the end or on error. Errors inside the
  // previous payload are copied to the outer reader first.
  bool next();
  uint32_t tag() const { return tag_; }
  Reader& payload() { return payload_; }
  void keep_unknown(std::vector<RawTaggedField>& unknown);

 private:
  Reader& in_;
  uint32_t remaining_ = 0;
  uint32_t tag_ = 0;
  std::span<const uint8_t> data_;
  Reader payload_{std::span<const uint8_t>()};
};

}  // namespace fjord::protocol
