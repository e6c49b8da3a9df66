// CRC-32C (Castagnoli), the checksum of Kafka record batches v2. Uses the SSE4.2
// crc32 instruction; the project is built with -msse4.2 (see docs/ARCHITECTURE.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace fjord::records {

// Extends `crc` (0 for a fresh checksum) over `data`. Large inputs run three
// interleaved crc32 chains (the instruction has a latency of 3 cycles and a
// throughput of 1 per cycle) and combine them with precomputed shift tables.
uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

namespace detail {
// The plain one-chain loop; kept as the reference for tests and benchmarks.
uint32_t crc32c_one_chain(std::span<const uint8_t> data, uint32_t crc = 0);
}  // namespace detail

}  // namespace fjord::records
