#include "net/connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <exception>
#include <limits>
#include <string>

#include "common/endian.h"
#include "net/log.h"
#include "net/send_file.h"

namespace fjord::net::detail {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

// Coroutine bodies here never put co_await in a condition nor co_await or
// co_return in an unbraced if/else branch: g++ 12.2 miscompiles some of those
// (GCC PR 106188: wrong frame layout, the coroutine resumes at a bad address).

namespace {
constexpr auto kAwaitTuple = asio::as_tuple(use_awaitable);
constexpr size_t kSizeFieldBytes = 4;
constexpr size_t kDirectReadChunkBytes = 1 << 20;
}  // namespace

Connection::Connection(std::shared_ptr<ServerState> state, asio::ip::tcp::socket socket,
                       ConnectionInfo info)
    : state_(std::move(state)),
      socket_(std::move(socket)),
      info_(std::move(info)),
      read_buffer_(std::max(state_->config.read_buffer_bytes, kSizeFieldBytes)),
      reader_wake_(socket_.get_executor()),
      writer_wake_(socket_.get_executor()),
      idle_timer_(socket_.get_executor()) {
  note_activity();
}

void Connection::start() {
  state_->connections[info_.shard].emplace(info_.id, shared_from_this());
  state_->add_open();
  spawn(read_loop(), "reader");
  spawn(write_loop(), "writer");
  if (state_->config.idle_timeout_ms > 0) spawn(idle_watchdog(), "idle watchdog");
}

void Connection::spawn(awaitable<void> coroutine, const char* name) {
  // The completion handler owns the connection until the coroutine is done.
  asio::co_spawn(socket_.get_executor(), std::move(coroutine),
                 [self = shared_from_this(), name](std::exception_ptr error) {
                   if (!error) return;
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     log_event("connection {} ({}): {} failed: {}", self->info_.id,
                               self->info_.peer, name, e.what());
                   } catch (...) {
                     log_event("connection {} ({}): {} failed", self->info_.id, self->info_.peer,
                               name);
                   }
                   self->close();
                 });
}

void Connection::begin_drain() {
  draining_ = true;
  stop_reading();
}

void Connection::stop_reading() {
  read_cancel_.emit(asio::cancellation_type::terminal);
  reader_wake_.notify();
}

void Connection::close() {
  if (closed_) return;
  auto self = shared_from_this();  // the registry may hold the last other reference
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);  // aborts the pending read, write and wait
  reader_wake_.notify();
  writer_wake_.notify();
  idle_timer_.cancel();
  state_->connections[info_.shard].erase(info_.id);
  state_->remove_open();
}

void Connection::close_gracefully() {
  // FIN after the last response, so the peer reads every byte before EOF.
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  close();
}

// ---- Reader -----------------------------------------------------------------

bool Connection::keep_reading() const {
  return !closed_ && !draining_ && !close_requested_ && !read_ended_;
}

bool Connection::admission_open() const {
  // One request is always admitted, whatever the limits say.
  return slots_.empty() || (slots_.size() < state_->config.max_in_flight_requests &&
                            in_flight_bytes_ < state_->config.max_in_flight_bytes);
}

awaitable<void> Connection::read_loop() {
  while (keep_reading()) {
    if (!admission_open()) {  // back-pressure: the peer's sends fill its socket buffer
      co_await reader_wake_.wait();
      continue;
    }
    auto frame = co_await read_frame();
    if (!frame || !keep_reading()) {
      break;
    }
    admit(std::move(*frame));
  }
  reading_stopped_ = true;
  writer_wake_.notify();  // the writer closes once the last response is out
}

awaitable<std::optional<std::vector<uint8_t>>> Connection::read_frame() {
  bool have_size = co_await buffer_at_least(kSizeFieldBytes);
  if (!have_size) {
    co_return std::nullopt;
  }
  int32_t size = load_be<int32_t>(read_buffer_.data() + read_begin_);
  read_begin_ += kSizeFieldBytes;
  if (size < 0 || static_cast<size_t>(size) > state_->config.max_frame_bytes) {
    log_event("connection {} ({}): closing: frame size {} outside [0, {}]", info_.id, info_.peer,
              size, state_->config.max_frame_bytes);
    close();
    co_return std::nullopt;
  }
  const size_t frame_bytes = static_cast<size_t>(size);
  std::vector<uint8_t> frame;
  // Address space only: pages are touched as the bytes arrive, so a size field
  // alone does not make the broker commit memory.
  frame.reserve(frame_bytes);
  size_t have = std::min(frame_bytes, read_end_ - read_begin_);
  frame.assign(read_buffer_.data() + read_begin_, read_buffer_.data() + read_begin_ + have);
  read_begin_ += have;
  size_t missing = frame_bytes - have;
  if (missing == 0) {
    co_return frame;
  }
  // The read-ahead buffer is empty now. A big rest goes straight into the
  // frame; a small one through the buffer, which also reads ahead the next frames.
  if (missing > read_buffer_.size() / 2) {
    bool read = co_await read_rest_of_frame(frame, frame_bytes);
    if (!read) {
      co_return std::nullopt;
    }
    co_return frame;
  }
  bool buffered = co_await buffer_at_least(missing);
  if (!buffered) {
    co_return std::nullopt;
  }
  frame.insert(frame.end(), read_buffer_.data() + read_begin_,
               read_buffer_.data() + read_begin_ + missing);
  read_begin_ += missing;
  co_return frame;
}

