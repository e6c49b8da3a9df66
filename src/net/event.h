// A wake-up signal between coroutines of one shard: wait() suspends until the
// next notify(). Not thread-safe: the waiter and the notifier share a thread.
// A notify() while nobody waits is lost, so waiters check their condition
// before each wait (the shard is single-threaded, so nothing changes between
// the check and the wait).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fjord::net {

class Event {
 public:
  explicit Event(const boost::asio::any_io_executor& executor) : timer_(executor) {}

  // Ends at the next notify().
  boost::asio::awaitable<void> wait() {
    waiting_ = true;
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
    co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    waiting_ = false;
  }

  // Cheap when nobody waits: no timer operation at all.
  void notify() {
    if (waiting_) timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;  // a wait that only cancel() ends
  bool waiting_ = false;
};

}  // namespace fjord::net
