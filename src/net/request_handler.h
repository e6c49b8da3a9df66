// The contract between the network layer and whatever answers requests. The
// network layer knows frames (int32 size + bytes) and connections; the handler
// knows the Kafka API and nothing of sockets.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/outbound.h"

namespace fjord::net {

struct ConnectionInfo {
  uint64_t id = 0;
  std::string peer;  // "ip:port"
  unsigned shard = 0;
};

struct HandlerResult {
  enum class Kind {
    kRespond,     // send `response` (without the size prefix; the network layer adds it)
    kNoResponse,  // e.g. Produce with acks=0
    kClose,       // close the connection once earlier responses have been sent
  };
  Kind kind = Kind::kRespond;
  OutboundMessage response;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // Called for each request frame (without its size prefix), on the connection's
  // shard, in arrival order: the call for request N+1 starts only after the call
  // for request N has started (and has run to its first suspension), so work a
  // handler posts before its first co_await keeps the connection's order.
  // Several calls of one connection may be in flight at once; the network layer
  // writes their responses in arrival order.
  virtual boost::asio::awaitable<HandlerResult> handle(std::vector<uint8_t> frame,
                                                       const ConnectionInfo& connection) = 0;
};

}  // namespace fjord::net
