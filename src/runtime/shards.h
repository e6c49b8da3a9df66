// ShardPool: thread-per-core execution. One single-threaded io_context per shard,
// each run by its own thread. State owned by a shard (a partition's log, a
// connection) is touched only on that shard's thread; other shards reach it by
// posting work to its executor (message passing, no shared locks on hot paths).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace fjord::runtime {

class ShardPool {
 public:
  explicit ShardPool(unsigned shard_count);
  ~ShardPool();
  ShardPool(const ShardPool&) = delete;
  ShardPool& operator=(const ShardPool&) = delete;

  unsigned count() const { return static_cast<unsigned>(contexts_.size()); }
  boost::asio::io_context& context(unsigned shard) { return *contexts_[shard]; }
  boost::asio::any_io_executor executor(unsigned shard) { return contexts_[shard]->get_executor(); }

  // Starts one thread per shard. Returns immediately.
  void start();
  // Lets the event loops finish their queued work and joins the threads.
  void stop_and_join();

  // The shard whose thread is running the caller, or -1 outside the pool.
  static int current_shard();

 private:
  using WorkGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<WorkGuard> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace fjord::runtime
