#include "storage/test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "common/endian.h"
#include "records/codec.h"
#include "storage/record_scan.h"

namespace fjord::storage::testing {
namespace {

void put_varlong(std::vector<uint8_t>& out, int64_t value) {
  uint64_t raw = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  while (raw >= 0x80) {
    out.push_back(static_cast<uint8_t>(raw | 0x80));
    raw >>= 7;
  }
  out.push_back(static_cast<uint8_t>(raw));
}

void put_nullable(std::vector<uint8_t>& out, const std::optional<std::string>& s) {
  if (!s) {
    put_varlong(out, -1);
    return;
  }
  put_varlong(out, static_cast<int64_t>(s->size()));
  out.insert(out.end(), s->begin(), s->end());
}

std::optional<std::string> nullable_at(std::span<const uint8_t> body, size_t& at) {
  // Mirrors the record layout: varint length, -1 = null.
  uint64_t raw = 0;
  int shift = 0;
  while (true) {
    const uint8_t b = body[at++];
    raw |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
    shift += 7;
  }
  const int64_t length = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
  if (length < 0) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(body.data() + at), static_cast<size_t>(length));
  at += static_cast<size_t>(length);
  return s;
}

void skip_varlong(std::span<const uint8_t> body, size_t& at) {
  while (body[at++] & 0x80) {
  }
}

}  // namespace

std::vector<uint8_t> make_batch(const std::vector<TestRecord>& recs, int64_t base_timestamp_ms,
                                records::Compression compression, int16_t extra_attributes) {
  std::vector<uint8_t> section;
  int64_t max_timestamp = base_timestamp_ms;
  for (size_t i = 0; i < recs.size(); ++i) {
    std::vector<uint8_t> body;
    body.push_back(0);
    put_varlong(body, recs[i].timestamp_delta_ms);
    put_varlong(body, static_cast<int64_t>(i));
    put_nullable(body, recs[i].key);
    put_nullable(body, recs[i].value);
    put_varlong(body, 0);  // headers
    put_varlong(section, static_cast<int64_t>(body.size()));
    section.insert(section.end(), body.begin(), body.end());
    max_timestamp = std::max(max_timestamp, base_timestamp_ms + recs[i].timestamp_delta_ms);
  }
  std::vector<uint8_t> batch(records::kBatchHeaderSize);
  if (compression == records::Compression::kNone) {
    batch.resize(records::kBatchHeaderSize + section.size());
    if (!section.empty()) {
      std::memcpy(batch.data() + records::kBatchHeaderSize, section.data(), section.size());
    }
  } else if (!records::compress_append(compression, section, batch).ok()) {
    throw std::runtime_error("compress failed");
  }
  records::BatchHeader h;
  h.base_offset = 0;
  h.batch_length = static_cast<int32_t>(batch.size() - records::kBatchLengthPrefix);
  h.attributes = static_cast<int16_t>(static_cast<int16_t>(compression) | extra_attributes);
  h.last_offset_delta = recs.empty() ? 0 : static_cast<int32_t>(recs.size() - 1);
  h.base_timestamp = base_timestamp_ms;
  h.max_timestamp = max_timestamp;
  h.records_count = static_cast<int32_t>(recs.size());
  records::write_header(h, batch);
  h.crc = records::compute_batch_crc(batch);
  records::write_header(h, batch);
  return batch;
}

std::vector<uint8_t> make_value_batch(int count, size_t value_bytes, int64_t timestamp_ms,
                                      uint32_t seed) {
  std::vector<TestRecord> recs;
  for (int i = 0; i < count; ++i) {
    std::string value(value_bytes, '\0');
    for (size_t j = 0; j < value_bytes; ++j) {
      value[j] = static_cast<char>('a' + (seed * 31 + static_cast<uint32_t>(i) * 7 + j) % 26);
    }
    recs.push_back({std::nullopt, value, 0});
  }
  return make_batch(recs, timestamp_ms);
}

std::vector<records::BatchHeader> batch_headers(const std::vector<uint8_t>& batches) {
  std::vector<records::BatchHeader> out;
  for (size_t at = 0; at + records::kBatchHeaderSize <= batches.size();) {
    auto h = records::read_header(std::span<const uint8_t>(batches).subspan(at));
    out.push_back(h);
    at += h.size_bytes();
  }
  return out;
}

std::vector<StoredRecord> decode_records(const std::vector<uint8_t>& batches) {
  std::vector<StoredRecord> out;
  std::vector<RecordView> views;
  size_t at = 0;
  for (const auto& h : batch_headers(batches)) {
    std::span<const uint8_t> batch(batches.data() + at, h.size_bytes());
    at += h.size_bytes();
    if (h.is_control()) continue;
    std::vector<uint8_t> section(batch.begin() + records::kBatchHeaderSize, batch.end());
    if (h.compression() != records::Compression::kNone) {
      section = records::decompress(h.compression(), section, 1 << 28).value();
    }
    if (!scan_records(section, h.records_count, views)) throw std::runtime_error("bad records");
    for (const auto& v : views) {
      std::span<const uint8_t> rec = v.bytes;
      size_t pos = 0;
      skip_varlong(rec, pos);  // length
      pos += 1;                // attributes
      skip_varlong(rec, pos);  // timestamp delta
      skip_varlong(rec, pos);  // offset delta
      auto key = nullable_at(rec, pos);
      auto value = nullable_at(rec, pos);
      out.push_back({h.base_offset + v.offset_delta, key, value});
    }
  }
  return out;
}

std::vector<uint8_t> read_ranges(const ReadResult& result) {
  std::vector<uint8_t> out;
  for (const auto& r : result.ranges) {
    const size_t at = out.size();
    out.resize(at + r.length);
    if (::pread(r.fd, out.data() + at, r.length, static_cast<off_t>(r.offset)) !=
        static_cast<ssize_t>(r.length)) {
      throw std::runtime_error("short pread");
    }
  }
  return out;
}

std::vector<uint8_t> read_all(const PartitionLog& log, int64_t offset) {
  if (offset < 0) offset = log.log_start_offset();
  auto result = log.read(offset, SIZE_MAX / 2, INT64_MAX);
  if (!result.ok()) throw std::runtime_error(result.error().message);
  return read_ranges(*result);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "fjord-storage-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace fjord::storage::testing
