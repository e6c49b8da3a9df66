// The Kafka-protocol TCP server: accepts connections, spreads them across the
// shards, reads size-prefixed request frames and hands them to a RequestHandler,
// writes the responses back in request order. Knows nothing of the Kafka API.
//
// Threading: start(), shutdown() and the accessors may be called from any
// thread. Each connection lives on one shard; the handler is called on it.
// Lifetime: the ShardPool must be running (started, not stopped) from start()
// until shutdown() returns, and must outlive the Server. The handler must stay
// valid until the pool is stopped: a call still running when the drain timeout
// ends keeps running (its result is dropped).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "common/result.h"
#include "net/request_handler.h"
#include "net/server_config.h"
#include "runtime/shards.h"

namespace fjord::net {

namespace detail {
struct ServerState;
}

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections
  uint64_t sendfile_bytes = 0;        // file-range bytes sent with sendfile(2)
};

class Server {
 public:
  Server(runtime::ShardPool& pool, RequestHandler& handler, ServerConfig config);
  ~Server();  // shuts down (with the default drain timeout) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Fails if the address cannot be bound (the
  // message names the address) or if called twice.
  Status start();
  uint16_t port() const { return port_; }

  // Graceful shutdown: stops accepting and reading requests, lets the requests
  // already read finish and their responses be written for up to
  // `drain_timeout_ms`, then closes every connection. Returns when all are
  // closed. Idempotent. Called on a shard's thread, that shard cannot run
  // handlers while the caller waits, so its connections are closed without
  // draining. A second concurrent caller waits for the first (not from a shard
  // thread: the first may be waiting for that shard).
  void shutdown(int64_t drain_timeout_ms = 5000);

  size_t connection_count() const;
  ServerStats stats() const;

 private:
  void drain_and_close(int64_t drain_timeout_ms);

  std::shared_ptr<detail::ServerState> state_;
  uint16_t port_ = 0;
  bool started_ = false;
  std::once_flag shutdown_once_;  // a concurrent second caller waits for the first
};

}  // namespace fjord::net
