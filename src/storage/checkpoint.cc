#include "storage/checkpoint.h"

#include <charconv>
#include <string>

#include <fmt/format.h>

#include "records/crc32c.h"
#include "storage/file.h"

namespace fjord::storage {
namespace {

uint32_t text_crc(std::string_view text) {
  return records::crc32c({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

}  // namespace

Status write_checkpoint(const std::filesystem::path& path, const std::vector<int64_t>& values,
                        bool durable) {
  std::string body;
  for (int64_t v : values) body += fmt::format("{} ", v);
  std::string line = fmt::format("{}{}\n", body, text_crc(body));
  return write_file_atomically(
      path, {reinterpret_cast<const uint8_t*>(line.data()), line.size()}, durable);
}

std::optional<std::vector<int64_t>> read_checkpoint(const std::filesystem::path& path,
                                                    size_t value_count) {
  auto bytes = read_whole_file(path);
  if (!bytes.ok()) return std::nullopt;
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  std::vector<int64_t> values;
  size_t pos = 0;
  for (size_t i = 0; i < value_count; ++i) {
    const size_t space = text.find(' ', pos);
    if (space == std::string_view::npos) return std::nullopt;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + space, v);
    if (ec != std::errc() || end != text.data() + space) return std::nullopt;
    values.push_back(v);
    pos = space + 1;
  }
  const std::string_view body = text.substr(0, pos);
  uint32_t crc = 0;
  const size_t newline = text.find('\n', pos);
  if (newline == std::string_view::npos || newline + 1 != text.size()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + newline, crc);
  if (ec != std::errc() || end != text.data() + newline || crc != text_crc(body)) {
    return std::nullopt;
  }
  return values;
}

}  // namespace fjord::storage
