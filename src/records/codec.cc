#include "records/codec.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "common/endian.h"

namespace fjord::records {
namespace {

// First allocation for outputs of unknown size; doubled as needed, up to the limit.
constexpr size_t kInitialOutputBytes = 64 * 1024;

// snappy-java's stream header: magic, then int32 version 1 and int32 compatible
// version 1. Chunks follow, each an int32 big-endian length and a raw snappy block.
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderBytes = 16;
// snappy-java's default block size; kafka-python and librdkafka use the same.
constexpr size_t kXerialBlockBytes = 32 * 1024;

Error too_large(size_t limit) {
  return Error{ErrorCode::kMessageTooLarge,
               "decompressed records exceed the limit of " + std::to_string(limit) + " bytes"};
}

Error corrupt(const char* codec, const std::string& why) {
  return Error{ErrorCode::kCorruptMessage, std::string(codec) + " decompression failed: " + why};
}

// Grows `out` so that at least one more byte fits after `used`. Decoders may
// produce up to limit + 1 bytes: that extra byte tells "too large" apart from
// "exactly at the limit". Returns false when nothing more may be produced.
bool grow_output(std::vector<uint8_t>& out, size_t used, size_t limit) {
  if (used < out.size()) return true;
  const size_t cap = limit == SIZE_MAX ? limit : limit + 1;
  if (used >= cap) return false;
  // A reused scratch buffer keeps its capacity: use all of it before doubling.
  const size_t want = std::max({kInitialOutputBytes, out.size() * 2, out.capacity()});
  out.resize(std::min(want, cap));
  return true;
}

// Trims `out` to `used` and turns output beyond the limit into kMessageTooLarge.
Status finish_output(Status status, std::vector<uint8_t>& out, size_t used, size_t limit) {
  out.resize(used);
  if (used > limit) return too_large(limit);
  return status;
}

Status gunzip(std::span<const uint8_t> in, size_t limit, std::vector<uint8_t>& out) {
  // Record batches are below 2 GiB; zlib's input counter is 32 bits.
  if (in.size() > UINT32_MAX) return corrupt("gzip", "input too large");
  z_stream zs{};
  // 15 + 32: accept gzip or zlib headers, detected automatically.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return corrupt("gzip", "inflateInit2");
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  size_t used = 0;
  Status status;
  while (grow_output(out, used, limit)) {
    // zlib counts in 32 bits: offer at most 1 GiB of output per call.
    const auto room = static_cast<uInt>(std::min<size_t>(out.size() - used, size_t{1} << 30));
    zs.next_out = out.data() + used;
    zs.avail_out = room;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    used += room - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Concatenated gzip members are one stream (as in Java's GZIPInputStream).
      if (inflateReset(&zs) != Z_OK) {
        status = corrupt("gzip", "inflateReset");
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      status = corrupt("gzip", "truncated stream");
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = corrupt("gzip", zs.msg ? zs.msg : "inflate error");
      break;
    }
  }
  inflateEnd(&zs);
  return finish_output(std::move(status), out, used, limit);
}

Status append_raw_snappy(std::span<const uint8_t> block, size_t limit, std::vector<uint8_t>& out) {
  const auto* src = reinterpret_cast<const char*>(block.data());
  size_t length = 0;
  if (!snappy::GetUncompressedLength(src, block.size(), &length)) {
    return corrupt("snappy", "bad block header");
  }
  if (length > limit - out.size()) return too_large(limit);
  const size_t at = out.size();
  out.resize(at + length);
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(out.data() + at))) {
    return corrupt("snappy", "malformed block");
  }
  return {};
}

Status unsnappy(std::span<const uint8_t> in, size_t limit, std::vector<uint8_t>& out) {
  out.clear();
  if (in.size() < kXerialHeaderBytes || std::memcmp(in.data(), kXerialMagic, 8) != 0) {
    // Not xerial-framed: accept a raw snappy block for robustness.
    return append_raw_snappy(in, limit, out);
  }
  size_t pos = kXerialHeaderBytes;
  while (pos < in.size()) {
    // snappy-java streams may be concatenated, each with its own header. A chunk
    // length never starts with 0x82 (that would exceed 2 GiB), so this is unambiguous.
    if (in.size() - pos >= kXerialHeaderBytes &&
        std::memcmp(in.data() + pos, kXerialMagic, 8) == 0) {
      pos += kXerialHeaderBytes;
      continue;
    }
    if (in.size() - pos < 4) return corrupt("snappy", "truncated chunk length");
    const auto chunk_bytes = load_be<uint32_t>(in.data() + pos);
    pos += 4;
    if (chunk_bytes > in.size() - pos) return corrupt("snappy", "chunk longer than the stream");
    if (Status s = append_raw_snappy(in.subspan(pos, chunk_bytes), limit, out); !s) return s;
    pos += chunk_bytes;
  }
  return {};
}

Status unlz4(std::span<const uint8_t> in, size_t limit, std::vector<uint8_t>& out) {
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) {
    return corrupt("lz4", "cannot create context");
  }
  size_t used = 0, pos = 0;
  size_t hint = 1;  // 0 once a frame is complete and flushed
  Status status;
  // Runs while input is left, or while the last frame may still hold output.
  while ((pos < in.size() || hint != 0) && grow_output(out, used, limit)) {
    size_t out_bytes = out.size() - used;
    size_t in_bytes = in.size() - pos;
    hint =
        LZ4F_decompress(dctx, out.data() + used, &out_bytes, in.data() + pos, &in_bytes, nullptr);
    if (LZ4F_isError(hint)) {
      status = corrupt("lz4", LZ4F_getErrorName(hint));
      break;
    }
    used += out_bytes;
    pos += in_bytes;
    if (hint != 0 && pos == in.size() && out_bytes == 0 && in_bytes == 0) {
      status = corrupt("lz4", "truncated frame");
      break;
    }
  }
  LZ4F_freeDecompressionContext(dctx);
  return finish_output(std::move(status), out, used, limit);
}

