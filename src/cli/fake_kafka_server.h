// Test helper: a Kafka server on a loopback port, in a thread, that answers
// each request with whatever the test's handler for that API encodes (with the
// generated protocol code). ApiVersions is answered from `apis`.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/frame.h"
#include "protocol/generated/api_messages.h"
#include "protocol/generated/api_versions_response.h"
#include "protocol/wire.h"

namespace fjord::cli::testing {

class FakeKafkaServer {
 public:
  // Encodes the response body for a request body (after the request header);
  // false: send no answer at all (a server that hangs).
  using Handler =
      std::function<bool(int16_t version, protocol::Reader& request, protocol::Writer& response)>;

  FakeKafkaServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listener_, 8);
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }

  ~FakeKafkaServer() {
    ::shutdown(listener_, SHUT_RDWR);
    {
      std::lock_guard lock(mutex_);
      for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
    }
    if (thread_.joinable()) thread_.join();
    for (int fd : clients_) ::close(fd);
    ::close(listener_);
  }

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // An API the server advertises in ApiVersions, answered by `handler`.
  void serve(int16_t api_key, int16_t min_version, int16_t max_version, Handler handler) {
    apis_[api_key] = {min_version, max_version};
    handlers_[api_key] = std::move(handler);
  }

  // Answers with this correlation id instead of the request's (a broken server).
  void answer_with_correlation_id(int32_t id) { forced_correlation_id_ = id; }

  // Accepts connections one after another and answers their requests in order.
  void start() {
    thread_ = std::thread([this] {
      while (true) {
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        {
          std::lock_guard lock(mutex_);
          clients_.push_back(fd);
        }
        serve_connection(fd);
      }
    });
  }

  std::vector<int16_t> requests_seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  bool read_exact(int fd, uint8_t* out, size_t size) {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::recv(fd, out + done, size - done, 0);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  void serve_connection(int fd) {
    while (true) {
      uint8_t size_bytes[4];
      if (!read_exact(fd, size_bytes, 4)) return;
      protocol::Reader size_reader(size_bytes);
      std::vector<uint8_t> frame(static_cast<size_t>(size_reader.read_int32()));
      if (!read_exact(fd, frame.data(), frame.size())) return;
      auto header = protocol::parse_request_header(frame);
      if (!header.ok()) return;
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(header->api_key);
      }
      OutboundMessage out;
      protocol::Writer writer(out);
      writer.write_int32(0);
      protocol::write_response_header(
          writer, header->api_key, header->api_version,
          forced_correlation_id_ >= 0 ? forced_correlation_id_ : header->correlation_id);
      protocol::Reader body(std::span<const uint8_t>(frame).subspan(header->body_offset));
      if (header->api_key == protocol::ApiVersionsResponse::kApiKey) {
        api_versions(header->api_version).encode(writer, header->api_version);
      } else if (auto handler = handlers_.find(header->api_key); handler != handlers_.end()) {
        if (!handler->second(header->api_version, body, writer)) continue;
      } else {
        return;  // an API it does not know: close, as Kafka does
      }
      writer.patch_int32(0, static_cast<int32_t>(out.bytes.size() - 4));
      if (::send(fd, out.bytes.data(), out.bytes.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  protocol::ApiVersionsResponse api_versions(int16_t) const {
    protocol::ApiVersionsResponse response;
    for (const auto& [key, range] : apis_) {
      protocol::ApiVersionsResponse::ApiVersion api;
      api.api_key = key;
      api.min_version = range.first;
      api.max_version = range.second;
      response.api_keys.push_back(api);
    }
    return response;
  }

  mutable std::mutex mutex_;  // guards clients_ and seen_
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<int> clients_;
  std::map<int16_t, std::pair<int16_t, int16_t>> apis_;
  std::map<int16_t, Handler> handlers_;
  std::vector<int16_t> seen_;
  int32_t forced_correlation_id_ = -1;
};

}  // namespace fjord::cli::testing
