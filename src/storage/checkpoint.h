// Checkpoint files: one line "<value> <value> ... <crc>" where crc is the CRC-32C
// of the text before it. A damaged or missing checkpoint reads as nullopt; callers
// fall back to a safe default (see docs/storage-format.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "common/result.h"

namespace fjord::storage {

Status write_checkpoint(const std::filesystem::path& path, const std::vector<int64_t>& values,
                        bool durable);
std::optional<std::vector<int64_t>> read_checkpoint(const std::filesystem::path& path,
                                                    size_t value_count);

}  // namespace fjord::storage
