#include "storage/syncer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

namespace fjord::storage {

Syncer::Syncer(size_t max_pending, size_t sync_threads)
    : max_pending_(std::max<size_t>(max_pending, 1)) {
  for (size_t i = 1; i < sync_threads; ++i) helpers_.emplace_back([this] { help(); });
  thread_ = std::thread([this] { run(); });
}

Syncer::~Syncer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  thread_.join();
  {
    std::lock_guard lock(helper_mutex_);
    helpers_stopping_ = true;
  }
  pass_ready_.notify_all();
  for (auto& helper : helpers_) helper.join();
}

// Takes fds of the current pass until none is left. Called with the pass
// registered (active > 0 or the owner), so its vectors stay alive meanwhile.
size_t Syncer::sync_some() {
  const std::vector<int>& fds = *pass_.fds;
  size_t synced = 0;
  for (size_t i = pass_.next.fetch_add(1); i < fds.size(); i = pass_.next.fetch_add(1)) {
    // fsync, not fdatasync: some handles name directories (new file entries).
    const int rc = ::fsync(fds[i]);
    (*pass_.errors)[i] = rc == 0 ? 0 : errno;
    ++synced;
  }
  fsync_count_.fetch_add(synced);
  return synced;
}

void Syncer::help() {
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock lock(helper_mutex_);
      pass_ready_.wait(lock, [&] {
        return helpers_stopping_ || (pass_.fds != nullptr && pass_.generation != seen);
      });
      if (helpers_stopping_) return;
      seen = pass_.generation;
      ++pass_.active;
    }
    const size_t synced = sync_some();
    std::lock_guard lock(helper_mutex_);
    pass_.done += synced;
    --pass_.active;
    pass_done_.notify_all();
  }
}

void Syncer::sync_all(const std::vector<int>& fds, std::vector<int>& errors) {
  errors.assign(fds.size(), 0);
  {
    std::lock_guard lock(helper_mutex_);
    pass_.fds = &fds;
    pass_.errors = &errors;
    pass_.next.store(0);
    pass_.done = 0;
    ++pass_.generation;
  }
  if (fds.size() > 1) pass_ready_.notify_all();
  const size_t synced = sync_some();
  std::unique_lock lock(helper_mutex_);
  pass_.done += synced;
  pass_done_.wait(lock, [&] { return pass_.done == fds.size() && pass_.active == 0; });
  // Helpers that wake up late must not touch this pass's vectors.
  pass_.fds = nullptr;
  pass_.errors = nullptr;
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
  std::vector<int> fds;
  for (const auto& request : batch) {
    for (int fd : request.handle.fds) {
      if (errno_by_fd.emplace(fd, 0).second) fds.push_back(fd);
    }
  }
  std::vector<int> errors;
  sync_all(fds, errors);
  for (size_t i = 0; i < fds.size(); ++i) errno_by_fd[fds[i]] = errors[i];
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
