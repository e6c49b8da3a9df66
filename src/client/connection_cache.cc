#include "client/connection_cache.h"

namespace fjord::client {

Result<std::unique_ptr<BrokerConnection>> ConnectionCache::acquire(const std::string& address) {
  {
    std::lock_guard lock(mutex_);
    auto found = idle_.find(address);
    if (found != idle_.end() && !found->second.empty()) {
      std::unique_ptr<BrokerConnection> connection = std::move(found->second.back());
      found->second.pop_back();
      return connection;
    }
  }
  return BrokerConnection::open(address, timeout_ms_);  // outside the lock: it blocks
}

void ConnectionCache::release(std::unique_ptr<BrokerConnection> connection) {
  if (!connection) return;
  std::lock_guard lock(mutex_);
  auto& idle = idle_[connection->address()];
  if (idle.size() < max_idle_per_address_) idle.push_back(std::move(connection));
}

}  // namespace fjord::client
