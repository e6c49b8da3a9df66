#include "cli/message_format.h"

#include <fmt/format.h>

namespace fjord::cli {
namespace {

constexpr std::string_view kPlaceholderHelp = "%v %k %S %K %t %p %o %T %h %%";

}  // namespace

Result<MessageFormat> MessageFormat::compile(std::string_view format) {
  MessageFormat compiled;
  std::string literal;
  const auto flush_literal = [&] {
    if (literal.empty()) return;
    compiled.pieces_.push_back(Piece{Field::kLiteral, std::move(literal)});
    literal.clear();
  };
  const auto add_field = [&](Field field) {
    flush_literal();
    compiled.pieces_.push_back(Piece{field, {}});
  };
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '%' && c != '\\') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 == format.size()) {
      return Error{ErrorCode::kInvalidConfig,
                   fmt::format("format '{}' ends with a lone '{}': write {}{} for a literal one",
                               format, c, c, c)};
    }
    const char next = format[++i];
    if (c == '\\') {
      switch (next) {
        case 'n':
          literal.push_back('\n');
          break;
        case 'r':
          literal.push_back('\r');
          break;
        case 't':
          literal.push_back('\t');
          break;
        case '\\':
          literal.push_back('\\');
          break;
        default:
          return Error{ErrorCode::kInvalidConfig,
                       fmt::format("unknown escape '\\{}' in format '{}': use \\n \\r \\t \\\\",
                                   next, format)};
      }
      continue;
    }
    switch (next) {
      case '%':
        literal.push_back('%');
        break;
      case 'v':
      case 's':
        add_field(Field::kValue);
        break;
      case 'k':
        add_field(Field::kKey);
        break;
      case 'S':
        add_field(Field::kValueLength);
        break;
      case 'K':
        add_field(Field::kKeyLength);
        break;
      case 't':
        add_field(Field::kTopic);
        break;
      case 'p':
        add_field(Field::kPartition);
        break;
      case 'o':
        add_field(Field::kOffset);
        break;
      case 'T':
        add_field(Field::kTimestamp);
        break;
      case 'h':
        add_field(Field::kHeaders);
        compiled.uses_headers_ = true;
        break;
      default:
        return Error{ErrorCode::kInvalidConfig,
                     fmt::format("unknown placeholder '%{}' in format '{}': use {}", next, format,
                                 kPlaceholderHelp)};
    }
  }
  flush_literal();
  return compiled;
}

void MessageFormat::render(const MessageView& message, std::string& out) const {
  const auto append_length = [&](const std::optional<std::string_view>& bytes) {
    fmt::format_to(std::back_inserter(out), "{}",
                   bytes ? static_cast<int64_t>(bytes->size()) : int64_t{-1});
  };
  for (const Piece& piece : pieces_) {
    switch (piece.field) {
      case Field::kLiteral:
        out.append(piece.literal);
        break;
      case Field::kValue:
        out.append(message.value.value_or(std::string_view{}));
        break;
      case Field::kKey:
        out.append(message.key.value_or(std::string_view{}));
        break;
      case Field::kValueLength:
        append_length(message.value);
        break;
      case Field::kKeyLength:
        append_length(message.key);
        break;
      case Field::kTopic:
        out.append(message.topic);
        break;
      case Field::kPartition:
        fmt::format_to(std::back_inserter(out), "{}", message.partition);
        break;
      case Field::kOffset:
        fmt::format_to(std::back_inserter(out), "{}", message.offset);
        break;
      case Field::kTimestamp:
        fmt::format_to(std::back_inserter(out), "{}", message.timestamp_ms);
        break;
      case Field::kHeaders:
        for (size_t i = 0; i < message.headers.size(); ++i) {
          if (i > 0) out.push_back(',');
          out.append(message.headers[i].name);
          out.push_back('=');
          out.append(message.headers[i].value.value_or(std::string_view{}));
        }
        break;
    }
  }
}

}  // namespace fjord::cli
