#include "raft/transport/transport.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <utility>

#include "common/endian.h"
#include "raft/transport/codec.h"
#include "raft/transport/snapshot_chunks.h"

// Coroutine bodies here never put co_await in a condition nor co_await or
// co_return in an unbraced if/else branch (GCC PR 106188, see src/net/README.md),
// and coroutines take class-type arguments only as shared_ptr copies made
// before the co_spawn expression (PR 99576).

namespace fjord::raft::transport {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);
// Snapshots being put together at once on one inbound connection.
constexpr size_t kMaxSnapshotsInProgress = 64;
// One write takes at most this many queued bytes (more frames wait for the next).
constexpr size_t kMaxWriteBytes = 8 << 20;

void log_event(const std::string& text) { fmt::print(stderr, "fjord raft transport: {}\n", text); }

// Coroutines only end by returning; an exception is a bug worth a line.
void spawn(asio::io_context& io, awaitable<void> coroutine, const char* name) {
  asio::co_spawn(io, std::move(coroutine), [name](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log_event(fmt::format("{} failed: {}", name, e.what()));
    }
  });
}

}  // namespace

struct Transport::Peer {
  Peer(asio::io_context& io, PeerAddress peer_address)
      : address(std::move(peer_address)), wake(io), backoff(io) {}

  struct QueuedFrame {
    OutboundMessage frame;
    size_t messages = 0;
  };

  PeerAddress address;
  std::vector<Message> pending;  // send() since the last flush()
  std::deque<QueuedFrame> frames;
  size_t queued_bytes = 0;
  asio::steady_timer wake;     // the writer sleeps on it; flush() and close wake it
  asio::steady_timer backoff;  // between connection attempts
  std::shared_ptr<Socket> socket;
  bool connected = false;
  bool removed = false;  // replaced or removed: its coroutine ends
};

struct Transport::Inbound {
  Inbound(Socket s, size_t max_snapshot_bytes)
      : socket(std::move(s)), snapshots(max_snapshot_bytes, kMaxSnapshotsInProgress) {}
  Socket socket;
  uint64_t id = 0;
  SnapshotAssembler snapshots;
};

Transport::Transport(asio::io_context& io, TransportOptions options, ReceiveFn receive)
    : io_(io), options_(std::move(options)), receive_(std::move(receive)), acceptor_(io) {}

Transport::~Transport() = default;

Status Transport::start() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(options_.listen_host, ec);
  if (ec) {
    return Error{ErrorCode::kInvalidConfig,
                 "raft transport: bad listen host '" + options_.listen_host + "': " + ec.message()};
  }
  const tcp::endpoint endpoint(address, options_.listen_port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("raft transport: cannot listen on {}:{}: {}", options_.listen_host,
                             options_.listen_port, ec.message())};
  }
  port_ = acceptor_.local_endpoint().port();
  spawn(io_, accept_loop(), "raft transport listener");
  return {};
}

void Transport::set_peer(const PeerAddress& address) {
  if (address.node == options_.self || stopped_) return;
  if (Peer* old = find_peer(address.node)) {
    if (old->address == address) return;
    remove_peer(address.node);
  }
  auto peer = std::make_shared<Peer>(io_, address);
  peers_[address.node] = peer;
  spawn(io_, run_peer(peer), "raft transport peer");
}

void Transport::remove_peer(NodeId node) {
  auto it = peers_.find(node);
  if (it == peers_.end()) return;
  Peer& peer = *it->second;
  peer.removed = true;
  stats_.messages_dropped += peer.pending.size();
  for (const auto& queued : peer.frames) stats_.messages_dropped += queued.messages;
  peer.pending.clear();
  peer.frames.clear();
  peer.queued_bytes = 0;
  close_peer(peer);
  peers_.erase(it);
}

Transport::Peer* Transport::find_peer(NodeId node) {
  auto it = peers_.find(node);
  return it == peers_.end() ? nullptr : it->second.get();
}

bool Transport::connected(NodeId node) const {
  auto it = peers_.find(node);
  return it != peers_.end() && it->second->connected;
}

void Transport::send(const Message& message) {
  Message copy = message;
  send(std::move(copy));
}

void Transport::send(Message&& message) {
  Peer* peer = find_peer(message.to);
  if (peer == nullptr || peer->pending.size() >= options_.max_pending_messages) {
    ++stats_.messages_dropped;
    return;
  }
  if (message.type == MessageType::kSnapshot) {
    for (Message& chunk : split_snapshot(std::move(message), options_.max_frame_bytes / 4)) {
      peer->pending.push_back(std::move(chunk));
    }
    return;
  }
  peer->pending.push_back(std::move(message));
}

