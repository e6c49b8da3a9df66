#include "net/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <vector>

#include "net/connection.h"
#include "net/log.h"
#include "net/server_state.h"

namespace fjord::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using detail::Connection;
using detail::ServerState;

namespace {

// After a failed accept (e.g. out of file descriptors) wait this long before
// the next, rather than spinning.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

std::string peer_name(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "?";
  auto address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

// On the connection's shard.
void open_connection(const std::shared_ptr<ServerState>& state, unsigned shard,
                     tcp::socket socket) {
  if (state->stopping) return;  // accepted just before shutdown; the socket closes here
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.native_non_blocking(true, ignored);  // for sendfile(2)
  ConnectionInfo info{state->next_connection_id.fetch_add(1), peer_name(socket), shard};
  std::make_shared<Connection>(state, std::move(socket), std::move(info))->start();
}

// On shard 0. Connections go to the shards in turn.
asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> state) {
  tcp::acceptor& acceptor = *state->acceptor;
  unsigned shard = 0;
  bool at_limit = false;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(state->pool.executor(shard),
                                                       asio::as_tuple(asio::use_awaitable));
    if (state->stopping || ec == asio::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      log_event("accept failed: {}", ec.message());
      asio::steady_timer delay(acceptor.get_executor(), kAcceptRetryDelay);
      co_await delay.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (state->open_count() >= state->config.max_connections) {
      if (!at_limit) log_event("{} connections: closing new ones", state->open_count());
      at_limit = true;
      ++state->connections_rejected;
      continue;  // `socket` closes here
    }
    at_limit = false;
    ++state->connections_accepted;
    asio::post(state->pool.executor(shard), [state, shard, socket = std::move(socket)]() mutable {
      open_connection(state, shard, std::move(socket));
    });
    shard = (shard + 1) % state->pool.count();
  }
}

// Runs `work` on `shard` and waits for it; inline when called on that shard.
void run_on_shard(runtime::ShardPool& pool, unsigned shard, const std::function<void()>& work) {
  if (runtime::ShardPool::current_shard() == static_cast<int>(shard)) {
    work();
    return;
  }
  std::promise<void> done;
  asio::post(pool.executor(shard), [&] {
    work();
    done.set_value();
  });
  done.get_future().wait();
}

// Calls `action` on each connection of the shard; on that shard's thread.
void for_each_connection(ServerState& state, unsigned shard,
                         const std::function<void(Connection&)>& action) {
  std::vector<std::shared_ptr<Connection>> connections;  // closing edits the registry
  for (auto& [id, connection] : state.connections[shard]) connections.push_back(connection);
  for (auto& connection : connections) action(*connection);
}

Result<tcp::endpoint> resolve(asio::io_context& context, const ServerConfig& config) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(config.host, ec);
  if (!ec) return tcp::endpoint(address, config.port);
  tcp::resolver resolver(context);
  auto results = resolver.resolve(config.host, std::to_string(config.port), ec);
  if (ec || results.empty()) {
    return Error{ErrorCode::kUnknownServerError,
                 "cannot resolve listener host " + config.host + ": " + ec.message()};
  }
  return results.begin()->endpoint();
}

Status open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{ErrorCode::kUnknownServerError,
                 fmt::format("cannot listen on {}:{}: {}", endpoint.address().to_string(),
                             endpoint.port(), ec.message())};
  }
  return Status();
}

}  // namespace

Server::Server(runtime::ShardPool& pool, RequestHandler& handler, ServerConfig config)
    : state_(std::make_shared<ServerState>(pool, handler, std::move(config))) {}

Server::~Server() {
  if (started_) shutdown();
}

Status Server::start() {
  if (started_) return Status(ErrorCode::kUnknownServerError, "server already started");
  auto endpoint = resolve(state_->pool.context(0), state_->config);
  if (!endpoint.ok()) return endpoint.error();
  state_->acceptor.emplace(state_->pool.context(0));
  Status opened = open_acceptor(*state_->acceptor, *endpoint);
  if (!opened.ok()) {
    state_->acceptor.reset();
    return opened;
  }
  port_ = state_->acceptor->local_endpoint().port();
  started_ = true;
  asio::co_spawn(state_->pool.executor(0), accept_loop(state_), asio::detached);
  log_event("listening on {}:{} ({} shards)", endpoint->address().to_string(), port_,
            state_->pool.count());
  return Status();
}

void Server::shutdown(int64_t drain_timeout_ms) {
  if (!started_) return;
  std::call_once(shutdown_once_, [&] { drain_and_close(drain_timeout_ms); });
}

void Server::drain_and_close(int64_t drain_timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_timeout_ms);
  ServerState& state = *state_;
  state.stopping = true;
  log_event("shutting down: {} connections, draining up to {} ms", state.open_count(),
            drain_timeout_ms);
  run_on_shard(state.pool, 0, [&] {
    boost::system::error_code ignored;
    state.acceptor->close(ignored);
  });
  // Connections still being opened see `stopping` and close. The caller's own
  // shard cannot run handlers while we wait, so its connections close at once.
  int caller_shard = runtime::ShardPool::current_shard();
  for (unsigned shard = 0; shard < state.pool.count(); ++shard) {
    bool own = static_cast<int>(shard) == caller_shard;
    run_on_shard(state.pool, shard, [&] {
      for_each_connection(state, shard,
                          [own](Connection& c) { own ? c.close() : c.begin_drain(); });
    });
  }
  if (!state.wait_all_closed(deadline)) {
    log_event("drain timeout: closing {} connections with requests in flight", state.open_count());
    for (unsigned shard = 0; shard < state.pool.count(); ++shard) {
      run_on_shard(state.pool, shard,
                   [&] { for_each_connection(state, shard, [](Connection& c) { c.close(); }); });
    }
  }
  log_event("shut down");
}

size_t Server::connection_count() const { return state_->open_count(); }

ServerStats Server::stats() const {
  return ServerStats{state_->connections_accepted.load(), state_->connections_rejected.load(),
                     state_->sendfile_bytes.load()};
}

}  // namespace fjord::net