Status unzstd(std::span<const uint8_t> in, size_t limit, std::vector<uint8_t>& out) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (ds == nullptr) return corrupt("zstd", "cannot create context");
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t used = 0;
  size_t hint = 1;  // 0 once a frame is complete and flushed
  Status status;
  while ((input.pos < input.size || hint != 0) && grow_output(out, used, limit)) {
    ZSTD_outBuffer output{out.data(), out.size(), used};
    const size_t in_before = input.pos;
    hint = ZSTD_decompressStream(ds, &output, &input);
    if (ZSTD_isError(hint)) {
      status = corrupt("zstd", ZSTD_getErrorName(hint));
      break;
    }
    const bool progressed = output.pos > used || input.pos > in_before;
    used = output.pos;
    if (hint != 0 && input.pos == input.size && !progressed) {
      status = corrupt("zstd", "truncated frame");
      break;
    }
  }
  ZSTD_freeDStream(ds);
  return finish_output(std::move(status), out, used, limit);
}

Status gzip_append(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  if (in.size() > UINT32_MAX) {
    return Error{ErrorCode::kMessageTooLarge, "gzip input above 4 GiB"};
  }
  z_stream zs{};
  // 15 + 16: gzip framing. Level 6 is zlib's and the Java client's default trade-off.
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error{ErrorCode::kUnknownServerError, "deflateInit2 failed"};
  }
  const size_t at = out.size();
  out.resize(at + deflateBound(&zs, in.size()) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data() + at;
  zs.avail_out = static_cast<uInt>(out.size() - at);
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(out.size() - zs.avail_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Error{ErrorCode::kUnknownServerError, "deflate failed"};
  return {};
}

Status snappy_append(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  out.insert(out.end(), kXerialMagic, kXerialMagic + 8);
  const size_t version_at = out.size();
  out.resize(version_at + 8);
  store_be<int32_t>(out.data() + version_at, 1);
  store_be<int32_t>(out.data() + version_at + 4, 1);
  for (size_t pos = 0; pos < in.size(); pos += kXerialBlockBytes) {
    const size_t chunk = std::min(kXerialBlockBytes, in.size() - pos);
    const size_t len_at = out.size();
    out.resize(len_at + 4 + snappy::MaxCompressedLength(chunk));
    size_t written = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in.data() + pos), chunk,
                        reinterpret_cast<char*>(out.data() + len_at + 4), &written);
    store_be<uint32_t>(out.data() + len_at, static_cast<uint32_t>(written));
    out.resize(len_at + 4 + written);
  }
  return {};
}

