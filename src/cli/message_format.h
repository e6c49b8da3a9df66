// The output format of `fjord consume --format`, with kcat-like placeholders:
//   %v (or %s) value   %k key   %S value length   %K key length (-1 if null)
//   %t topic   %p partition   %o offset   %T timestamp (ms, -1 if none)
//   %h headers as k1=v1,k2=v2   %% a percent sign
// and the escapes \n \r \t \\ . Null keys and values print as nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fjord::cli {

struct MessageHeader {
  std::string_view name;
  std::optional<std::string_view> value;  // nullopt: null header value
};

// A consumed message, viewing memory the caller owns.
struct MessageView {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<MessageHeader> headers;
};

inline constexpr std::string_view kDefaultMessageFormat = "%v\\n";

class MessageFormat {
 public:
  // Fails with kInvalidConfig naming the bad placeholder or escape.
  static Result<MessageFormat> compile(std::string_view format);

  // Appends the formatted message to `out`.
  void render(const MessageView& message, std::string& out) const;

  // True if the format prints headers (so the consumer must fetch them).
  bool uses_headers() const { return uses_headers_; }

 private:
  enum class Field : uint8_t {
    kLiteral,
    kValue,
    kKey,
    kValueLength,
    kKeyLength,
    kTopic,
    kPartition,
    kOffset,
    kTimestamp,
    kHeaders,
  };
  struct Piece {
    Field field = Field::kLiteral;
    std::string literal;
  };

  std::vector<Piece> pieces_;
  bool uses_headers_ = false;
};

}  // namespace fjord::cli
