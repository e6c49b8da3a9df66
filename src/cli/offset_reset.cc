#include "cli/offset_reset.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "cli/group_report.h"

namespace fjord::cli {
namespace {

constexpr int32_t kMaxPartitionsInScope = 100000;  // bound on one --topic list

template <typename Integer>
std::optional<Integer> parse_integer(std::string_view text) {
  Integer number{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

Error scope_error(std::string_view text, std::string_view why) {
  return Error{ErrorCode::kInvalidConfig,
               fmt::format("invalid --topic '{}': {}; expected TOPIC or TOPIC:P,P,...", text, why)};
}

Error timestamp_error(std::string_view text) {
  return Error{ErrorCode::kInvalidConfig,
               fmt::format("invalid --to-timestamp '{}': expected milliseconds since the epoch "
                           "or ISO 8601 like 2024-03-01T12:30:00Z, 2024-03-01T12:30:00.250+02:00 "
                           "or 2024-03-01 (UTC when no zone is given)",
                           text)};
}

// Reads exactly `digits` decimal digits at `pos` and advances it.
std::optional<int> take_digits(std::string_view text, size_t& pos, size_t digits) {
  if (pos + digits > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < digits; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += digits;
  return value;
}

bool take_char(std::string_view text, size_t& pos, char expected) {
  if (pos < text.size() && text[pos] == expected) {
    ++pos;
    return true;
  }
  return false;
}

// "Z", "+HH:MM", "+HHMM", "-HH:MM" or nothing (UTC): minutes east of UTC.
std::optional<int> take_zone_minutes(std::string_view text, size_t& pos) {
  if (pos == text.size() || take_char(text, pos, 'Z') || take_char(text, pos, 'z')) return 0;
  const char sign = text[pos];
  if (sign != '+' && sign != '-') return std::nullopt;
  ++pos;
  auto hours = take_digits(text, pos, 2);
  take_char(text, pos, ':');
  auto minutes = take_digits(text, pos, 2);
  if (!hours || !minutes || *hours > 23 || *minutes > 59) return std::nullopt;
  const int total = *hours * 60 + *minutes;
  return sign == '+' ? total : -total;
}

// Fraction digits after the seconds, as milliseconds (more than 3 digits are cut).
std::optional<int> take_fraction_ms(std::string_view text, size_t& pos) {
  if (!take_char(text, pos, '.')) return 0;
  const size_t begin = pos;
  int ms = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (pos - begin < 3) ms = ms * 10 + (text[pos] - '0');
    ++pos;
  }
  if (pos == begin) return std::nullopt;
  for (size_t digits = pos - begin; digits < 3; ++digits) ms *= 10;
  return ms;
}

struct TimeOfDay {
  int hour = 0, minute = 0, second = 0, millisecond = 0;
};

std::optional<TimeOfDay> take_time_of_day(std::string_view text, size_t& pos) {
  TimeOfDay time;
  if (!take_char(text, pos, 'T') && !take_char(text, pos, 't') && !take_char(text, pos, ' ')) {
    return time;  // date only: midnight
  }
  auto hour = take_digits(text, pos, 2);
  if (!hour || !take_char(text, pos, ':')) return std::nullopt;
  auto minute = take_digits(text, pos, 2);
  if (!minute) return std::nullopt;
  std::optional<int> second = 0;
  std::optional<int> millisecond = 0;
  if (take_char(text, pos, ':')) {
    second = take_digits(text, pos, 2);
    millisecond = take_fraction_ms(text, pos);
  }
  if (!second || !millisecond || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  return TimeOfDay{*hour, *minute, *second, *millisecond};
}

std::optional<int64_t> parse_iso8601_ms(std::string_view text) {
  using namespace std::chrono;
  size_t pos = 0;
  auto year = take_digits(text, pos, 4);
  if (!year || !take_char(text, pos, '-')) return std::nullopt;
  auto month = take_digits(text, pos, 2);
  if (!month || !take_char(text, pos, '-')) return std::nullopt;
  auto day = take_digits(text, pos, 2);
  if (!day) return std::nullopt;
  const year_month_day date{std::chrono::year(*year), std::chrono::month(*month),
                            std::chrono::day(*day)};
  if (!date.ok()) return std::nullopt;
  auto time = take_time_of_day(text, pos);
  if (!time) return std::nullopt;
  auto zone_minutes = take_zone_minutes(text, pos);
  if (!zone_minutes || pos != text.size()) return std::nullopt;
  const auto local = sys_days(date) + hours(time->hour) + minutes(time->minute) +
                     seconds(time->second) + milliseconds(time->millisecond);
  return duration_cast<milliseconds>((local - minutes(*zone_minutes)).time_since_epoch()).count();
}

ResetPlanRow clamp_to_log(ResetPlanRow row, const PartitionLog& log) {
  if (row.new_offset < log.start_offset) {
    row.note =
        fmt::format("{} is before the log start: clamped to {}", row.new_offset, log.start_offset);
    row.new_offset = log.start_offset;
  } else if (row.new_offset > log.end_offset) {
    row.note =
        fmt::format("{} is beyond the log end: clamped to {}", row.new_offset, log.end_offset);
    row.new_offset = log.end_offset;
  }
  return row;
}

}  // namespace

Result<TopicScope> parse_topic_scope(std::string_view text) {
  const size_t colon = text.find(':');
  TopicScope scope{std::string(text.substr(0, colon)), {}};
  if (scope.topic.empty()) return scope_error(text, "the topic name is empty");
  if (colon == std::string_view::npos) return scope;
  std::string_view list = text.substr(colon + 1);
  while (true) {
    const size_t comma = list.find(',');
    auto partition = parse_integer<int32_t>(list.substr(0, comma));
    if (!partition || *partition < 0) {
      return scope_error(text,
                         fmt::format("'{}' is not a partition number", list.substr(0, comma)));
    }
    if (std::find(scope.partitions.begin(), scope.partitions.end(), *partition) ==
        scope.partitions.end()) {
      scope.partitions.push_back(*partition);
    }
    if (scope.partitions.size() > kMaxPartitionsInScope) {
      return scope_error(text, "too many partitions");
    }
    if (comma == std::string_view::npos) break;
    list = list.substr(comma + 1);
  }
  std::sort(scope.partitions.begin(), scope.partitions.end());
  return scope;
}

Result<int64_t> parse_timestamp_ms(std::string_view text) {
  if (auto ms = parse_integer<int64_t>(text)) {
    if (*ms < 0) return timestamp_error(text);
    return *ms;
  }
  auto ms = parse_iso8601_ms(text);
  if (!ms || *ms < 0) return timestamp_error(text);
  return *ms;
}

Result<ResetTarget> choose_reset_target(bool to_earliest, bool to_latest,
                                        const std::optional<std::string>& timestamp,
                                        const std::optional<std::string>& offset) {
  const int chosen =
      int{to_earliest} + int{to_latest} + int{timestamp.has_value()} + int{offset.has_value()};
  if (chosen != 1) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("give exactly one of --to-earliest, --to-latest, --to-timestamp "
                             "and --to-offset ({} given)",
                             chosen)};
  }
  if (to_earliest) return ResetTarget{ResetTarget::Kind::kEarliest};
  if (to_latest) return ResetTarget{ResetTarget::Kind::kLatest};
  if (timestamp) {
    auto ms = parse_timestamp_ms(*timestamp);
    if (!ms.ok()) return ms.error();
    return ResetTarget{ResetTarget::Kind::kTimestamp, *ms};
  }
  auto number = parse_integer<int64_t>(*offset);
  if (!number || *number < 0) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid --to-offset '{}': expected an offset >= 0", *offset)};
  }
  return ResetTarget{ResetTarget::Kind::kOffset, *number};
}

ResetPlanRow plan_partition_reset(const ResetTarget& target, const TopicPartitionId& partition,
                                  std::optional<int64_t> current, const PartitionLog& log) {
  ResetPlanRow row{partition, current, 0, {}};
  switch (target.kind) {
    case ResetTarget::Kind::kEarliest:
      row.new_offset = log.start_offset;
      return row;
    case ResetTarget::Kind::kLatest:
      row.new_offset = log.end_offset;
      return row;
    case ResetTarget::Kind::kTimestamp:
      if (!log.offset_for_time) {
        row.new_offset = log.end_offset;
        row.note = "no message at or after the time: log end";
        return row;
      }
      row.new_offset = *log.offset_for_time;
      return clamp_to_log(std::move(row), log);
    case ResetTarget::Kind::kOffset:
      row.new_offset = target.value;
      return clamp_to_log(std::move(row), log);
  }
  return row;
}

std::string format_reset_plan(const std::vector<ResetPlanRow>& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const ResetPlanRow& row : rows) {
    cells.push_back({row.partition.topic, std::to_string(row.partition.partition),
                     offset_cell(row.current), std::to_string(row.new_offset), row.note});
  }
  return format_table({"TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET", "NOTE"}, cells);
}

}  // namespace fjord::cli
