// Limits of the network layer. Names follow Kafka's broker settings where one exists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fjord::net {

struct ServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 9092;  // 0: an ephemeral port (tests); Server::port() tells which

  // socket.request.max.bytes: a larger size field closes that connection before
  // anything is allocated for the frame.
  size_t max_frame_bytes = 104857600;
  // Per connection: reading pauses while this many requests await their response...
  size_t max_in_flight_requests = 64;
  // ...or while this many request bytes are being handled.
  size_t max_in_flight_bytes = 64 << 20;
  int64_t idle_timeout_ms = 600000;  // connections.max.idle.ms; <= 0 disables it
  size_t max_connections = 10000;    // connections beyond it are closed at once

  // Per connection read-ahead buffer for small pipelined frames; larger frames
  // are read straight into their own buffer. Bounds memory per idle connection.
  size_t read_buffer_bytes = 16 << 10;
};

}  // namespace fjord::net
