// Snapshot files of a Raft group: `<end offset>-<last term>.checkpoint` holding
// the SnapshotMeta and the state machine's bytes with a CRC (format:
// docs/raft-storage.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "raft/message.h"

namespace fjord::raft {

// Bound on the voters and on the learners of a snapshot's configuration.
inline constexpr uint32_t kMaxSnapshotNodes = 4096;

struct SnapshotFileId {
  Offset end_offset = 0;
  Term last_term = 0;
  auto operator<=>(const SnapshotFileId&) const = default;
};

std::string snapshot_file_name(const SnapshotFileId& id);  // 20 digits - 10 digits .checkpoint
std::optional<SnapshotFileId> parse_snapshot_file_name(std::string_view name);

struct LoadedSnapshot {
  SnapshotMeta meta;
  std::shared_ptr<const Bytes> data;
};

std::vector<uint8_t> encode_snapshot(const SnapshotMeta& meta, std::span<const uint8_t> data);
// kCorruptMessage for anything but a whole, valid snapshot.
Result<LoadedSnapshot> parse_snapshot(std::span<const uint8_t> bytes);

// The snapshot files in `dir`, oldest first.
std::vector<SnapshotFileId> list_snapshots(const std::filesystem::path& dir);
// Writes the file durably (temporary file, fsync, rename, directory fsync).
Status write_snapshot_file(const std::filesystem::path& dir, const SnapshotMeta& meta,
                           std::span<const uint8_t> data);
// The newest snapshot that parses and matches its name; damaged ones are
// reported on stderr and skipped. nullopt if there is none.
Result<std::optional<LoadedSnapshot>> load_newest_snapshot(const std::filesystem::path& dir);
// Deletes all but the newest `keep` snapshot files.
void delete_old_snapshots(const std::filesystem::path& dir, size_t keep);

}  // namespace fjord::raft
