#include "records/record.h"

#include <string>

#include "records/codec.h"
#include "records/varint.h"

namespace fjord::records {
namespace {

Error invalid(std::string why) { return Error{ErrorCode::kInvalidRecord, std::move(why)}; }

// A bounds-checked reader over one record's bytes. Every read reports failure
// instead of running past the end.
class Cursor {
 public:
  explicit Cursor(Bytes in) : in_(in) {}

  bool read_varint(int32_t& out) {
    size_t used = 0;
    auto v = varint::read_zigzag(in_.subspan(pos_), varint::kMaxVarintBytes, used);
    if (!v) return false;
    pos_ += used;
    out = static_cast<int32_t>(*v);
    return true;
  }

  bool read_varlong(int64_t& out) {
    size_t used = 0;
    auto v = varint::read_zigzag(in_.subspan(pos_), varint::kMaxVarlongBytes, used);
    if (!v) return false;
    pos_ += used;
    out = *v;
    return true;
  }

  bool read_i8(int8_t& out) {
    if (pos_ >= in_.size()) return false;
    out = static_cast<int8_t>(in_[pos_++]);
    return true;
  }

  bool read_span(size_t n, Bytes& out) {
    if (n > in_.size() - pos_) return false;
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

  // A varint length, then that many bytes; -1 is null. Other negatives fail.
  bool read_nullable(NullableBytes& out) {
    int32_t length = 0;
    if (!read_varint(length) || length < -1) return false;
    if (length == -1) {
      out.reset();
      return true;
    }
    Bytes bytes;
    if (!read_span(static_cast<size_t>(length), bytes)) return false;
    out = bytes;
    return true;
  }

  size_t pos() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  Bytes in_;
  size_t pos_ = 0;
};

// Reads one header; used both to check headers while parsing a record and to iterate them.
bool read_header_entry(Cursor& cursor, RecordHeader& out) {
  int32_t key_length = 0;
  if (!cursor.read_varint(key_length) || key_length < 0) return false;
  return cursor.read_span(static_cast<size_t>(key_length), out.key) &&
         cursor.read_nullable(out.value);
}

}  // namespace

void HeaderList::Iterator::load() {
  if (left_ <= 0) return;
  Cursor cursor(rest_);
  // Cannot fail: parse_record() checked every header of this list already.
  read_header_entry(cursor, current_);
  current_bytes_ = cursor.pos();
}

HeaderList::Iterator& HeaderList::Iterator::operator++() {
  rest_ = rest_.subspan(current_bytes_);
  --left_;
  load();
  return *this;
}

Result<Record> parse_record(Bytes in) {
  Cursor outer(in);
  int32_t body_bytes = 0;
  if (!outer.read_varint(body_bytes) || body_bytes < 0) {
    return invalid("record length is not a valid varint");
  }
  if (static_cast<size_t>(body_bytes) > outer.remaining()) {
    return invalid("record length " + std::to_string(body_bytes) + " exceeds the " +
                   std::to_string(outer.remaining()) + " bytes left in the batch");
  }
  const size_t prefix_bytes = outer.pos();
  Cursor cursor(in.subspan(prefix_bytes, static_cast<size_t>(body_bytes)));
  Record record;
  int32_t header_count = 0;
  if (!cursor.read_i8(record.attributes) || !cursor.read_varlong(record.timestamp_delta) ||
      !cursor.read_varint(record.offset_delta) || !cursor.read_nullable(record.key) ||
      !cursor.read_nullable(record.value) || !cursor.read_varint(header_count)) {
    return invalid("malformed record fields");
  }
  if (header_count < 0) return invalid("negative record header count");
  const size_t headers_at = cursor.pos();
  RecordHeader header;
  for (int32_t i = 0; i < header_count; ++i) {
    if (!read_header_entry(cursor, header)) return invalid("malformed record header");
  }
  if (cursor.remaining() != 0) {
    return invalid("record length " + std::to_string(body_bytes) + " does not match its fields");
  }
  const Bytes body = in.subspan(prefix_bytes, static_cast<size_t>(body_bytes));
  record.headers = HeaderList(body.subspan(headers_at), header_count);
  record.bytes = in.first(prefix_bytes + static_cast<size_t>(body_bytes));
  return record;
}

Result<bool> RecordReader::next(Record& out) {
  if (rest_.empty()) return false;
  Result<Record> record = parse_record(rest_);
  if (!record) return record.error();
  out = *record;
  rest_ = rest_.subspan(out.bytes.size());
  return true;
}

Result<Bytes> records_section(Bytes batch, std::vector<uint8_t>& scratch,
                              size_t max_uncompressed_bytes) {
  if (batch.size() < kBatchHeaderSize) {
    return Error{ErrorCode::kCorruptMessage, "record batch shorter than its header"};
  }
  const BatchHeader header = read_header(batch);
  if (header.batch_length < static_cast<int32_t>(kBatchHeaderSize - kBatchLengthPrefix) ||
      header.size_bytes() > batch.size()) {
    return Error{ErrorCode::kCorruptMessage, "record batch length out of bounds"};
  }
  const Bytes stored = batch.subspan(kBatchHeaderSize, header.size_bytes() - kBatchHeaderSize);
  const int codec = header.attributes & attr::kCompressionMask;
  if (!is_known_codec(codec)) {
    return Error{ErrorCode::kCorruptMessage, "unknown compression codec " + std::to_string(codec)};
  }
  if (header.compression() == Compression::kNone) return stored;
  if (Status s = decompress_into(header.compression(), stored, max_uncompressed_bytes, scratch);
      !s) {
    return s.error();
  }
  return Bytes(scratch);
}

namespace detail {
Status records_count_mismatch(int32_t declared, int32_t found, size_t leftover_bytes) {
  return invalid(
      "batch declares " + std::to_string(declared) + " records but holds " + std::to_string(found) +
      (leftover_bytes ? " and " + std::to_string(leftover_bytes) + " bytes more" : std::string()));
}
}  // namespace detail

}  // namespace fjord::records
