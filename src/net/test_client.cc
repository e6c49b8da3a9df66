#include "net/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/endian.h"

namespace fjord::net::testing {
namespace {

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TestClient::TestClient(uint16_t port) : fd_(connect_to(port)) {
  if (fd_ < 0) return;
  timeval timeout{.tv_sec = 20, .tv_usec = 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

TestClient::~TestClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool TestClient::send_bytes(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool TestClient::send_size_field(int32_t size) {
  char field[4];
  store_be<int32_t>(reinterpret_cast<uint8_t*>(field), size);
  return send_bytes(std::string_view(field, sizeof(field)));
}

bool TestClient::send_frame(std::string_view payload) {
  std::string frame(4, '\0');
  store_be<int32_t>(reinterpret_cast<uint8_t*>(frame.data()), static_cast<int32_t>(payload.size()));
  frame.append(payload);
  return send_bytes(frame);
}

void TestClient::shutdown_send() { ::shutdown(fd_, SHUT_WR); }

bool TestClient::read_exact(char* data, size_t bytes) {
  while (bytes > 0) {
    ssize_t n = ::recv(fd_, data, bytes, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    bytes -= static_cast<size_t>(n);
  }
  return true;
}

std::optional<std::string> TestClient::read_frame() {
  char field[4];
  if (!read_exact(field, sizeof(field))) return std::nullopt;
  int32_t size = load_be<int32_t>(reinterpret_cast<const uint8_t*>(field));
  if (size < 0) return std::nullopt;
  std::string payload(static_cast<size_t>(size), '\0');
  if (!read_exact(payload.data(), payload.size())) return std::nullopt;
  return payload;
}

bool TestClient::read_eof() {
  char byte;
  for (;;) {
    ssize_t n = ::recv(fd_, &byte, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return true;
    return n < 0 && (errno == ECONNRESET || errno == EPIPE);
  }
}

bool connection_refused(uint16_t port) {
  int fd = connect_to(port);
  if (fd < 0) return true;
  ::close(fd);
  return false;
}

}  // namespace fjord::net::testing
