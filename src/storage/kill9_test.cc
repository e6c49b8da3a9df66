// Real crashes: runs crash_writer (append + fsync + print, in a loop), kills it
// with SIGKILL at random points, reopens the log and checks that every offset
// the writer reported as durable is there with identical bytes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>

#include "storage/crash_writer_batch.h"
#include "storage/partition_log.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

struct Child {
  pid_t pid;
  FILE* out;
};

Child spawn_writer(const std::string& dir) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(STORAGE_CRASH_WRITER, STORAGE_CRASH_WRITER, dir.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  return Child{pid, ::fdopen(fds[0], "r")};
}

// Reads one reported offset; false at end of stream.
bool read_offset(FILE* in, int64_t& offset) {
  long long value = 0;
  if (std::fscanf(in, "%lld", &value) != 1) return false;
  offset = value;
  return true;
}

TEST(Kill9, DurableOffsetsSurviveSigkill) {
  testing::TempDir tmp;
  const std::string dir = (tmp.path() / "topic-0").string();
  std::mt19937 rng(std::random_device{}());
  std::vector<int64_t> durable;
  for (int round = 0; round < 6; ++round) {
    Child child = spawn_writer(dir);
    const int wait_for = 5 + static_cast<int>(rng() % 40);
    int64_t offset = 0;
    for (int i = 0; i < wait_for && read_offset(child.out, offset); ++i) durable.push_back(offset);
    ::usleep(rng() % 3000);  // land the kill anywhere in append/fsync
    ::kill(child.pid, SIGKILL);
    while (read_offset(child.out, offset)) durable.push_back(offset);  // printed before death
    ::fclose(child.out);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed on its own in round " << round;

    auto log = PartitionLog::open(dir, crash_writer_config(), kCrashWriterNowMs);
    ASSERT_TRUE(log.ok()) << log.error().message;
    ASSERT_FALSE(durable.empty());
    ASSERT_GT((*log)->log_end_offset(), durable.back());
    for (int64_t base : durable) {
      auto read = (*log)->read(base, 1, INT64_MAX);
      ASSERT_TRUE(read.ok());
      EXPECT_EQ(testing::read_ranges(*read), crash_writer_batch(base)) << "offset " << base;
    }
    if (round % 2 == 0) {
      ASSERT_TRUE((*log)->close().ok());  // odd rounds: crash again
    }
  }
  std::printf("checked %zu durable batches over 6 SIGKILLs\n", durable.size());
}

}  // namespace
}  // namespace fjord::storage
