#include "cli/progress.h"

#include <fmt/core.h>
#include <unistd.h>

namespace fjord::cli {
namespace {

constexpr double kBytesPerMb = 1e6;
constexpr auto kPrintInterval = std::chrono::seconds(1);

double per_second(double amount, double seconds) { return seconds > 0 ? amount / seconds : 0; }

}  // namespace

std::string progress_line(std::string_view verb, uint64_t messages, uint64_t bytes,
                          double seconds) {
  return fmt::format("{} {} msgs, {:.1f} MB, {:.0f} msgs/s", verb, messages,
                     static_cast<double>(bytes) / kBytesPerMb,
                     per_second(static_cast<double>(messages), seconds));
}

std::string summary_line(std::string_view verb, uint64_t messages, uint64_t bytes, double seconds) {
  const double megabytes = static_cast<double>(bytes) / kBytesPerMb;
  return fmt::format("{} {} message{} ({:.1f} MB) in {:.1f} s ({:.0f} msgs/s, {:.1f} MB/s)", verb,
                     messages, messages == 1 ? "" : "s", megabytes, seconds,
                     per_second(static_cast<double>(messages), seconds),
                     per_second(megabytes, seconds));
}

ProgressMeter::ProgressMeter(std::string verb, bool enabled)
    : verb_(std::move(verb)),
      enabled_(enabled),
      terminal_(isatty(STDERR_FILENO) == 1),
      start_(Clock::now()),
      last_print_(start_) {}

double ProgressMeter::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

void ProgressMeter::check_clock() {
  calls_since_check_ = 0;
  if (!enabled_ || messages_ == 0) return;  // nothing to report yet
  const auto now = Clock::now();
  if (now - last_print_ < kPrintInterval) return;
  last_print_ = now;
  printed_ = true;
  const std::string line = progress_line(verb_, messages_, bytes_, elapsed_seconds());
  if (terminal_) {
    fmt::print(stderr, "\r\033[Kfjord: {}", line);
  } else {
    fmt::print(stderr, "fjord: {}\n", line);
  }
  std::fflush(stderr);
}

void ProgressMeter::finish(std::string_view suffix) {
  if (!enabled_) return;
  if (printed_ && terminal_) fmt::print(stderr, "\r\033[K");
  fmt::print(stderr, "fjord: {}{}\n", summary_line(verb_, messages_, bytes_, elapsed_seconds()),
             suffix);
}

}  // namespace fjord::cli
