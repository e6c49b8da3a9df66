// Running work on the shard that owns the state it touches, from a coroutine on
// another shard: the work is posted to the owner's event loop (message passing)
// and the caller resumes on its own executor with the result.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

#include "runtime/shards.h"

namespace fjord::broker {

// Runs fn() on `shard` and returns its result. When the caller already is on that
// shard, fn runs inline (no hop, no suspension).
template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> run_on(runtime::ShardPool& pool, unsigned shard,
                                                        Fn fn) {
  using R = std::invoke_result_t<Fn>;
  if (runtime::ShardPool::current_shard() == static_cast<int>(shard)) {
    co_return fn();
  }
  co_return co_await boost::asio::co_spawn(
      pool.executor(shard),
      [fn = std::move(fn)]() mutable -> boost::asio::awaitable<R> { co_return fn(); },
      boost::asio::use_awaitable);
}

}  // namespace fjord::broker