Status lz4_append(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;  // Kafka's default block size
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  const size_t at = out.size();
  out.resize(at + LZ4F_compressFrameBound(in.size(), &prefs));
  const size_t written =
      LZ4F_compressFrame(out.data() + at, out.size() - at, in.data(), in.size(), &prefs);
  if (LZ4F_isError(written)) {
    out.resize(at);
    return Error{ErrorCode::kUnknownServerError, LZ4F_getErrorName(written)};
  }
  out.resize(at + written);
  return {};
}

Status zstd_append(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  const size_t at = out.size();
  out.resize(at + ZSTD_compressBound(in.size()));
  // Level 3 is zstd's default and what Kafka clients use.
  const size_t written = ZSTD_compress(out.data() + at, out.size() - at, in.data(), in.size(), 3);
  if (ZSTD_isError(written)) {
    out.resize(at);
    return Error{ErrorCode::kUnknownServerError, ZSTD_getErrorName(written)};
  }
  out.resize(at + written);
  return {};
}

}  // namespace

bool is_known_codec(int codec_id) { return codec_id >= 0 && codec_id <= 4; }

Status decompress_into(Compression codec, std::span<const uint8_t> input, size_t max_output_bytes,
                       std::vector<uint8_t>& out) {
  switch (codec) {
    case Compression::kNone:
      if (input.size() > max_output_bytes) return too_large(max_output_bytes);
      out.assign(input.begin(), input.end());
      return {};
    case Compression::kGzip:
      out.clear();
      return gunzip(input, max_output_bytes, out);
    case Compression::kSnappy:
      return unsnappy(input, max_output_bytes, out);
    case Compression::kLz4:
      out.clear();
      return unlz4(input, max_output_bytes, out);
    case Compression::kZstd:
      out.clear();
      return unzstd(input, max_output_bytes, out);
  }
  return Error{ErrorCode::kCorruptMessage, "unknown compression codec"};
}

Result<std::vector<uint8_t>> decompress(Compression codec, std::span<const uint8_t> input,
                                        size_t max_output_bytes) {
  std::vector<uint8_t> out;
  if (Status s = decompress_into(codec, input, max_output_bytes, out); !s) return s.error();
  return out;
}

Status compress_append(Compression codec, std::span<const uint8_t> input,
                       std::vector<uint8_t>& out) {
  switch (codec) {
    case Compression::kNone:
      out.insert(out.end(), input.begin(), input.end());
      return {};
    case Compression::kGzip:
      return gzip_append(input, out);
    case Compression::kSnappy:
      return snappy_append(input, out);
    case Compression::kLz4:
      return lz4_append(input, out);
    case Compression::kZstd:
      return zstd_append(input, out);
  }
  return Error{ErrorCode::kCorruptMessage, "unknown compression codec"};
}

Result<std::vector<uint8_t>> compress(Compression codec, std::span<const uint8_t> input) {
  std::vector<uint8_t> out;
  if (Status s = compress_append(codec, input, out); !s) return s.error();
  return out;
}

}  // namespace fjord::records