void Transport::flush() {
  const size_t frame_budget = options_.max_frame_bytes / 2;
  for (auto& [node, peer] : peers_) {
    std::vector<Message>& pending = peer->pending;
    if (pending.empty()) continue;
    size_t first = 0;
    size_t bytes = 0;
    for (size_t i = 0; i <= pending.size(); ++i) {
      const size_t message_bytes = i < pending.size() ? estimated_encoded_bytes(pending[i]) : 0;
      const bool last = i == pending.size();
      if (last || (i > first && bytes + message_bytes > frame_budget)) {
        OutboundMessage frame;
        encode_batch(std::span(pending).subspan(first, i - first), frame);
        queue_frame(*peer, std::move(frame), i - first);
        first = i;
        bytes = 0;
      }
      bytes += message_bytes;
    }
    pending.clear();
    peer->wake.cancel();
  }
}

void Transport::queue_frame(Peer& peer, OutboundMessage frame, size_t message_count) {
  peer.queued_bytes += frame.bytes.size();
  peer.frames.push_back(Peer::QueuedFrame{std::move(frame), message_count});
  // Drop the oldest: a newer frame carries newer terms and high watermarks.
  while (peer.queued_bytes > options_.max_queued_bytes && peer.frames.size() > 1) {
    peer.queued_bytes -= peer.frames.front().frame.bytes.size();
    stats_.messages_dropped += peer.frames.front().messages;
    peer.frames.pop_front();
  }
}

void Transport::close_peer(Peer& peer) {
  if (peer.socket) {
    boost::system::error_code ignored;
    peer.socket->close(ignored);
  }
  peer.connected = false;
  peer.wake.cancel();
  peer.backoff.cancel();
}

void Transport::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [node, peer] : peers_) {
    peer->removed = true;
    close_peer(*peer);
  }
  for (auto& [id, inbound] : inbound_) inbound->socket.close(ignored);
}

awaitable<void> Transport::accept_loop() {
  while (!stopped_) {
    auto [ec, socket] = co_await acceptor_.async_accept(kAwaitTuple);
    if (ec == asio::error::operation_aborted || stopped_) {
      break;
    }
    if (ec) {
      continue;  // e.g. the peer reset before accept: keep listening
    }
    if (inbound_.size() >= options_.max_inbound_connections) {
      ++stats_.connections_refused;
      continue;  // `socket` closes as it goes out of scope
    }
    auto inbound = std::make_shared<Inbound>(std::move(socket), options_.max_snapshot_bytes);
    inbound->id = next_inbound_id_++;
    inbound_[inbound->id] = inbound;
    spawn(io_, read_inbound(inbound), "raft transport reader");
  }
}

awaitable<void> Transport::read_inbound(std::shared_ptr<Inbound> inbound) {
  std::array<uint8_t, kFrameSizeBytes> size_field{};
  std::vector<uint8_t> frame;
  NodeId from = kNoNode;
  while (!stopped_) {
    auto [size_ec, size_read] =
        co_await asio::async_read(inbound->socket, asio::buffer(size_field), kAwaitTuple);
    if (size_ec) {
      break;
    }
    const int64_t size = load_be<int32_t>(size_field.data());
    if (size < static_cast<int64_t>(kFrameHeaderBytes) ||
        size > static_cast<int64_t>(options_.max_frame_bytes)) {
      ++stats_.connections_refused;
      break;
    }
    frame.resize(static_cast<size_t>(size));
    auto [body_ec, body_read] =
        co_await asio::async_read(inbound->socket, asio::buffer(frame), kAwaitTuple);
    if (body_ec || stopped_) {
      break;
    }
    if (from == kNoNode) {
      auto handshake = decode_handshake(frame);
      if (!handshake.ok() || handshake->cluster_id != options_.cluster_id ||
          handshake->to != options_.self) {
        ++stats_.connections_refused;
        break;
      }
      from = handshake->from;
      continue;
    }
    auto messages = decode_batch(frame, from, options_.self);
    if (!messages.ok()) {
      log_event(
          fmt::format("closing the connection from node {}: {}", from, messages.error().message));
      ++stats_.connections_refused;
      break;
    }
    ++stats_.frames_received;
    stats_.messages_received += messages->size();
    if (!assemble_snapshots(*inbound, *messages)) continue;  // only chunks, none complete
    receive_(*messages);
  }
  boost::system::error_code ignored;
  inbound->socket.close(ignored);
  inbound_.erase(inbound->id);
}

