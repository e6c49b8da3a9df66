#include "client/broker_connection.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "client/response_frame.h"
#include "common/host_port.h"
#include "protocol/generated/api_messages.h"
#include "protocol/generated/api_versions_request.h"
#include "protocol/generated/api_versions_response.h"
#include "protocol/generated/request_header.h"

namespace fjord::client {
namespace {

namespace p = fjord::protocol;

constexpr int32_t kMaxResponseBytes = 64 * 1024 * 1024;  // far above any admin response
constexpr int16_t kApiVersionsVersion = 3;               // flexible; every broker since Kafka 2.4
constexpr char kStartHint[] = "is the server running? start it with 'make run'";

std::string errno_text(int error) {
  if (error == ECONNREFUSED) return "connection refused";
  if (error == ECONNRESET || error == EPIPE) return "the server closed the connection";
  if (error == ETIMEDOUT) return "connection timed out";
  return std::strerror(error);
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// A non-blocking socket connected to one of `host`'s addresses, or the error
// of the last attempt.
Result<int> connect_socket(const HostPort& target, const std::string& address,
                           std::chrono::steady_clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(target.port);
  if (::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("cannot reach {} (unknown host): check --bootstrap-server (or "
                             "FJORD_BOOTSTRAP)",
                             address)};
  }
  int last_error = ETIMEDOUT;
  for (addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
    const int fd =
        ::socket(candidate->ai_family, candidate->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 candidate->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    if (::connect(fd, candidate->ai_addr, candidate->ai_addrlen) == 0) {
      ::freeaddrinfo(found);
      return fd;
    }
    if (errno == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      int error = ETIMEDOUT;
      if (::poll(&waiting, 1, remaining_ms(deadline)) == 1) {
        socklen_t length = sizeof(error);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      }
      if (error == 0) {
        ::freeaddrinfo(found);
        return fd;
      }
      last_error = error;
    } else {
      last_error = errno;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return Error{ErrorCode::kUnknownServerError, fmt::format("cannot reach {} ({}): {}", address,
                                                           errno_text(last_error), kStartHint)};
}

}  // namespace

Result<std::unique_ptr<BrokerConnection>> BrokerConnection::open(const std::string& address,
                                                                 int timeout_ms) {
  auto target = parse_host_port(address);
  if (!target.ok() || target->port == 0) {
    return Error{ErrorCode::kInvalidConfig,
                 fmt::format("invalid server address '{}': expected HOST:PORT", address)};
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto fd = connect_socket(*target, address, deadline);
  if (!fd.ok()) return fd.error();
  std::unique_ptr<BrokerConnection> connection(new BrokerConnection(address, *fd, timeout_ms));
  Status versions = connection->fetch_api_versions();
  if (!versions.ok()) return versions.error();
  return connection;
}

BrokerConnection::~BrokerConnection() {
  if (fd_ >= 0) ::close(fd_);
}

Status BrokerConnection::fetch_api_versions() {
  p::ApiVersionsRequest request;
  request.client_software_name = "fjord-cli";
  request.client_software_version = "1";
  auto response = call_at<p::ApiVersionsResponse>(request, kApiVersionsVersion, "ApiVersions");
  if (!response.ok()) return response.error();
  if (response->error_code != 0) {
    return Error{ErrorCode::kUnsupportedVersion,
                 fmt::format("the server at {} refused ApiVersions v{} (error {}): it is not a "
                             "Kafka 2.4+ compatible server",
                             address_, kApiVersionsVersion, response->error_code)};
  }
  for (const auto& api : response->api_keys) {
    api_versions_[api.api_key] = {api.min_version, api.max_version};
  }
  return {};
}

Result<int16_t> BrokerConnection::choose_version(int16_t api_key, const char* api_name,
                                                 int16_t min_version, int16_t max_version) const {
  auto found = api_versions_.find(api_key);
  if (found != api_versions_.end()) {
    const auto [broker_min, broker_max] = found->second;
    const int16_t version = std::min(max_version, broker_max);
    if (version >= std::max(min_version, broker_min)) return version;
  }
  return Error{ErrorCode::kUnsupportedVersion,
               fmt::format("the server at {} does not support {} (API key {}): it needs a "
                           "newer Fjord or Kafka version",
                           address_, api_name, api_key)};
}

Result<std::vector<uint8_t>> BrokerConnection::round_trip(int16_t api_key, int16_t version,
                                                          const OutboundMessage& body,
                                                          const char* api_name) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  const int32_t correlation_id = next_correlation_id_++;
  OutboundMessage frame;
  p::Writer writer(frame);
  writer.write_int32(0);  // size, patched below
  p::RequestHeader header;
  header.request_api_key = api_key;
  header.request_api_version = version;
  header.correlation_id = correlation_id;
  header.client_id = "fjord-cli";
  header.encode(writer, p::request_header_version(api_key, version));
  writer.append(body);
  if (!writer.ok()) {
    return Error{ErrorCode::kInvalidRequest,
                 fmt::format("cannot encode the {} request (a name is too long?)", api_name)};
  }
  writer.patch_int32(0, static_cast<int32_t>(frame.bytes.size() - 4));
  Status sent = send_all(frame.bytes, deadline);
  if (!sent.ok()) return sent.error();

  uint8_t size_bytes[4];
  Status got_size = receive_exact(size_bytes, deadline);
  if (!got_size.ok()) return got_size.error();
  p::Reader size_reader(size_bytes);
  const int32_t size = size_reader.read_int32();
  if (size < 4 || size > kMaxResponseBytes) {
    return malformed_response(api_name, fmt::format("implausible frame size {}", size));
  }
  std::vector<uint8_t> payload(static_cast<size_t>(size));
  Status got_payload = receive_exact(payload, deadline);
  if (!got_payload.ok()) return got_payload.error();

  auto body_offset = response_body_offset(payload, api_key, version, correlation_id);
  if (!body_offset.ok()) return malformed_response(api_name, body_offset.error().message);
  body_offset_ = *body_offset;
  return payload;
}

Status BrokerConnection::wait_ready(short events, Clock::time_point deadline) {
  pollfd waiting{fd_, events, 0};
  while (true) {
    const int ready = ::poll(&waiting, 1, remaining_ms(deadline));
    if (ready > 0) return {};
    if (ready == 0) {
      return Error{ErrorCode::kRequestTimedOut,
                   fmt::format("no answer from {} within {} ms: raise --timeout-ms, or check the "
                               "server's log",
                               address_, timeout_ms_)};
    }
    if (errno != EINTR) return io_error("poll");
  }
}

Status BrokerConnection::send_all(std::span<const uint8_t> bytes, Clock::time_point deadline) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return io_error("send");
    }
    Status ready = wait_ready(POLLOUT, deadline);
    if (!ready.ok()) return ready;
  }
  return {};
}

Status BrokerConnection::receive_exact(std::span<uint8_t> out, Clock::time_point deadline) {
  size_t received = 0;
  while (received < out.size()) {
    const ssize_t n = ::recv(fd_, out.data() + received, out.size() - received, 0);
    if (n > 0) {
      received += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      return Error{ErrorCode::kUnknownServerError,
                   fmt::format("{} closed the connection: see the server's log for why", address_)};
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return io_error("recv");
    Status ready = wait_ready(POLLIN, deadline);
    if (!ready.ok()) return ready;
  }
  return {};
}

Error BrokerConnection::malformed_response(const char* api_name, const std::string& why) const {
  return Error{ErrorCode::kCorruptMessage,
               fmt::format("malformed {} response from {}: {}", api_name, address_, why)};
}

Error BrokerConnection::io_error(const std::string& what) const {
  return Error{
      ErrorCode::kUnknownServerError,
      fmt::format("lost the connection to {} ({} failed: {})", address_, what, errno_text(errno))};
}

}  // namespace fjord::client
