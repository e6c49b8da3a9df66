#include "storage/syncer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "storage/test_util.h"

namespace fjord::storage {
namespace {

using testing::make_value_batch;
using testing::TempDir;

constexpr int64_t kNow = 1'700'000'000'000;

TEST(Syncer, CompletesEveryRequestAndMarksDurable) {
  TempDir dir;
  auto log = std::move(PartitionLog::open(dir.path() / "t-0", LogConfig(), kNow)).value();
  Syncer syncer;
  auto batch = make_value_batch(2, 10, kNow);
  ASSERT_TRUE(log->append(batch, kNow).ok());
  auto handle = log->prepare_sync();
  const int64_t target = handle.target_offset;
  std::promise<Status> done;
  syncer.submit(std::move(handle), [&done](Status st) { done.set_value(st); });
  ASSERT_TRUE(done.get_future().get().ok());
  log->mark_durable(target);
  EXPECT_EQ(log->durable_offset(), 2);
  EXPECT_GE(syncer.fsync_count(), 1u);
}

// Group commit: requests queued while a pass runs are served together by one
// fsync per distinct file. The first request's callback holds the syncer thread
// until every other request is queued, so the grouping is deterministic.
TEST(Syncer, GroupCommitSharesFsyncs) {
  TempDir dir;
  constexpr int kPartitions = 4;
  constexpr int kRequests = 400;
  std::vector<std::unique_ptr<PartitionLog>> logs;
  for (int p = 0; p < kPartitions; ++p) {
    logs.push_back(
        std::move(PartitionLog::open(dir.path() / fmt::format("t-{}", p), LogConfig(), kNow))
            .value());
  }
  std::atomic<int> ok{0};
  std::atomic<int> completed{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  uint64_t fsyncs = 0;
  uint64_t passes = 0;
  {
    Syncer syncer(1024);
    auto first = make_value_batch(1, 100, kNow);
    ASSERT_TRUE(logs[0]->append(first, kNow).ok());
    syncer.submit(logs[0]->prepare_sync(), [&, released](Status st) {
      released.wait();
      ok += st.ok() ? 1 : 0;
      ++completed;
    });
    for (int i = 1; i < kRequests; ++i) {
      auto& log = *logs[i % kPartitions];
      auto batch = make_value_batch(1, 100, kNow, i);
      ASSERT_TRUE(log.append(batch, kNow).ok());
      syncer.submit(log.prepare_sync(), [&](Status st) {
        ok += st.ok() ? 1 : 0;
        ++completed;
      });
    }
    release.set_value();
    while (completed.load() < kRequests) std::this_thread::yield();
    fsyncs = syncer.fsync_count();
    passes = syncer.pass_count();
  }
  EXPECT_EQ(ok.load(), kRequests);
  std::printf("%d requests: %llu fsyncs in %llu passes\n", kRequests,
              static_cast<unsigned long long>(fsyncs), static_cast<unsigned long long>(passes));
  // The first pass is held by its first callback, so everything not in it is
  // one more pass.
  EXPECT_GE(passes, 1u);
  EXPECT_LE(passes, 2u);
  // Each pass fsyncs at most every partition's segment and directory once.
  EXPECT_LE(fsyncs, passes * 2u * kPartitions);
}

TEST(Syncer, DeduplicatesFilesWithinOnePass) {
  TempDir dir;
  auto log = std::move(PartitionLog::open(dir.path() / "t-0", LogConfig(), kNow)).value();
  auto batch = make_value_batch(1, 10, kNow);
  ASSERT_TRUE(log->append(batch, kNow).ok());
  ASSERT_TRUE(log->sync_now().ok());  // the directory entry is synced now
  std::vector<PartitionLog::SyncHandle> handles;
  for (int i = 0; i < 50; ++i) {
    auto more = make_value_batch(1, 10, kNow);
    ASSERT_TRUE(log->append(more, kNow).ok());
    handles.push_back(log->prepare_sync());
    ASSERT_EQ(handles.back().fds.size(), 1u);  // only the active segment
  }
  std::atomic<int> completed{0};
  {
    Syncer syncer;
    // Submitted while the syncer thread may be idle or busy; each pass syncs the
    // one file once, so fsyncs <= passes.
    for (auto& h : handles) syncer.submit(std::move(h), [&](Status) { ++completed; });
  }
  EXPECT_EQ(completed.load(), 50);
}

}  // namespace
}  // namespace fjord::storage
