// What one fjord-load run does: the command line, parsed.
#pragma once

#include <cstdint>
#include <string>

#include "kafka.h"

namespace fjord::bench {

struct LoadOptions {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "fjord-load";
  int32_t partitions = 6;  // used when the tool creates the topic
  int64_t message_bytes = 1024;
  double duration_s = 20;
  std::string acks = "all";
  double rate_mb_s = 0;   // produce: 0 = as fast as possible; latency: the fixed rate
  double warmup_s = 2;    // latency: messages planned before this are not measured
  double timeout_s = 60;  // bound on a flush, a drain, a whole consume run
  Settings overrides;     // -X key=value, applied after the mode's own settings
  std::string json_path;  // also write the report as JSON here

  // Consumer-group modes (group-join, commit).
  int32_t members = 1;            // group-join: consumers in the group, one handle each
  int32_t rounds = 3;             // group-join: fresh groups formed one after another
  int32_t commit_partitions = 1;  // commit: partitions in each OffsetCommit
  int32_t commits_in_flight = 0;  // commit: 0 = synchronous, else async with this bound
};

inline constexpr double kBytesPerMb = 1e6;  // MB/s is decimal, as fio and iperf3 print it

}  // namespace fjord::bench