// Replaces the snapshot chunks among `messages` by the snapshots they complete;
// false when nothing is left to deliver.
bool Transport::assemble_snapshots(Inbound& inbound, std::vector<Message>& messages) {
  const bool any_chunk = std::any_of(messages.begin(), messages.end(), [](const Message& m) {
    return m.type == MessageType::kSnapshot && m.snapshot_total_bytes >= 0;
  });
  if (!any_chunk) return true;
  const uint64_t dropped_before = inbound.snapshots.dropped_chunks();
  std::vector<Message> whole;
  for (Message& message : messages) {
    if (auto ready = inbound.snapshots.add(std::move(message))) whole.push_back(std::move(*ready));
  }
  stats_.snapshot_chunks_dropped += inbound.snapshots.dropped_chunks() - dropped_before;
  messages = std::move(whole);
  return !messages.empty();
}

awaitable<void> Transport::run_peer(std::shared_ptr<Peer> peer) {
  int backoff_ms = options_.reconnect_backoff_min_ms;
  while (!stopped_ && !peer->removed) {
    auto socket = std::make_shared<Socket>(io_);
    peer->socket = socket;
    const bool ok = co_await connect(*peer, socket);
    if (ok) {
      backoff_ms = options_.reconnect_backoff_min_ms;
      peer->connected = true;
      ++stats_.connects;
      spawn(io_, watch_close(socket), "raft transport close watcher");
      co_await write_frames(*peer, socket);
    }
    peer->connected = false;
    boost::system::error_code ignored;
    socket->close(ignored);
    if (stopped_ || peer->removed) {
      break;
    }
    peer->backoff.expires_after(std::chrono::milliseconds(backoff_ms));
    auto [wait_ec] = co_await peer->backoff.async_wait(kAwaitTuple);
    (void)wait_ec;
    backoff_ms = std::min(backoff_ms * 2, options_.reconnect_backoff_max_ms);
  }
}

awaitable<bool> Transport::connect(Peer& peer, std::shared_ptr<Socket> socket) {
  tcp::resolver resolver(io_);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(
      peer.address.host, std::to_string(peer.address.port), kAwaitTuple);
  if (resolve_ec || stopped_ || peer.removed) {
    co_return false;
  }
  auto [connect_ec, endpoint] = co_await asio::async_connect(*socket, endpoints, kAwaitTuple);
  if (connect_ec || stopped_ || peer.removed) {
    co_return false;
  }
  boost::system::error_code ignored;
  socket->set_option(tcp::no_delay(true), ignored);
  OutboundMessage handshake;
  encode_handshake(
      Handshake{.cluster_id = options_.cluster_id, .from = options_.self, .to = peer.address.node},
      handshake);
  auto [write_ec, written] =
      co_await asio::async_write(*socket, asio::buffer(handshake.bytes), kAwaitTuple);
  co_return !write_ec;
}

awaitable<void> Transport::write_frames(Peer& peer, std::shared_ptr<Socket> socket) {
  std::vector<Peer::QueuedFrame> writing;
  std::vector<asio::const_buffer> buffers;
  while (!stopped_ && !peer.removed && socket->is_open()) {
    if (peer.frames.empty()) {
      peer.wake.expires_at(asio::steady_timer::time_point::max());
      auto [wait_ec] = co_await peer.wake.async_wait(kAwaitTuple);
      (void)wait_ec;  // cancelled by flush() or a close: look again
      continue;
    }
    writing.clear();
    buffers.clear();
    size_t bytes = 0;
    while (!peer.frames.empty() && (writing.empty() || bytes < kMaxWriteBytes)) {
      bytes += peer.frames.front().frame.bytes.size();
      writing.push_back(std::move(peer.frames.front()));
      peer.frames.pop_front();
    }
    peer.queued_bytes -= bytes;
    size_t messages = 0;
    for (const auto& queued : writing) {
      buffers.push_back(asio::buffer(queued.frame.bytes));
      messages += queued.messages;
    }
    auto [write_ec, written] = co_await asio::async_write(*socket, buffers, kAwaitTuple);
    if (write_ec) {
      stats_.messages_dropped += messages;
      break;
    }
    stats_.frames_sent += writing.size();
    stats_.messages_sent += messages;
    stats_.bytes_sent += written;
  }
}

// The peer never writes on our outbound connection: a read completes only when
// it closes or resets, and then the writer must stop and reconnect.
awaitable<void> Transport::watch_close(std::shared_ptr<Socket> socket) {
  std::array<uint8_t, 64> discard{};
  while (true) {
    auto [ec, read] = co_await socket->async_read_some(asio::buffer(discard), kAwaitTuple);
    if (ec) {
      break;
    }
  }
  boost::system::error_code ignored;
  socket->close(ignored);
  if (stopped_) {
    co_return;
  }
  for (auto& [node, peer] : peers_) {
    if (peer->socket == socket) peer->wake.cancel();
  }
}

}  // namespace fjord::raft::transport
