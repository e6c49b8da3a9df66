#include "raft/log_storage/snapshot_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <system_error>

#include "common/endian.h"
#include "records/crc32c.h"
#include "storage/file.h"

namespace fjord::raft {
namespace {

constexpr uint8_t kMagic[4] = {'F', 'J', 'S', 'N'};
constexpr uint16_t kVersion = 0;
constexpr std::string_view kSuffix = ".checkpoint";
// magic, version, end offset, last term, voter count, learner count, data length, CRC
constexpr size_t kFixedBytes = 4 + 2 + 8 + 8 + 4 + 4 + 8 + 4;

Error corrupt(std::string_view why) {
  return Error{ErrorCode::kCorruptMessage, fmt::format("snapshot: {}", why)};
}

void put_nodes(std::vector<uint8_t>& out, const std::vector<NodeId>& nodes) {
  const size_t at = out.size();
  out.resize(at + 4 + 4 * nodes.size());
  store_be<uint32_t>(out.data() + at, static_cast<uint32_t>(nodes.size()));
  for (size_t i = 0; i < nodes.size(); ++i)
    store_be<int32_t>(out.data() + at + 4 + 4 * i, nodes[i]);
}

// Reads a count-prefixed, strictly increasing list of node ids.
bool get_nodes(std::span<const uint8_t> bytes, size_t& at, std::vector<NodeId>& out) {
  if (bytes.size() - at < 4) return false;
  const uint32_t count = load_be<uint32_t>(bytes.data() + at);
  at += 4;
  if (count > kMaxSnapshotNodes || (bytes.size() - at) / 4 < count) return false;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const NodeId id = load_be<int32_t>(bytes.data() + at);
    at += 4;
    if (id < 0 || (!out.empty() && id <= out.back())) return false;
    out.push_back(id);
  }
  return true;
}

bool disjoint(const std::vector<NodeId>& a, const std::vector<NodeId>& b) {
  return std::none_of(a.begin(), a.end(),
                      [&b](NodeId id) { return std::binary_search(b.begin(), b.end(), id); });
}

}  // namespace

std::string snapshot_file_name(const SnapshotFileId& id) {
  return fmt::format("{:020d}-{:010d}{}", id.end_offset, id.last_term, kSuffix);
}

std::optional<SnapshotFileId> parse_snapshot_file_name(std::string_view name) {
  if (name.size() != 20 + 1 + 10 + kSuffix.size() || name[20] != '-' ||
      name.substr(31) != kSuffix) {
    return std::nullopt;
  }
  SnapshotFileId id;
  auto parse = [](std::string_view digits, int64_t& value) {
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return ec == std::errc() && end == digits.data() + digits.size();
  };
  if (!parse(name.substr(0, 20), id.end_offset) || !parse(name.substr(21, 10), id.last_term)) {
    return std::nullopt;
  }
  return id;
}

std::vector<uint8_t> encode_snapshot(const SnapshotMeta& meta, std::span<const uint8_t> data) {
  std::vector<uint8_t> out(4 + 2 + 8 + 8);
  std::memcpy(out.data(), kMagic, 4);
  store_be<uint16_t>(out.data() + 4, kVersion);
  store_be<int64_t>(out.data() + 6, meta.end_offset);
  store_be<int64_t>(out.data() + 14, meta.last_term);
  put_nodes(out, meta.config.voters);
  put_nodes(out, meta.config.learners);
  const size_t at = out.size();
  out.resize(at + 8 + data.size() + 4);
  store_be<uint64_t>(out.data() + at, data.size());
  if (!data.empty()) std::memcpy(out.data() + at + 8, data.data(), data.size());
  const size_t crc_at = out.size() - 4;
  store_be<uint32_t>(out.data() + crc_at, records::crc32c(std::span(out).first(crc_at)));
  return out;
}

Result<LoadedSnapshot> parse_snapshot(std::span<const uint8_t> bytes) {
  if (bytes.size() < kFixedBytes) return corrupt("truncated");
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) return corrupt("bad magic");
  const size_t crc_at = bytes.size() - 4;
  if (load_be<uint32_t>(bytes.data() + crc_at) != records::crc32c(bytes.first(crc_at))) {
    return corrupt("CRC mismatch");
  }
  if (load_be<uint16_t>(bytes.data() + 4) != kVersion) return corrupt("unknown format version");
  SnapshotMeta meta;
  meta.end_offset = load_be<int64_t>(bytes.data() + 6);
  meta.last_term = load_be<int64_t>(bytes.data() + 14);
  if (meta.end_offset < 0 || meta.last_term < 0) return corrupt("negative offset or term");
  const auto body = bytes.first(crc_at);
  size_t at = 22;
  if (!get_nodes(body, at, meta.config.voters) || !get_nodes(body, at, meta.config.learners) ||
      !disjoint(meta.config.voters, meta.config.learners)) {
    return corrupt("bad configuration");
  }
  if (body.size() - at < 8) return corrupt("truncated");
  const uint64_t length = load_be<uint64_t>(body.data() + at);
  at += 8;
  if (length != body.size() - at) return corrupt("data length does not match the file size");
  auto data = std::make_shared<Bytes>(body.begin() + static_cast<std::ptrdiff_t>(at), body.end());
  return LoadedSnapshot{std::move(meta), std::move(data)};
}

std::vector<SnapshotFileId> list_snapshots(const std::filesystem::path& dir) {
  std::vector<SnapshotFileId> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (auto id = parse_snapshot_file_name(entry.path().filename().string())) ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

Status write_snapshot_file(const std::filesystem::path& dir, const SnapshotMeta& meta,
                           std::span<const uint8_t> data) {
  const auto path = dir / snapshot_file_name({meta.end_offset, meta.last_term});
  return storage::write_file_atomically(path, encode_snapshot(meta, data), /*durable=*/true);
}

Result<std::optional<LoadedSnapshot>> load_newest_snapshot(const std::filesystem::path& dir) {
  const auto ids = list_snapshots(dir);
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    const auto path = dir / snapshot_file_name(*it);
    auto bytes = storage::read_whole_file(path);
    if (!bytes.ok()) return bytes.error();
    auto loaded = parse_snapshot(*bytes);
    if (loaded.ok() && loaded->meta.end_offset == it->end_offset &&
        loaded->meta.last_term == it->last_term) {
      return std::optional<LoadedSnapshot>(std::move(loaded).value());
    }
    fmt::print(stderr, "fjord: {}: {}; trying an older snapshot\n", path.string(),
               loaded.ok() ? "does not match its name" : loaded.error().message);
  }
  return std::optional<LoadedSnapshot>();
}

void delete_old_snapshots(const std::filesystem::path& dir, size_t keep) {
  const auto ids = list_snapshots(dir);
  for (size_t i = 0; i + keep < ids.size(); ++i) {
    std::error_code ec;
    std::filesystem::remove(dir / snapshot_file_name(ids[i]), ec);
  }
}

}  // namespace fjord::raft
