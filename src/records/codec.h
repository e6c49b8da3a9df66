// Compression codecs of record batches v2: gzip, snappy (snappy-java "xerial"
// stream framing, as Kafka clients send it), lz4 (LZ4 frame format) and zstd.
// Decompression is bounded by `max_output_bytes` so that a small batch cannot
// expand into gigabytes (a decompression bomb).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "records/batch.h"

namespace fjord::records {

// Errors: kCorruptMessage (malformed stream, unknown codec),
//         kMessageTooLarge (the output would exceed max_output_bytes).
Result<std::vector<uint8_t>> decompress(Compression codec, std::span<const uint8_t> input,
                                        size_t max_output_bytes);

// Like decompress(), but replaces the contents of `out`, reusing its capacity.
Status decompress_into(Compression codec, std::span<const uint8_t> input, size_t max_output_bytes,
                       std::vector<uint8_t>& out);

// Compresses `input` into a new buffer. kNone copies. Errors: kCorruptMessage
// for an unknown codec, kUnknownServerError if the library fails.
Result<std::vector<uint8_t>> compress(Compression codec, std::span<const uint8_t> input);

// Appends the compressed form of `input` to `out` (keeps what `out` holds).
Status compress_append(Compression codec, std::span<const uint8_t> input,
                       std::vector<uint8_t>& out);

// True for the codec ids 0-4 that attributes bits 0-2 may carry.
bool is_known_codec(int codec_id);

}  // namespace fjord::records
