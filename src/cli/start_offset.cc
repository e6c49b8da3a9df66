#include "cli/start_offset.h"

#include <fmt/core.h>
#include <librdkafka/rdkafka.h>

#include <charconv>

namespace fjord::cli {

int64_t StartOffset::to_librdkafka() const {
  switch (kind) {
    case Kind::kEarliest:
      return RD_KAFKA_OFFSET_BEGINNING;
    case Kind::kLatest:
      return RD_KAFKA_OFFSET_END;
    case Kind::kAbsolute:
      return value;
    case Kind::kFromEnd:
      return RD_KAFKA_OFFSET_TAIL(value);
  }
  return RD_KAFKA_OFFSET_BEGINNING;
}

Result<StartOffset> parse_start_offset(std::string_view text) {
  if (text == "earliest" || text == "beginning") return StartOffset{StartOffset::Kind::kEarliest};
  if (text == "latest" || text == "end") return StartOffset{StartOffset::Kind::kLatest};
  const bool from_end = !text.empty() && text.front() == '-';
  std::string_view digits = from_end ? text.substr(1) : text;
  int64_t number = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  // Tail offsets are encoded below -2000 by librdkafka: keep N in int64 range.
  constexpr int64_t kMaxFromEnd = int64_t{1} << 60;
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || number < 0 ||
      (from_end && (number == 0 || number > kMaxFromEnd))) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid --offset '{}': expected earliest, latest, an offset N or "
                             "-N for the last N messages",
                             text)};
  }
  return StartOffset{from_end ? StartOffset::Kind::kFromEnd : StartOffset::Kind::kAbsolute, number};
}

}  // namespace fjord::cli
