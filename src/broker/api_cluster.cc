// Cluster description: DescribeCluster and DescribeLogDirs.
#include <sys/statvfs.h>

#include <filesystem>

#include "broker/broker.h"
#include "broker/cross_shard.h"
#include "protocol/generated/describe_cluster_request.h"
#include "protocol/generated/describe_cluster_response.h"
#include "protocol/generated/describe_log_dirs_request.h"
#include "protocol/generated/describe_log_dirs_response.h"

namespace fjord::broker {

namespace p = protocol;

boost::asio::awaitable<p::DescribeClusterResponse> Broker::describe_cluster(
    const RequestContext& context, p::DescribeClusterRequest& request) {
  p::DescribeClusterResponse response;
  constexpr int8_t kBrokersEndpoint = 1;
  if (context.api_version >= 1 && request.endpoint_type != kBrokersEndpoint) {
    response.error_code = to_wire(ErrorCode::kUnsupportedVersion);
    response.error_message = "only broker endpoints are described";
    co_return response;
  }
  response.endpoint_type = kBrokersEndpoint;
  response.cluster_id = controller_.image()->cluster_id;
  response.controller_id = quorum_.controller_id();
  for (BrokerAddress& broker : live_brokers(*controller_.image(), self_address())) {
    p::DescribeClusterResponse::DescribeClusterBroker entry;
    entry.broker_id = broker.id;
    entry.host = std::move(broker.host);
    entry.port = broker.port;
    entry.rack = std::move(broker.rack);
    response.brokers.push_back(std::move(entry));
  }
  co_return response;
}

boost::asio::awaitable<p::DescribeLogDirsResponse> Broker::describe_log_dirs(
    const RequestContext& context, p::DescribeLogDirsRequest& request) {
  p::DescribeLogDirsResponse response;
  p::DescribeLogDirsResponse::DescribeLogDirsResult dir;
  std::error_code ec;
  dir.log_dir = std::filesystem::absolute(config_.data_dir, ec).string();
  struct statvfs fs {};
  if (statvfs(config_.data_dir.c_str(), &fs) == 0) {
    dir.total_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
    dir.usable_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  }
  const auto image = controller_.image();
  // Null topics means every partition.
  std::vector<std::pair<std::string, std::vector<int32_t>>> wanted;
  if (!request.topics) {
    for (const auto& [name, topic] : image->topics) {
      std::vector<int32_t> all;
      for (int32_t i = 0; i < topic->partition_count; ++i) all.push_back(i);
      wanted.emplace_back(name, std::move(all));
    }
  } else {
    for (const auto& topic : *request.topics) wanted.emplace_back(topic.topic, topic.partitions);
  }
  for (const auto& [name, indexes] : wanted) {
    const metadata::TopicInfo* info = image->find(name);
    if (info == nullptr) continue;
    p::DescribeLogDirsResponse::DescribeLogDirsTopic topic;
    topic.name = name;
    for (int32_t index : indexes) {
      if (index < 0 || index >= info->partition_count) continue;
      const int64_t size = co_await run_on(partitions_.shards(), partitions_.shard_of(name, index),
                                           [&]() -> int64_t {
                                             Partition* partition = partitions_.find(name, index);
                                             return partition == nullptr
                                                        ? 0
                                                        : static_cast<int64_t>(
                                                              partition->log->size_bytes());
                                           });
      p::DescribeLogDirsResponse::DescribeLogDirsPartition partition;
      partition.partition_index = index;
      partition.partition_size = size;
      partition.offset_lag = 0;
      partition.is_future_key = false;
      topic.partitions.push_back(std::move(partition));
    }
    dir.topics.push_back(std::move(topic));
  }
  response.results.push_back(std::move(dir));
  co_return response;
}

}  // namespace fjord::broker
