// A scriptable RequestHandler for the network layer's tests. The first byte of
// a frame says what to do with it:
//   'e' echo the frame              'd' echo after a random delay (0-2 ms)
//   'n' no response                 'c' close the connection
//   't' throw                       'b' echo once release_blocked() was called
//   'f' reply with the file response   's' reply with the connection's shard number
// It counts calls, calls running at once, and records the order calls started.
#pragma once

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/request_handler.h"

namespace fjord::net::testing {

class TestHandler : public RequestHandler {
 public:
  boost::asio::awaitable<HandlerResult> handle(std::vector<uint8_t> frame,
                                               const ConnectionInfo& connection) override {
    ++calls;
    note_start(frame);
    RunningCount running_now(*this);
    char command = frame.empty() ? 'e' : static_cast<char>(frame[0]);
    HandlerResult result;
    result.response.bytes = frame;
    switch (command) {
      case 'd':
        co_await sleep_us(random_delay_us());
        break;
      case 'n':
        result.kind = HandlerResult::Kind::kNoResponse;
        break;
      case 'c':
        result.kind = HandlerResult::Kind::kClose;
        break;
      case 't':
        throw std::runtime_error("test handler told to throw");
      case 'b':
        co_await wait_for_release();
        break;
      case 'f': {
        std::lock_guard lock(mu_);
        result.response = file_response_;
        break;
      }
      case 's':
        result.response.bytes.assign(1, static_cast<uint8_t>(connection.shard));
        break;
      default:
        break;
    }
    co_return result;
  }

  // Lets every blocked call ('b') finish, and later ones not block.
  void release_blocked() {
    std::lock_guard lock(mu_);
    released_ = true;
    for (auto& gate : gates_) {
      boost::asio::post(gate->get_executor(), [gate] { gate->cancel(); });
    }
    gates_.clear();
  }

  // The first 4 bytes after the command of each frame, as an int, in the order calls started.
  std::vector<int> start_order() {
    std::lock_guard lock(mu_);
    return start_order_;
  }

  void set_file_response(OutboundMessage message) {
    std::lock_guard lock(mu_);
    file_response_ = std::move(message);
  }

  std::atomic<int> calls{0};
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};

 private:
  struct RunningCount {
    explicit RunningCount(TestHandler& h) : handler(h) {
      int now = ++handler.running;
      int seen = handler.max_running.load();
      while (now > seen && !handler.max_running.compare_exchange_weak(seen, now)) {
      }
    }
    ~RunningCount() { --handler.running; }
    TestHandler& handler;
  };

  void note_start(const std::vector<uint8_t>& frame) {
    if (frame.size() < 5) return;
    int seq = 0;
    std::memcpy(&seq, frame.data() + 1, sizeof(seq));
    std::lock_guard lock(mu_);
    start_order_.push_back(seq);
  }

  static int random_delay_us() {
    thread_local std::mt19937 random(std::random_device{}());
    return std::uniform_int_distribution<int>(0, 2000)(random);
  }

  static boost::asio::awaitable<void> sleep_us(int micros) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                    std::chrono::microseconds(micros));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }

  boost::asio::awaitable<void> wait_for_release() {
    auto gate = std::make_shared<boost::asio::steady_timer>(
        co_await boost::asio::this_coro::executor, boost::asio::steady_timer::time_point::max());
    {
      std::lock_guard lock(mu_);
      if (released_) {
        co_return;
      }
      gates_.push_back(gate);
    }
    co_await gate->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }

  std::mutex mu_;
  bool released_ = false;
  std::vector<std::shared_ptr<boost::asio::steady_timer>> gates_;
  std::vector<int> start_order_;
  OutboundMessage file_response_;
};

}  // namespace fjord::net::testing
