// Input handling of `fjord produce`: one message per line, an optional key
// separator, `k=v` header arguments.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fjord::cli {

struct KeyedLine {
  std::optional<std::string_view> key;  // nullopt: no key
  std::string_view value;
};

// Splits at the first `separator`; with an empty separator, or when the line
// lacks it, the whole line is the value and there is no key (like kcat -K).
KeyedLine split_key(std::string_view line, std::string_view separator);

// "name=value" (the value may be empty, the name may not).
Result<std::pair<std::string, std::string>> parse_header_argument(std::string_view argument);

// Reads lines from a FILE* through a bounded buffer; a line longer than
// `max_line_bytes` is an error naming its line number. A trailing "\r" is
// dropped (CRLF files), the final line needs no newline.
class LineReader {
 public:
  LineReader(std::FILE* file, size_t max_line_bytes);

  // The next line (valid until the next call), nullopt at end of input.
  Result<std::optional<std::string_view>> next();

  size_t line_number() const { return line_number_; }

 private:
  bool fill();  // reads more input; false at EOF or on error

  std::FILE* file_;
  size_t max_line_bytes_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // unread data is buffer_[begin_, end_)
  size_t end_ = 0;
  size_t line_number_ = 0;
  bool eof_ = false;
};

}  // namespace fjord::cli
