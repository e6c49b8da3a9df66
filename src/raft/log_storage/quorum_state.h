// The `quorum-state` file of a Raft group: its term and vote, with a CRC
// (format: docs/raft-storage.md). A damaged file is an error, never "term 0":
// forgetting a vote would let the node vote twice in one term.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "common/result.h"
#include "raft/message.h"

namespace fjord::raft {

inline constexpr size_t kQuorumStateBytes = 22;
inline constexpr const char* kQuorumStateFile = "quorum-state";

std::vector<uint8_t> encode_quorum_state(const HardState& state);
// kCorruptMessage for anything but a whole, valid file.
Result<HardState> parse_quorum_state(std::span<const uint8_t> bytes);

// The state in `dir`; HardState{} if no file was ever written there.
Result<HardState> read_quorum_state(const std::filesystem::path& dir);
// Replaces the file durably: temporary file, fsync, rename, directory fsync.
Status write_quorum_state(const std::filesystem::path& dir, const HardState& state);

}  // namespace fjord::raft