// Reads straight into `frame` until it holds `frame_bytes`, growing it a chunk
// at a time.
awaitable<bool> Connection::read_rest_of_frame(std::vector<uint8_t>& frame, size_t frame_bytes) {
  while (frame.size() < frame_bytes) {
    size_t old_size = frame.size();
    frame.resize(std::min(frame_bytes, old_size + kDirectReadChunkBytes));
    auto [ec, n] = co_await asio::async_read(
        socket_, asio::buffer(frame.data() + old_size, frame.size() - old_size),
        asio::bind_cancellation_slot(read_cancel_.slot(), kAwaitTuple));
    if (!note_read_result(ec)) {
      co_return false;
    }
  }
  co_return true;
}

awaitable<bool> Connection::buffer_at_least(size_t bytes) {
  while (read_end_ - read_begin_ < bytes) {
    if (read_begin_ > 0) {  // compact: move the unread tail to the front
      std::memmove(read_buffer_.data(), read_buffer_.data() + read_begin_, read_end_ - read_begin_);
      read_end_ -= read_begin_;
      read_begin_ = 0;
    }
    auto space = asio::buffer(read_buffer_.data() + read_end_, read_buffer_.size() - read_end_);
    auto [ec, n] = co_await socket_.async_read_some(
        space, asio::bind_cancellation_slot(read_cancel_.slot(), kAwaitTuple));
    read_end_ += n;
    if (!note_read_result(ec)) {
      co_return false;
    }
  }
  co_return true;
}

bool Connection::note_read_result(const boost::system::error_code& ec) {
  if (!ec) {
    note_activity();
    return true;
  }
  if (ec == asio::error::eof) {
    read_ended_ = true;  // answer what was read, then close
  } else if (ec != asio::error::operation_aborted) {
    close();  // reset by peer and the like
  }
  return false;
}

void Connection::admit(std::vector<uint8_t> frame) {
  uint64_t seq = head_seq_ + slots_.size();
  Slot& slot = slots_.emplace_back();
  slot.frame_bytes = static_cast<uint32_t>(frame.size());
  in_flight_bytes_ += frame.size();
  // co_spawn from the shard's own thread runs the call up to its first
  // suspension before returning, so calls start in arrival order.
  asio::co_spawn(socket_.get_executor(), run_request(shared_from_this(), seq, std::move(frame)),
                 asio::detached);
}

// ---- Handler calls ------------------------------------------------------------

