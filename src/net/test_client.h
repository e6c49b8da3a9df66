// A blocking TCP client for the network layer's tests: writes and reads
// size-prefixed frames on 127.0.0.1. Reads time out after 20 s, so a broken
// server fails a test instead of hanging it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fjord::net::testing {

class TestClient {
 public:
  explicit TestClient(uint16_t port);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_bytes(std::string_view bytes);
  bool send_frame(std::string_view payload);  // adds the int32 size prefix
  bool send_size_field(int32_t size);
  void shutdown_send();

  // The next frame's payload; nullopt at EOF, on error or on timeout.
  std::optional<std::string> read_frame();
  // True if the peer closed the connection: the next read returns EOF (or a reset).
  bool read_eof();

 private:
  bool read_exact(char* data, size_t bytes);
  int fd_ = -1;
};

// Polls `condition` every millisecond for up to 20 s; true once it holds.
template <typename Condition>
bool wait_until(Condition condition);

// True if a TCP connection to 127.0.0.1:`port` is refused.
bool connection_refused(uint16_t port);

}  // namespace fjord::net::testing

#include <chrono>
#include <thread>

template <typename Condition>
bool fjord::net::testing::wait_until(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}
