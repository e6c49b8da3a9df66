// ConnectionCache: idle BrokerConnections kept by address for reuse by any
// thread. A caller takes one out (acquire), uses it alone, and gives it back
// (release) if it is still good; a connection that failed is simply dropped.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/broker_connection.h"
#include "common/result.h"

namespace fjord::client {

class ConnectionCache {
 public:
  // timeout_ms: for opening a connection and for each request on it.
  // max_idle_per_address: connections beyond it are closed on release.
  explicit ConnectionCache(int timeout_ms, size_t max_idle_per_address = 4)
      : timeout_ms_(timeout_ms), max_idle_per_address_(max_idle_per_address) {}

  // An idle connection to `address`, or a new one.
  Result<std::unique_ptr<BrokerConnection>> acquire(const std::string& address);
  // Keeps a connection whose last request succeeded for the next acquire().
  void release(std::unique_ptr<BrokerConnection> connection);

 private:
  const int timeout_ms_;
  const size_t max_idle_per_address_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<BrokerConnection>>> idle_;
};

}  // namespace fjord::client
