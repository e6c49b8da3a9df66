#include "raft/log_storage/quorum_state.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/endian.h"
#include "records/crc32c.h"
#include "storage/file.h"

namespace fjord::raft {
namespace {

constexpr uint8_t kMagic[4] = {'F', 'J', 'Q', 'S'};
constexpr uint16_t kVersion = 0;
constexpr size_t kCrcAt = kQuorumStateBytes - 4;

Error corrupt(std::string_view why) {
  return Error{ErrorCode::kCorruptMessage, fmt::format("quorum-state: {}", why)};
}

}  // namespace

std::vector<uint8_t> encode_quorum_state(const HardState& state) {
  std::vector<uint8_t> bytes(kQuorumStateBytes);
  uint8_t* p = bytes.data();
  std::memcpy(p, kMagic, 4);
  store_be<uint16_t>(p + 4, kVersion);
  store_be<int64_t>(p + 6, state.term);
  store_be<int32_t>(p + 14, state.voted_for);
  store_be<uint32_t>(p + kCrcAt, records::crc32c(std::span(bytes).first(kCrcAt)));
  return bytes;
}

Result<HardState> parse_quorum_state(std::span<const uint8_t> bytes) {
  if (bytes.size() != kQuorumStateBytes) {
    return corrupt(fmt::format("{} bytes, expected {}", bytes.size(), kQuorumStateBytes));
  }
  const uint8_t* p = bytes.data();
  if (std::memcmp(p, kMagic, 4) != 0) return corrupt("bad magic");
  if (load_be<uint32_t>(p + kCrcAt) != records::crc32c(bytes.first(kCrcAt))) {
    return corrupt("CRC mismatch");
  }
  if (load_be<uint16_t>(p + 4) != kVersion) return corrupt("unknown format version");
  HardState state{load_be<int64_t>(p + 6), load_be<int32_t>(p + 14)};
  if (state.term < 0 || state.voted_for < kNoNode) return corrupt("negative term or vote");
  return state;
}

Result<HardState> read_quorum_state(const std::filesystem::path& dir) {
  const auto path = dir / kQuorumStateFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) return storage::io_error("stat", path, ec.value());
    return HardState{};
  }
  auto bytes = storage::read_whole_file(path);
  if (!bytes.ok()) return bytes.error();
  auto state = parse_quorum_state(*bytes);
  if (!state.ok()) {
    return Error{ErrorCode::kCorruptMessage,
                 fmt::format("{}: {}", path.string(), state.error().message)};
  }
  return state;
}

Status write_quorum_state(const std::filesystem::path& dir, const HardState& state) {
  return storage::write_file_atomically(dir / kQuorumStateFile, encode_quorum_state(state),
                                        /*durable=*/true);
}

}  // namespace fjord::raft
