// Sending a file range on a socket with sendfile(2): the bytes go from the page
// cache to the socket without passing through user space.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>

#include "common/outbound.h"
#include "common/result.h"

namespace fjord::net {

// Sends all of `range` on `socket`, which must be in native non-blocking mode.
// Waits for the socket to become writable when its buffer is full. Fails if the
// socket fails or is closed meanwhile, or if the file ends before the range
// does. Adds each sent byte to `sent_bytes`.
boost::asio::awaitable<Status> send_file_range(boost::asio::ip::tcp::socket& socket,
                                               const FileRange& range,
                                               std::atomic<uint64_t>& sent_bytes);

}  // namespace fjord::net