awaitable<void> Connection::run_request(std::shared_ptr<Connection> self, uint64_t seq,
                                        std::vector<uint8_t> frame) {
  std::string failure;
  try {
    HandlerResult result = co_await self->state_->handler.handle(std::move(frame), self->info_);
    self->complete(seq, std::move(result));
    co_return;
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  // The request boundary: a throwing handler costs only its own connection.
  log_event("connection {} ({}): closing: request handler threw: {}", self->info_.id,
            self->info_.peer, failure);
  self->close();
}

void Connection::complete(uint64_t seq, HandlerResult result) {
  if (closed_) return;
  Slot& slot = slots_[seq - head_seq_];
  in_flight_bytes_ -= slot.frame_bytes;
  slot.result = std::move(result);
  slot.done = true;
  if (slot.result.kind == HandlerResult::Kind::kClose) {
    close_requested_ = true;
    stop_reading();
  }
  reader_wake_.notify();
  writer_wake_.notify();
}

// ---- Writer -------------------------------------------------------------------

bool Connection::head_ready() const { return !slots_.empty() && slots_.front().done; }

awaitable<void> Connection::write_loop() {
  while (!closed_) {
    if (head_ready()) {
      bool written = co_await write_ready_slots();
      if (!written) {
        pending_writes_.clear();
        close();
      }
      continue;
    }
    if (slots_.empty() && reading_stopped_) {
      close_gracefully();
      break;
    }
    co_await writer_wake_.wait();
  }
  pending_writes_.clear();
  slots_.clear();  // releases responses (and the files they pin) of a closed connection
}

// Writes every response that is ready at the head of the queue, in one batch.
// Returns false if the connection is to be closed now.
awaitable<bool> Connection::write_ready_slots() {
  size_t count = 0;
  bool close_after = false;
  while (count < slots_.size() && slots_[count].done) {
    auto kind = slots_[count].result.kind;
    if (kind == HandlerResult::Kind::kClose) {
      close_after = true;
      break;
    }
    ++count;
  }
  // With file ranges, the memory parts and ranges go out in separate calls;
  // corking packs them into full segments instead of one small one each.
  bool cork = std::any_of(slots_.begin(), slots_.begin() + static_cast<ptrdiff_t>(count),
                          [](const Slot& slot) { return !slot.result.response.splices.empty(); });
  if (cork) {
    set_cork(true);
  }
  for (size_t i = 0; i < count; ++i) {
    if (slots_[i].result.kind != HandlerResult::Kind::kRespond) {
      continue;
    }
    bool written = co_await write_response(slots_[i]);
    if (!written) {
      co_return false;
    }
  }
  bool flushed = co_await flush_memory();
  if (!flushed) {
    co_return false;
  }
  if (cork) {
    set_cork(false);  // sends the last partial segment now
  }
  slots_.erase(slots_.begin(), slots_.begin() + static_cast<ptrdiff_t>(count));
  head_seq_ += count;
  reader_wake_.notify();  // request slots were freed
  if (close_after) close_gracefully();
  co_return true;
}

void Connection::set_cork(bool on) {
  int value = on ? 1 : 0;
  ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_CORK, &value, sizeof(value));
}

// Queues the response's memory parts; file ranges flush the queue and go out
// with sendfile.
awaitable<bool> Connection::write_response(Slot& slot) {
  const OutboundMessage& message = slot.result.response;
  size_t size = message.size();
  if (size > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    log_event("connection {} ({}): closing: response of {} bytes", info_.id, info_.peer, size);
    co_return false;
  }
  store_be<int32_t>(slot.size_prefix.data(), static_cast<int32_t>(size));
  pending_writes_.push_back(asio::buffer(slot.size_prefix));
  size_t at = 0;
  for (const Splice& splice : message.splices) {
    if (splice.at < at || splice.at > message.bytes.size()) {
      log_event("connection {} ({}): closing: response splice at {} out of order", info_.id,
                info_.peer, splice.at);
      co_return false;
    }
    if (splice.at > at) pending_writes_.push_back(asio::buffer(&message.bytes[at], splice.at - at));
    at = splice.at;
    bool flushed = co_await flush_memory();
    if (!flushed) {
      co_return false;
    }
    Status sent = co_await send_file_range(socket_, splice.range, state_->sendfile_bytes);
    if (closed_) {
      co_return false;
    }
    if (!sent.ok()) {
      log_event("connection {} ({}): closing: {}", info_.id, info_.peer, sent.error().message);
      co_return false;
    }
    note_activity();
  }
  if (at < message.bytes.size()) {
    pending_writes_.push_back(asio::buffer(&message.bytes[at], message.bytes.size() - at));
  }
  co_return true;
}

awaitable<bool> Connection::flush_memory() {
  if (pending_writes_.empty()) {
    co_return true;
  }
  auto [ec, n] = co_await asio::async_write(socket_, pending_writes_, kAwaitTuple);
  pending_writes_.clear();
  if (ec || closed_) {
    co_return false;
  }
  note_activity();
  co_return true;
}

// ---- Idle watchdog ------------------------------------------------------------

awaitable<void> Connection::idle_watchdog() {
  const auto idle_timeout = std::chrono::milliseconds(state_->config.idle_timeout_ms);
  while (!closed_) {
    idle_timer_.expires_at(last_activity_ + idle_timeout);
    co_await idle_timer_.async_wait(kAwaitTuple);
    if (closed_) {
      break;
    }
    auto now = std::chrono::steady_clock::now();
    if (now < last_activity_ + idle_timeout) {
      continue;
    }
    if (!slots_.empty()) {  // waiting on a handler is not idleness
      last_activity_ = now;
      continue;
    }
    close();
  }
}

}  // namespace fjord::net::detail
