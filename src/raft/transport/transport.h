// The Raft transport: carries raft::Message values between nodes over TCP
// (docs/raft-transport.md). One listener takes every peer's inbound connection;
// one outbound connection per peer carries what this node sends to it.
//
// send() only queues; flush() turns each peer's queue into one frame, so the
// driver's pass sends the appends and heartbeats of all its groups for a peer
// in one write. Raft tolerates lost messages, so queues are bounded and drop
// (counted) rather than grow while a peer is down.
//
// Threading: every method runs on the io_context's thread (one thread runs it),
// and the receive callback is called there too.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/outbound.h"
#include "common/result.h"
#include "raft/message.h"
#include "raft/transport/peers.h"

namespace fjord::raft::transport {

struct TransportOptions {
  NodeId self = kNoNode;
  std::string cluster_id;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;  // 0: any free port (tests); see Transport::port()
  // A frame above this closes the connection before anything is allocated; the
  // sender splits batches to stay below half of it, and snapshots into chunks
  // of a quarter of it.
  size_t max_frame_bytes = 64 << 20;
  // The largest snapshot a peer may send (in chunks); a larger one is dropped.
  size_t max_snapshot_bytes = size_t{1} << 30;
  // Messages send() queues for one peer before the next flush; newer ones are
  // dropped beyond it.
  size_t max_pending_messages = 1 << 20;
  // Encoded frames waiting for one peer's socket (it is down or slow); the
  // oldest are dropped beyond it. Above the largest snapshot this node sends,
  // so that all its chunks fit (a million partitions of metadata: ~71 MiB).
  size_t max_queued_bytes = 256 << 20;
  size_t max_inbound_connections = 1024;
  int reconnect_backoff_min_ms = 10;
  int reconnect_backoff_max_ms = 1000;
};

struct TransportStats {
  uint64_t frames_sent = 0;
  uint64_t messages_sent = 0;  // written to a socket (not necessarily received)
  uint64_t bytes_sent = 0;
  uint64_t frames_received = 0;
  uint64_t messages_received = 0;
  uint64_t messages_dropped = 0;         // queue limits, no such peer, or lost with a connection
  uint64_t connects = 0;                 // outbound connections established
  uint64_t connections_refused = 0;      // inbound: bad handshake, bad frame, too many
  uint64_t snapshot_chunks_dropped = 0;  // inbound: a partial snapshot lost a chunk
};

class Transport {
 public:
  // The messages of one received frame, all from one peer.
  using ReceiveFn = std::function<void(std::vector<Message>& messages)>;

  Transport(boost::asio::io_context& io, TransportOptions options, ReceiveFn receive);
  // Call stop() first and let the io_context finish its handlers (run() returns).
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds the listener and starts accepting; an error value if it cannot bind.
  Status start();
  uint16_t port() const { return port_; }
  // Adds a peer or changes its address (the connection is remade); this node's
  // own entry is ignored, so the whole voters list can be passed.
  void set_peer(const PeerAddress& address);
  void remove_peer(NodeId node);

  void send(const Message& message);
  void send(Message&& message);
  // Encodes each peer's queued messages into frames and wakes its writer.
  void flush();
  // Closes the listener and every connection; coroutines end soon after.
  void stop();

  const TransportStats& stats() const { return stats_; }
  bool connected(NodeId peer) const;

 private:
  struct Peer;
  struct Inbound;
  using Socket = boost::asio::ip::tcp::socket;

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> read_inbound(std::shared_ptr<Inbound> inbound);
  bool assemble_snapshots(Inbound& inbound, std::vector<Message>& messages);
  boost::asio::awaitable<void> run_peer(std::shared_ptr<Peer> peer);
  boost::asio::awaitable<bool> connect(Peer& peer, std::shared_ptr<Socket> socket);
  boost::asio::awaitable<void> write_frames(Peer& peer, std::shared_ptr<Socket> socket);
  boost::asio::awaitable<void> watch_close(std::shared_ptr<Socket> socket);
  void queue_frame(Peer& peer, OutboundMessage frame, size_t message_count);
  void close_peer(Peer& peer);
  Peer* find_peer(NodeId node);

  boost::asio::io_context& io_;
  TransportOptions options_;
  ReceiveFn receive_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  bool stopped_ = false;
  std::map<NodeId, std::shared_ptr<Peer>> peers_;
  std::map<uint64_t, std::shared_ptr<Inbound>> inbound_;
  uint64_t next_inbound_id_ = 0;
  TransportStats stats_;
};

}  // namespace fjord::raft::transport
