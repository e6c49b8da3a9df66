#include "runtime/shards.h"

namespace fjord::runtime {
namespace {
thread_local int t_current_shard = -1;
}

ShardPool::ShardPool(unsigned shard_count) {
  if (shard_count == 0) shard_count = 1;
  for (unsigned i = 0; i < shard_count; ++i) {
    // concurrency hint 1: each io_context is only ever run by its own thread.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.emplace_back(contexts_.back()->get_executor());
  }
}

ShardPool::~ShardPool() { stop_and_join(); }

void ShardPool::start() {
  for (unsigned i = 0; i < contexts_.size(); ++i) {
    threads_.emplace_back([this, i] {
      t_current_shard = static_cast<int>(i);
      contexts_[i]->run();
    });
  }
}

void ShardPool::stop_and_join() {
  for (auto& g : guards_) g.reset();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

int ShardPool::current_shard() { return t_current_shard; }

}  // namespace fjord::runtime
