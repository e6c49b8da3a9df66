#include "broker/txn_marker_router.h"

#include <fmt/core.h>

#include <boost/asio/post.hpp>

#include "protocol/generated/write_txn_markers_request.h"
#include "protocol/generated/write_txn_markers_response.h"

namespace fjord::broker {
namespace p = fjord::protocol;

MarkerPlan plan_markers(const metadata::MetadataImage& image, const PartitionManager& partitions,
                        const std::vector<TxnMarkerTarget>& targets) {
  MarkerPlan plan;
  plan.codes.assign(targets.size(), ErrorCode::kNone);
  for (size_t i = 0; i < targets.size(); ++i) {
    const metadata::TopicInfo* topic = image.find(targets[i].topic);
    const int32_t partition = targets[i].partition;
    if (topic == nullptr || partition < 0 || partition >= topic->partition_count) {
      plan.codes[i] = ErrorCode::kUnknownTopicOrPartition;
      continue;
    }
    if (partitions.hosts(*topic, partition)) {
      plan.local.push_back(i);
      continue;
    }
    const int32_t leader = image.leader_of(*topic, partition);
    auto broker = image.brokers.find(leader);
    if (leader < 0 || broker == image.brokers.end() || broker->second.endpoints.empty()) {
      plan.codes[i] = ErrorCode::kNotLeaderOrFollower;
      continue;
    }
    const metadata::BrokerEndpoint& endpoint = broker->second.endpoints.front();
    plan.remote[fmt::format("{}:{}", endpoint.host, endpoint.port)].push_back(i);
  }
  return plan;
}

RemoteMarkerWriter::RemoteMarkerWriter(int timeout_ms) : connections_(timeout_ms) {}

RemoteMarkerWriter::~RemoteMarkerWriter() { pool_.join(); }

void RemoteMarkerWriter::write(std::string address, std::vector<TxnMarkerTarget> targets,
                               const txn::MarkerRequest& request,
                               std::function<void(std::vector<ErrorCode>)> done) {
  boost::asio::post(pool_,
                    [this, address = std::move(address), targets = std::move(targets), request,
                     done = std::move(done)] { done(send(address, targets, request)); });
}

std::vector<ErrorCode> RemoteMarkerWriter::send(const std::string& address,
                                                const std::vector<TxnMarkerTarget>& targets,
                                                const txn::MarkerRequest& request) {
  std::vector<ErrorCode> codes(targets.size(), ErrorCode::kNotLeaderOrFollower);
  p::WriteTxnMarkersRequest wire;
  auto& marker = wire.markers.emplace_back();
  marker.producer_id = request.producer_id;
  marker.producer_epoch = request.producer_epoch;
  marker.transaction_result = request.commit;
  marker.coordinator_epoch = request.coordinator_epoch;
  std::map<std::string, size_t> topic_at;  // name -> its entry in marker.topics
  for (const TxnMarkerTarget& target : targets) {
    auto [at, added] = topic_at.try_emplace(target.topic, marker.topics.size());
    if (added) marker.topics.emplace_back().name = target.topic;
    marker.topics[at->second].partition_indexes.push_back(target.partition);
  }
  auto connection = connections_.acquire(address);
  if (!connection.ok()) return codes;
  auto response = (*connection)->call<p::WriteTxnMarkersResponse>(wire, "WriteTxnMarkers");
  if (!response.ok()) return codes;  // the connection is dropped with its failure
  connections_.release(std::move(*connection));
  std::map<std::pair<std::string, int32_t>, int16_t> answered;
  for (const auto& result : response->markers) {
    if (result.producer_id != request.producer_id) continue;
    for (const auto& topic : result.topics) {
      for (const auto& partition : topic.partitions) {
        answered[{topic.name, partition.partition_index}] = partition.error_code;
      }
    }
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    auto found = answered.find({targets[i].topic, targets[i].partition});
    codes[i] = found == answered.end() ? ErrorCode::kUnknownServerError
                                       : static_cast<ErrorCode>(found->second);
  }
  return codes;
}

}  // namespace fjord::broker
