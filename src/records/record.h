// Zero-allocation reading of the records inside a v2 batch (README §8). Every
// length and varint is bounds-checked; spans point into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/result.h"
#include "records/batch.h"

namespace fjord::records {

using Bytes = std::span<const uint8_t>;
// A key, value or header value: nullopt is null (length -1), distinct from empty.
using NullableBytes = std::optional<Bytes>;

inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

struct RecordHeader {
  Bytes key;  // never null
  NullableBytes value;
};

// The headers of one record. Parsed and checked together with the record, so
// iterating cannot fail.
class HeaderList {
 public:
  class Iterator {
   public:
    using value_type = RecordHeader;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    Iterator(Bytes rest, int32_t left) : rest_(rest), left_(left) { load(); }
    const RecordHeader& operator*() const { return current_; }
    const RecordHeader* operator->() const { return &current_; }
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Iterator& other) const { return left_ == other.left_; }

   private:
    void load();
    Bytes rest_;
    int32_t left_ = 0;
    size_t current_bytes_ = 0;
    RecordHeader current_;
  };

  HeaderList() = default;
  HeaderList(Bytes bytes, int32_t count) : bytes_(bytes), count_(count) {}
  int32_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  Iterator begin() const { return Iterator(bytes_, count_); }
  Iterator end() const { return Iterator(); }

 private:
  Bytes bytes_;  // the encoded headers, after the count
  int32_t count_ = 0;
};

struct Record {
  int8_t attributes = 0;  // unused by the format, always 0 from real clients
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  NullableBytes key;
  NullableBytes value;
  HeaderList headers;
  Bytes bytes;  // the whole encoded record, length prefix included
};

// Iterates the uncompressed records section of a batch (the bytes after the
// 61-byte header, or the decompressed stream).
class RecordReader {
 public:
  explicit RecordReader(Bytes records) : rest_(records) {}

  // Parses the next record into `out`. Returns false when the section is exhausted.
  // Errors: kInvalidRecord for a malformed record (Kafka's DefaultRecord.readFrom
  // throws InvalidRecordException for these).
  Result<bool> next(Record& out);

  size_t remaining_bytes() const { return rest_.size(); }

 private:
  Bytes rest_;
};

// Parses one record at the front of `in`. Exposed for fuzzing and tests.
Result<Record> parse_record(Bytes in);

// The uncompressed records section of one whole batch (header included in
// `batch`, at least header.size_bytes() long): a subspan of `batch` when the
// batch is uncompressed, otherwise the decompressed stream held in `scratch`
// (reused; its previous contents are replaced). Does not check the CRC.
// Errors: kCorruptMessage (short batch, bad stream, unknown codec),
//         kMessageTooLarge (decompressed size > max_uncompressed_bytes).
Result<Bytes> records_section(Bytes batch, std::vector<uint8_t>& scratch,
                              size_t max_uncompressed_bytes);

// Calls `callback(const Record&)` for each record of one whole batch, decompressing
// into `scratch` if needed. The callback may return void or Status; a failed
// Status stops the iteration and is returned. Exactly header.records_count records
// must parse and fill the records section: otherwise kInvalidRecord (after
// callbacks for the records before the fault). Returns the number of records.
// The spans in each Record point into `batch` (uncompressed) or `scratch`
// (compressed): copy what must outlive the next use of `scratch`.
template <typename Callback>
Result<int32_t> for_each_record(Bytes batch, std::vector<uint8_t>& scratch,
                                size_t max_uncompressed_bytes, Callback&& callback);

namespace detail {
Status records_count_mismatch(int32_t declared, int32_t found, size_t leftover_bytes);
}

template <typename Callback>
Result<int32_t> for_each_record(Bytes batch, std::vector<uint8_t>& scratch,
                                size_t max_uncompressed_bytes, Callback&& callback) {
  Result<Bytes> section = records_section(batch, scratch, max_uncompressed_bytes);
  if (!section) return section.error();
  const int32_t declared = read_header(batch).records_count;
  RecordReader reader(*section);
  Record record;
  int32_t found = 0;
  while (found < declared) {
    Result<bool> more = reader.next(record);
    if (!more) return more.error();
    if (!*more) break;
    ++found;
    if constexpr (std::is_same_v<std::invoke_result_t<Callback&, const Record&>, void>) {
      callback(record);
    } else {
      Status status = callback(record);
      if (!status) return status.error();
    }
  }
  if (found != declared || reader.remaining_bytes() != 0) {
    return detail::records_count_mismatch(declared, found, reader.remaining_bytes()).error();
  }
  return found;
}

}  // namespace fjord::records
