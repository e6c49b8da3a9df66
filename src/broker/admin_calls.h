// Controller changes wait for their commit: a Raft round trip on a cluster, an
// fsync on a single node. The admin handlers run them on the broker's admin
// thread (co_spawn onto Broker::admin_calls_), so that the shard that received
// the request keeps serving produce and fetch meanwhile. Named coroutines
// whose class arguments are references into the caller's frame (g++ 12 mishandles
// lambda coroutines with captures and class arguments by value).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "metadata/controller.h"

namespace fjord::broker::admin {

int64_t now_ms();

inline boost::asio::awaitable<Result<std::shared_ptr<const metadata::TopicInfo>>> create_topic(
    metadata::Controller& controller, const std::string& name, int32_t partitions,
    int16_t replication_factor, const metadata::ConfigMap& configs, bool validate_only) {
  co_return controller.create_topic(name, partitions, replication_factor, configs, validate_only,
                                    now_ms());
}

inline boost::asio::awaitable<Result<std::shared_ptr<const metadata::TopicInfo>>> delete_topic(
    metadata::Controller& controller, const std::string& name) {
  co_return controller.delete_topic(name, now_ms());
}

inline boost::asio::awaitable<Status> create_partitions(metadata::Controller& controller,
                                                        const std::string& name,
                                                        int32_t total_count, bool validate_only) {
  co_return controller.create_partitions(name, total_count, validate_only, now_ms());
}

inline boost::asio::awaitable<Status> alter_configs(
    metadata::Controller& controller, const std::string& name,
    const std::vector<metadata::ConfigAlteration>& changes, bool validate_only) {
  co_return controller.alter_configs(name, changes, validate_only, now_ms());
}

inline boost::asio::awaitable<Status> replace_configs(metadata::Controller& controller,
                                                      const std::string& name,
                                                      const metadata::ConfigMap& configs,
                                                      bool validate_only) {
  co_return controller.replace_configs(name, configs, validate_only, now_ms());
}

}  // namespace fjord::broker::admin
