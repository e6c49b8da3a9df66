// One client connection, owned by one shard: every member is touched only on
// that shard's thread. Internal to the network layer.
//
// Three coroutines run per connection:
//  - the reader reads frames (int32 size + bytes) and starts a handler call per
//    frame, in arrival order, while the in-flight limits allow;
//  - the writer writes the responses in arrival order, coalescing the ones that
//    are ready, with sendfile(2) for file ranges;
//  - the idle watchdog closes a connection without traffic.
// Handler calls run as coroutines of their own and share ownership of the
// connection, so a call that finishes after the close finds it still there.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "net/event.h"
#include "net/request_handler.h"
#include "net/server_state.h"

namespace fjord::net::detail {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerState> state, boost::asio::ip::tcp::socket socket,
             ConnectionInfo info);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registers with the server and starts the coroutines.
  void start();
  // Stops reading; closes once the requests already read have been answered.
  void begin_drain();
  // Closes the socket now; responses not yet written are dropped.
  void close();

 private:
  struct Slot {  // one request read and not yet answered on the wire
    bool done = false;
    uint32_t frame_bytes = 0;
    HandlerResult result;
    std::array<uint8_t, 4> size_prefix{};
  };

  // Reader.
  boost::asio::awaitable<void> read_loop();
  bool keep_reading() const;
  bool admission_open() const;
  boost::asio::awaitable<std::optional<std::vector<uint8_t>>> read_frame();
  boost::asio::awaitable<bool> buffer_at_least(size_t bytes);
  boost::asio::awaitable<bool> read_rest_of_frame(std::vector<uint8_t>& frame, size_t frame_bytes);
  bool note_read_result(const boost::system::error_code& ec);
  void admit(std::vector<uint8_t> frame);
  void stop_reading();

  // Handler calls.
  static boost::asio::awaitable<void> run_request(std::shared_ptr<Connection> self, uint64_t seq,
                                                  std::vector<uint8_t> frame);
  void complete(uint64_t seq, HandlerResult result);

  // Writer.
  boost::asio::awaitable<void> write_loop();
  bool head_ready() const;
  boost::asio::awaitable<bool> write_ready_slots();
  boost::asio::awaitable<bool> write_response(Slot& slot);
  boost::asio::awaitable<bool> flush_memory();
  void set_cork(bool on);
  void close_gracefully();

  // Idle watchdog.
  boost::asio::awaitable<void> idle_watchdog();
  void note_activity() { last_activity_ = std::chrono::steady_clock::now(); }

  void spawn(boost::asio::awaitable<void> coroutine, const char* name);

  const std::shared_ptr<ServerState> state_;
  boost::asio::ip::tcp::socket socket_;
  const ConnectionInfo info_;

  bool closed_ = false;
  bool draining_ = false;         // server shutdown: read no more
  bool close_requested_ = false;  // a handler returned kClose: read no more
  bool read_ended_ = false;       // the peer closed its side, or sent a truncated frame
  bool reading_stopped_ = false;  // the reader has exited

  std::vector<uint8_t> read_buffer_;  // bounded read-ahead, [read_begin_, read_end_) unread
  size_t read_begin_ = 0;
  size_t read_end_ = 0;
  boost::asio::cancellation_signal read_cancel_;  // cancels only the pending read

  std::deque<Slot> slots_;      // in arrival order; references stay valid on push_back
  uint64_t head_seq_ = 0;       // sequence number of slots_.front()
  size_t in_flight_bytes_ = 0;  // request bytes whose handler call is running

  std::vector<boost::asio::const_buffer> pending_writes_;  // memory parts not yet written

  Event reader_wake_;  // admission may have opened, or reading should stop
  Event writer_wake_;  // a response may be ready, or the reader has stopped
  boost::asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_;
};

}  // namespace fjord::net::detail
