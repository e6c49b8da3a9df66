#include "net/send_file.h"

#include <fmt/core.h>
#include <sys/sendfile.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

namespace fjord::net {
namespace {

namespace asio = boost::asio;

// One sendfile call moves at most this much, so that a big range on a fast
// reader yields to the shard's other connections now and then.
constexpr size_t kMaxChunkBytes = 4 << 20;

}  // namespace

asio::awaitable<Status> send_file_range(asio::ip::tcp::socket& socket, const FileRange& range,
                                        std::atomic<uint64_t>& sent_bytes) {
  off_t offset = static_cast<off_t>(range.offset);
  size_t left = range.length;
  while (left > 0) {
    if (!socket.is_open()) {
      co_return Status(ErrorCode::kUnknownServerError, "socket closed");
    }
    ssize_t sent =
        ::sendfile(socket.native_handle(), range.fd, &offset, std::min(left, kMaxChunkBytes));
    if (sent > 0) {
      left -= static_cast<size_t>(sent);
      sent_bytes.fetch_add(static_cast<uint64_t>(sent), std::memory_order_relaxed);
      // Let the shard's other work run between chunks. (A partial send does not
      // mean the socket is full, so waiting for writability here could hang.)
      if (left > 0) {
        co_await asio::post(socket.get_executor(), asio::use_awaitable);
      }
      continue;
    }
    if (sent == 0) {
      co_return Status(ErrorCode::kUnknownServerError,
                       fmt::format("file ended {} bytes before the range did", left));
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN) {
      co_return Status(ErrorCode::kUnknownServerError,
                       fmt::format("sendfile: {}", std::strerror(errno)));
    }
    // The socket buffer is full: EPOLLOUT fires once it drains.
    auto [ec] = co_await socket.async_wait(asio::ip::tcp::socket::wait_write,
                                           asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return Status(ErrorCode::kUnknownServerError, ec.message());
    }
  }
  co_return Status();
}

}  // namespace fjord::net
