// The progress line of long produce/consume runs (stderr, once a second) and
// the summary at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace fjord::cli {

// "produced 120000 msgs, 11.4 MB, 119800 msgs/s"
std::string progress_line(std::string_view verb, uint64_t messages, uint64_t bytes, double seconds);

// "produced 120000 messages (11.4 MB) in 1.0 s (119800 msgs/s, 11.4 MB/s)"
std::string summary_line(std::string_view verb, uint64_t messages, uint64_t bytes, double seconds);

class ProgressMeter {
 public:
  // `enabled` false: count only, print nothing.
  ProgressMeter(std::string verb, bool enabled);

  void add(uint64_t messages, uint64_t bytes) {
    messages_ += messages;
    bytes_ += bytes;
    if (enabled_ && ++calls_since_check_ >= kCallsPerClockCheck) check_clock();
  }
  // Prints the progress line if a second has passed since the last one.
  void check_clock();
  // Ends the progress line and prints the summary (if enabled).
  void finish(std::string_view suffix = {});

  uint64_t messages() const { return messages_; }
  uint64_t bytes() const { return bytes_; }
  double elapsed_seconds() const;

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr int kCallsPerClockCheck = 256;

  std::string verb_;
  bool enabled_;
  bool terminal_;  // stderr is a terminal: rewrite one line in place
  bool printed_ = false;
  int calls_since_check_ = 0;
  uint64_t messages_ = 0;
  uint64_t bytes_ = 0;
  Clock::time_point start_;
  Clock::time_point last_print_;
};

}  // namespace fjord::cli
