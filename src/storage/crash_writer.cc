// Test helper for kill9_test: appends batches to the log in argv[1] forever,
// fsyncing after each append, and prints every durable batch's base offset on
// stdout. A batch's content is a pure function of its base offset, so the test
// can check the bytes after killing this process with SIGKILL.
#include <cstdio>

#include "storage/crash_writer_batch.h"
#include "storage/partition_log.h"

int main(int argc, char** argv) {
  using namespace fjord::storage;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <partition dir>\n", argv[0]);
    return 2;
  }
  auto opened = PartitionLog::open(argv[1], crash_writer_config(), kCrashWriterNowMs);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto& log = **opened;
  while (true) {
    const int64_t base = log.log_end_offset();
    auto batch = crash_writer_batch(base);
    auto appended = log.append(batch, kCrashWriterNowMs);
    if (!appended.ok() || appended->base_offset != base || !log.sync_now().ok()) {
      std::fprintf(stderr, "append or sync failed\n");
      return 1;
    }
    std::printf("%lld\n", static_cast<long long>(base));
    std::fflush(stdout);
  }
}
