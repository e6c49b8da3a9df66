// Latch: lets a coroutine wait until N events have happened, where the events
// may be signalled from any thread. All state is touched only on the waiter's
// executor (signals are posted there), so no lock is needed. Always held by
// shared_ptr (Latch::make), since signallers may outlive the waiter.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>

namespace fjord::broker {

class Latch : public std::enable_shared_from_this<Latch> {
 public:
  Latch(boost::asio::any_io_executor executor, size_t count)
      : executor_(executor), timer_(executor), count_(count) {}
  Latch(const Latch&) = delete;
  Latch& operator=(const Latch&) = delete;

  static std::shared_ptr<Latch> make(boost::asio::any_io_executor executor, size_t count) {
    return std::make_shared<Latch>(executor, count);
  }

  // Thread-safe; may be called after the waiter gave up (the post keeps the latch alive).
  void count_down() {
    boost::asio::post(executor_, [self = shared_from_this()] {
      if (self->count_ > 0 && --self->count_ == 0) self->timer_.cancel();
    });
  }

  // The same as count_down(), for callers already on the latch's executor.
  void arrive() {
    if (count_ > 0 && --count_ == 0) timer_.cancel();
  }

  // Waits until the count reaches zero.
  boost::asio::awaitable<void> wait() {
    while (count_ > 0) {
      timer_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
  }

  // Waits until the count reaches zero or `timeout` passes. Returns true if it reached zero.
  boost::asio::awaitable<bool> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count_ > 0 && std::chrono::steady_clock::now() < deadline) {
      timer_.expires_at(deadline);
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    co_return count_ == 0;
  }

  bool done() const { return count_ == 0; }

 private:
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer timer_;
  size_t count_;
};

}  // namespace fjord::broker
