#include "storage/partition_dirs.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "storage/file.h"

namespace fjord::storage {
namespace {

constexpr std::string_view kDeletedSuffix = ".deleted";

bool is_deleted_name(const std::string& name) {
  return name.size() > kDeletedSuffix.size() &&
         name.compare(name.size() - kDeletedSuffix.size(), kDeletedSuffix.size(),
                      kDeletedSuffix) == 0;
}

}  // namespace

std::filesystem::path partition_dir(const std::filesystem::path& data_dir,
                                    const std::string& topic, int32_t partition) {
  return data_dir / fmt::format("{}-{}", topic, partition);
}

Result<std::vector<std::pair<std::string, int32_t>>> list_partition_dirs(
    const std::filesystem::path& data_dir) {
  std::vector<std::pair<std::string, int32_t>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    const std::string name = entry.path().filename().string();
    if (is_deleted_name(name)) continue;
    const size_t dash = name.rfind('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) continue;
    int32_t partition = -1;
    auto [end, parse_ec] = std::from_chars(name.data() + dash + 1, name.data() + name.size(),
                                           partition);
    if (parse_ec != std::errc() || end != name.data() + name.size() || partition < 0) continue;
    found.emplace_back(name.substr(0, dash), partition);
  }
  if (ec) return io_error("list directory", data_dir, ec.value());
  std::sort(found.begin(), found.end());
  return found;
}

Status remove_partition_dir(const std::filesystem::path& dir) {
  std::filesystem::path deleted = dir;
  deleted += kDeletedSuffix;
  std::error_code ec;
  std::filesystem::remove_all(deleted, ec);  // an earlier attempt cut short
  if (::rename(dir.c_str(), deleted.c_str()) != 0) return io_error("rename", dir, errno);
  if (auto st = sync_directory(dir.parent_path()); !st.ok()) return st;
  std::filesystem::remove_all(deleted, ec);
  if (ec) return io_error("remove", deleted, ec.value());
  return {};
}

void remove_leftover_deleted_dirs(const std::filesystem::path& data_dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    if (entry.is_directory(ec) && is_deleted_name(entry.path().filename().string())) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
}

}  // namespace fjord::storage
