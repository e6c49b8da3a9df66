// The deterministic entries of the Raft storage crash writer (crash_writer.cc):
// an entry's size and content are a function of its offset and term, so that
// the test can check every entry it finds after a SIGKILL.
#pragma once

#include "raft/log_storage/log_storage.h"
#include "raft/log_storage/test_entries.h"

namespace fjord::raft::testing {

inline LogStorageOptions crash_writer_options() {
  LogStorageOptions options;
  options.log.segment_bytes = 8 * 1024;  // roll often
  options.log.index_interval_bytes = 512;
  return options;
}

inline int crash_entry_count(Offset offset, Term term) {
  return 1 + static_cast<int>((offset + term) % 3);
}

inline Entry crash_data_entry(Offset offset, Term term) {
  return data_entry(offset, term, crash_entry_count(offset, term),
                    static_cast<uint32_t>(offset * 31 + term));
}

}  // namespace fjord::raft::testing
