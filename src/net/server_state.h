// State a Server shares with its connections. A connection can outlive the
// Server object (a handler still running past the drain timeout keeps its
// connection alive), so connections reach the server only through this object,
// which they co-own. Internal to the network layer.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "net/request_handler.h"
#include "net/server_config.h"
#include "runtime/shards.h"

namespace fjord::net::detail {

class Connection;

struct ServerState {
  ServerState(runtime::ShardPool& pool, RequestHandler& handler, ServerConfig config)
      : pool(pool), handler(handler), config(std::move(config)), connections(pool.count()) {}

  runtime::ShardPool& pool;
  RequestHandler& handler;
  const ServerConfig config;

  // Lives on shard 0; created by Server::start before the accept loop runs.
  std::optional<boost::asio::ip::tcp::acceptor> acceptor;
  // connections[shard] is touched only on that shard's thread.
  std::vector<std::unordered_map<uint64_t, std::shared_ptr<Connection>>> connections;

  std::atomic<bool> stopping{false};  // set first thing by Server::shutdown
  std::atomic<uint64_t> next_connection_id{1};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> sendfile_bytes{0};

  // Open connections: registered on their shard and not yet closed.
  size_t open_count() const {
    std::lock_guard lock(mu_);
    return open_;
  }
  void add_open() {
    std::lock_guard lock(mu_);
    ++open_;
  }
  void remove_open() {
    std::lock_guard lock(mu_);
    --open_;
    closed_.notify_all();
  }
  // True if every connection closed before `deadline`.
  bool wait_all_closed(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return closed_.wait_until(lock, deadline, [this] { return open_ == 0; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable closed_;
  size_t open_ = 0;
};

}  // namespace fjord::net::detail
