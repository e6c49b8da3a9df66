// Where `fjord consume` starts: --offset earliest|latest|N|-N.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace fjord::cli {

struct StartOffset {
  enum class Kind { kEarliest, kLatest, kAbsolute, kFromEnd };
  Kind kind = Kind::kEarliest;
  int64_t value = 0;  // kAbsolute: the offset; kFromEnd: how many messages before the end

  // The librdkafka logical or absolute offset for an assignment.
  int64_t to_librdkafka() const;
};

// "earliest" (or "beginning"), "latest" (or "end"), "N" (absolute), "-N" (the
// last N messages of each partition).
Result<StartOffset> parse_start_offset(std::string_view text);

}  // namespace fjord::cli
