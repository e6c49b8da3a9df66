// Syncer: runs fsyncs off the shard threads. One thread and a bounded queue; each
// pass takes every pending request, fsyncs each distinct file once (group commit:
// one fsync serves many requests and partitions), then calls every callback on
// the syncer thread. Callbacks should post back to the owning shard.
// The distinct files of a pass are synced concurrently by a few helper threads:
// files of different partitions are independent, and the file system merges
// concurrent syncs into fewer journal commits, so a pass over six partitions
// costs about one fsync instead of six in a row.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"
#include "storage/partition_log.h"

namespace fjord::storage {

class Syncer {
 public:
  explicit Syncer(size_t max_pending = 65536, size_t sync_threads = 4);
  ~Syncer();  // completes every submitted request, then joins
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  // Blocks while max_pending requests are queued (back-pressure on producers).
  void submit(PartitionLog::SyncHandle handle, std::function<void(Status)> done);

  uint64_t fsync_count() const { return fsync_count_.load(); }    // fsync calls made
  uint64_t request_count() const { return request_count_.load(); }  // requests completed
  uint64_t pass_count() const { return pass_count_.load(); }        // group commits

 private:
  struct Request {
    PartitionLog::SyncHandle handle;
    std::function<void(Status)> done;
  };
  void run();
  void sync_pass(std::deque<Request>& batch);
  // Syncs every fd of `fds`, recording errno (0 on success) in `errors`, using
  // the helper threads and the calling thread.
  void sync_all(const std::vector<int>& fds, std::vector<int>& errors);
  void help();
  size_t sync_some();

  // The fds of the current pass, shared with the helpers.
  struct Pass {
    const std::vector<int>* fds = nullptr;
    std::vector<int>* errors = nullptr;
    std::atomic<size_t> next{0};
    size_t done = 0;    // fds synced; guarded by helper_mutex_
    size_t active = 0;  // helpers working on the pass; guarded by helper_mutex_
    uint64_t generation = 0;
  };
  Pass pass_;
  std::mutex helper_mutex_;
  std::condition_variable pass_ready_;
  std::condition_variable pass_done_;
  bool helpers_stopping_ = false;
  std::vector<std::thread> helpers_;

  const size_t max_pending_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable space_ready_;
  std::deque<Request> queue_;
  bool stopping_ = false;
  std::atomic<uint64_t> fsync_count_{0};
  std::atomic<uint64_t> request_count_{0};
  std::atomic<uint64_t> pass_count_{0};
  std::thread thread_;
};

}  // namespace fjord::storage
