#include "storage/batch_scanner.h"

namespace fjord::storage {

using records::kBatchHeaderSize;
using records::kBatchLengthPrefix;

BatchInfo batch_info(const records::BatchHeader& h, uint64_t position) {
  return BatchInfo{h.base_offset,     h.last_offset(),
                   h.max_timestamp,   position,
                   static_cast<uint32_t>(h.size_bytes()), h.records_count};
}

BatchScanner::BatchScanner(const File& file, uint64_t start, uint64_t end, bool verify_crc,
                           size_t chunk_bytes)
    : file_(file), position_(start), end_(end), verify_crc_(verify_crc),
      chunk_bytes_(chunk_bytes), buffer_(own_buffer_) {}

BatchScanner::BatchScanner(const File& file, uint64_t start, uint64_t end, bool verify_crc,
                           size_t chunk_bytes, std::vector<uint8_t>& buffer)
    : file_(file), position_(start), end_(end), verify_crc_(verify_crc),
      chunk_bytes_(chunk_bytes), buffer_(buffer) {}

Status BatchScanner::ensure_buffered(uint64_t at, size_t length) {
  if (at >= buffer_start_ && at + length <= buffer_start_ + buffer_length_) return {};
  const size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(length, chunk_bytes_),
                                                             end_ - at));
  // The buffer never grows beyond one chunk or the largest batch met so far.
  if (buffer_.size() < want) buffer_.resize(want);
  auto n = file_.read_at(at, std::span<uint8_t>(buffer_.data(), want));
  if (!n.ok()) return n.error();
  buffer_start_ = at;
  buffer_length_ = *n;
  if (*n < length) return Error{ErrorCode::kCorruptMessage, "segment shorter than expected"};
  return {};
}

Result<std::optional<BatchInfo>> BatchScanner::next() {
  if (position_ >= end_) return std::optional<BatchInfo>();
  const uint64_t remaining = end_ - position_;
  if (remaining < kBatchHeaderSize) {
    return Error{ErrorCode::kCorruptMessage, "torn batch header at segment end"};
  }
  if (auto st = ensure_buffered(position_, kBatchHeaderSize); !st.ok()) return st.error();
  std::span<const uint8_t> header_bytes(buffer_.data() + (position_ - buffer_start_),
                                        kBatchHeaderSize);
  const records::BatchHeader header = records::read_header(header_bytes);
  if (header.magic != 2 ||
      header.batch_length < static_cast<int32_t>(kBatchHeaderSize - kBatchLengthPrefix) ||
      header.size_bytes() > remaining || header.last_offset_delta < 0 ||
      header.base_offset < 0) {
    return Error{ErrorCode::kCorruptMessage, "invalid or torn batch header"};
  }
  if (verify_crc_) {
    if (auto st = ensure_buffered(position_, header.size_bytes()); !st.ok()) return st.error();
    last_batch_ = std::span<const uint8_t>(buffer_.data() + (position_ - buffer_start_),
                                           header.size_bytes());
    auto framed = records::check_batch_framing(last_batch_);
    if (!framed.ok()) return framed.error();
  }
  BatchInfo info = batch_info(header, position_);
  position_ += header.size_bytes();
  return std::optional<BatchInfo>(info);
}

}  // namespace fjord::storage
