// Snapshots of the metadata image in KRaft's checkpoint format: record batches
// (a SnapshotHeader control batch, the records that rebuild the image, a
// SnapshotFooter control batch). Loading one replaces replaying the log up to
// its end offset. Format: docs/metadata-log.md, "Snapshots".
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "metadata/image.h"

namespace fjord::metadata {

// A snapshot covers the log below end_offset (= last applied offset + 1);
// epoch is the leader epoch of its last record (0 on a single node).
struct SnapshotId {
  int64_t end_offset = 0;
  int32_t epoch = 0;
  bool operator==(const SnapshotId&) const = default;
};

// The bytes of a snapshot of `image`, which covers the log below
// image.last_applied_offset + 1.
std::vector<uint8_t> write_snapshot(const MetadataImage& image, int32_t epoch,
                                    int64_t timestamp_ms);
// The image the snapshot bytes rebuild (last_applied_offset = end_offset - 1).
// Checks every batch's CRC, the header and footer, and every record.
// Errors: kCorruptMessage saying what is wrong.
Result<std::shared_ptr<const MetadataImage>> load_snapshot(std::span<const uint8_t> bytes,
                                                           int64_t end_offset,
                                                           const std::string& cluster_id);

// "<end offset, 20 digits>-<epoch, 10 digits>.checkpoint", and back.
std::string snapshot_file_name(const SnapshotId& id);
std::optional<SnapshotId> parse_snapshot_file_name(const std::string& name);

// Writes the snapshot of `image` into `dir` atomically (temporary file, fsync,
// rename, directory fsync) and returns its path.
Result<std::filesystem::path> write_snapshot_file(const std::filesystem::path& dir,
                                                  const MetadataImage& image, int32_t epoch,
                                                  int64_t timestamp_ms);
// The snapshots in `dir`, newest (largest end offset) first.
Result<std::vector<SnapshotId>> list_snapshots(const std::filesystem::path& dir);
// Loads one snapshot file; errors name the file.
Result<std::shared_ptr<const MetadataImage>> load_snapshot_file(const std::filesystem::path& dir,
                                                                const SnapshotId& id,
                                                                const std::string& cluster_id);
// Deletes all but the newest `keep` snapshots of `dir`.
Status remove_old_snapshots(const std::filesystem::path& dir, size_t keep);

}  // namespace fjord::metadata
