// A blocking connection to one broker: for the CLI's requests that librdkafka
// 2.0 has no admin API for (DescribeTransactions, ListTransactions, ...), and for
// the requests one node sends another (broker registration, heartbeats).
// Requests and responses are encoded with the generated protocol code; the
// version of each request is the highest both sides speak (ApiVersions).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/outbound.h"
#include "common/result.h"
#include "protocol/wire.h"

namespace fjord::client {

class BrokerConnection {
 public:
  // Connects to "host:port" and asks for its API versions; every later
  // request must complete within `timeout_ms` of its start.
  static Result<std::unique_ptr<BrokerConnection>> open(const std::string& address, int timeout_ms);
  ~BrokerConnection();
  BrokerConnection(const BrokerConnection&) = delete;
  BrokerConnection& operator=(const BrokerConnection&) = delete;

  const std::string& address() const { return address_; }

  // The highest version of `api_key` in [min_version, max_version] that the
  // broker supports; fails with a message naming `api_name` otherwise.
  Result<int16_t> choose_version(int16_t api_key, const char* api_name, int16_t min_version,
                                 int16_t max_version) const;

  // Sends `request` at the highest version both sides speak and decodes the
  // response.
  template <typename Response, typename Request>
  Result<Response> call(const Request& request, const char* api_name,
                        int16_t min_version = Request::kMinVersion) {
    auto version = choose_version(Request::kApiKey, api_name, min_version, Request::kMaxVersion);
    if (!version.ok()) return version.error();
    return call_at<Response>(request, *version, api_name);
  }

  // Sends `request` at `version` (already known to be supported).
  template <typename Response, typename Request>
  Result<Response> call_at(const Request& request, int16_t version, const char* api_name) {
    OutboundMessage body;
    protocol::Writer writer(body);
    request.encode(writer, version);
    auto payload = round_trip(Request::kApiKey, version, body, api_name);
    if (!payload.ok()) return payload.error();
    protocol::Reader reader(std::span<const uint8_t>(*payload).subspan(body_offset_));
    Response response;
    response.decode(reader, version);
    if (!reader.ok()) return malformed_response(api_name, reader.error());
    return response;
  }

 private:
  BrokerConnection(std::string address, int fd, int timeout_ms)
      : address_(std::move(address)), fd_(fd), timeout_ms_(timeout_ms) {}

  using Clock = std::chrono::steady_clock;

  // Sends one request frame and returns the response frame (without its size
  // prefix); body_offset_ is where the body starts in it.
  Result<std::vector<uint8_t>> round_trip(int16_t api_key, int16_t version,
                                          const OutboundMessage& body, const char* api_name);
  Status send_all(std::span<const uint8_t> bytes, Clock::time_point deadline);
  Status receive_exact(std::span<uint8_t> out, Clock::time_point deadline);
  Status wait_ready(short events, Clock::time_point deadline);
  Status fetch_api_versions();
  Error malformed_response(const char* api_name, const std::string& why) const;
  Error io_error(const std::string& what) const;

  std::string address_;
  int fd_ = -1;
  int timeout_ms_ = 0;
  int32_t next_correlation_id_ = 1;
  size_t body_offset_ = 0;
  std::map<int16_t, std::pair<int16_t, int16_t>> api_versions_;  // key -> [min, max]
};

}  // namespace fjord::client
