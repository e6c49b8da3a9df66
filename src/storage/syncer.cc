#include "storage/syncer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

namespace fjord::storage {

Syncer::Syncer(size_t max_pending)
    : max_pending_(std::max<size_t>(max_pending, 1)), thread_([this] { run(); }) {}

Syncer::~Syncer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  thread_.join();
}

void Syncer::submit(PartitionLog::SyncHandle handle, std::function<void(Status)> done) {
  {
    std::unique_lock lock(mutex_);
    space_ready_.wait(lock, [this] { return queue_.size() < max_pending_; });
    queue_.push_back(Request{std::move(handle), std::move(done)});
  }
  work_ready_.notify_one();
}

void Syncer::run() {
  std::deque<Request> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    space_ready_.notify_all();
    sync_pass(batch);
    batch.clear();
  }
}

void Syncer::sync_pass(std::deque<Request>& batch) {
  // Every handle keeps its files open, so within one pass an fd names one file.
  std::unordered_map<int, int> errno_by_fd;
  for (const auto& request : batch) {
    for (int fd : request.handle.fds) {
      if (errno_by_fd.count(fd)) continue;
      const int rc = ::fsync(fd);
      fsync_count_.fetch_add(1);
      errno_by_fd[fd] = rc == 0 ? 0 : errno;
    }
  }
  pass_count_.fetch_add(1);
  for (auto& request : batch) {
    Status status;
    for (int fd : request.handle.fds) {
      if (const int err = errno_by_fd[fd]; err != 0) {
        status = Error{ErrorCode::kKafkaStorageError, fmt::format("fsync: {}", std::strerror(err))};
        break;
      }
    }
    request.done(std::move(status));
    request_count_.fetch_add(1);
  }
}

}  // namespace fjord::storage
