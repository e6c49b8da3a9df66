#include "cli/produce_input.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>

namespace fjord::cli {
namespace {

constexpr size_t kReadChunkBytes = 256 * 1024;

}  // namespace

KeyedLine split_key(std::string_view line, std::string_view separator) {
  if (separator.empty()) return KeyedLine{std::nullopt, line};
  const size_t at = line.find(separator);
  if (at == std::string_view::npos) return KeyedLine{std::nullopt, line};
  return KeyedLine{line.substr(0, at), line.substr(at + separator.size())};
}

Result<std::pair<std::string, std::string>> parse_header_argument(std::string_view argument) {
  const size_t equals = argument.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid header '{}': expected name=value", argument)};
  }
  return std::pair{std::string(argument.substr(0, equals)),
                   std::string(argument.substr(equals + 1))};
}

LineReader::LineReader(std::FILE* file, size_t max_line_bytes)
    : file_(file), max_line_bytes_(max_line_bytes), buffer_(max_line_bytes + kReadChunkBytes) {}

bool LineReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {  // keep the partial line, make room behind it
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const size_t room = buffer_.size() - end_;
  const size_t got = std::fread(buffer_.data() + end_, 1, room, file_);
  end_ += got;
  if (got == 0) eof_ = true;
  return got > 0;
}

Result<std::optional<std::string_view>> LineReader::next() {
  size_t scanned = 0;  // bytes of the pending line already searched for '\n'
  while (true) {
    const char* start = buffer_.data() + begin_;
    const size_t available = end_ - begin_;
    const void* newline = std::memchr(start + scanned, '\n', available - scanned);
    if (newline != nullptr) {
      size_t length = static_cast<const char*>(newline) - start;
      begin_ += length + 1;
      ++line_number_;
      if (length > max_line_bytes_) break;
      if (length > 0 && start[length - 1] == '\r') --length;
      return std::optional<std::string_view>(std::string_view(start, length));
    }
    scanned = available;
    if (available > max_line_bytes_) {
      ++line_number_;
      break;
    }
    if (!fill()) {
      if (std::ferror(file_)) {
        return Error{ErrorCode::kUnknownServerError,
                     fmt::format("cannot read input: {}", std::strerror(errno))};
      }
      if (end_ == begin_) return std::optional<std::string_view>();
      // The final line has no newline.
      start = buffer_.data() + begin_;
      size_t length = end_ - begin_;
      begin_ = end_;
      ++line_number_;
      if (length > 0 && start[length - 1] == '\r') --length;
      return std::optional<std::string_view>(std::string_view(start, length));
    }
  }
  return Error{ErrorCode::kMessageTooLarge,
               fmt::format("line {} is longer than {} bytes: split the input or raise "
                           "--max-line-bytes",
                           line_number_, max_line_bytes_)};
}

}  // namespace fjord::cli
