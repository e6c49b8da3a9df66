// CRC-32C (Castagnoli), the checksum of Kafka record batches v2. Uses the SSE4.2
// crc32 instruction; the project is built with -msse4.2 (see docs/ARCHITECTURE.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace fjord::records {

// Extends `crc` (0 for a fresh checksum) over `data`.
uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

}  // namespace fjord::records
