// MetadataImage: an immutable snapshot of the cluster metadata (topics, their
// partitions and configs). The controller publishes a new image after every
// committed change; readers on any shard load the current one without locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metadata/topic_config.h"
#include "protocol/wire.h"

namespace fjord::metadata {

// Where one partition lives (PartitionRecord, PartitionChangeRecord).
struct PartitionInfo {
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  bool operator==(const PartitionInfo&) const = default;
};

struct TopicInfo {
  std::string name;
  protocol::Uuid id;
  int32_t partition_count = 0;
  std::vector<PartitionInfo> partitions;  // by index; partition_count of them
  ConfigMap configs;                      // only the keys set on the topic
};

struct BrokerEndpoint {
  std::string listener;  // e.g. "PLAINTEXT"
  std::string host;
  uint16_t port = 0;
  bool operator==(const BrokerEndpoint&) const = default;
};

// A registered broker (RegisterBrokerRecord and the fencing records). A fenced
// broker leads nothing: its partitions are reported without a leader.
struct BrokerInfo {
  int32_t id = -1;
  protocol::Uuid incarnation;
  int64_t epoch = -1;
  std::vector<BrokerEndpoint> endpoints;
  std::optional<std::string> rack;
  bool fenced = true;
  bool operator==(const BrokerInfo&) const = default;
};

// Where a metadata quorum voter's Raft transport listens
// (RegisterControllerRecord). The voters a cluster started with are in every
// node's controller.quorum.voters; a voter added later is registered here
// first, so every node, and every node that restarts, can reach it.
struct ControllerInfo {
  int32_t id = -1;
  std::string host;
  uint16_t port = 0;
  bool operator==(const ControllerInfo&) const = default;
};

struct MetadataImage {
  std::string cluster_id;
  int64_t last_applied_offset = -1;  // metadata log offset this image includes
  // The first producer id not yet handed out in a block (ProducerIdsRecord).
  int64_t next_producer_id = 0;

  void put(std::shared_ptr<const TopicInfo> topic) {
    topics_by_id[{topic->id.hi, topic->id.lo}] = topic;
    topics[topic->name] = std::move(topic);
  }
  void erase(const TopicInfo& topic) {
    topics_by_id.erase({topic.id.hi, topic.id.lo});
    topics.erase(topic.name);
  }
  std::map<std::string, std::shared_ptr<const TopicInfo>> topics;
  // Registered brokers by id; empty on a single node.
  std::map<int32_t, BrokerInfo> brokers;
  // Registered controller addresses by id; empty on a single node.
  std::map<int32_t, ControllerInfo> controllers;
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<const TopicInfo>> topics_by_id;

  const TopicInfo* find(const std::string& name) const {
    auto it = topics.find(name);
    return it == topics.end() ? nullptr : it->second.get();
  }
  const TopicInfo* find(const protocol::Uuid& id) const {
    auto it = topics_by_id.find({id.hi, id.lo});
    return it == topics_by_id.end() ? nullptr : it->second.get();
  }

  // The partition's leader as clients should see it: -1 while its broker is
  // fenced or gone. With no registered brokers (a single node) the placement's.
  int32_t leader_of(const TopicInfo& topic, int32_t partition) const {
    if (partition < 0 || static_cast<size_t>(partition) >= topic.partitions.size()) return -1;
    const int32_t leader = topic.partitions[static_cast<size_t>(partition)].leader;
    if (brokers.empty()) return leader;
    auto broker = brokers.find(leader);
    return broker == brokers.end() || broker->second.fenced ? -1 : leader;
  }
};

}  // namespace fjord::metadata
