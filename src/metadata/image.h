// MetadataImage: an immutable snapshot of the cluster metadata (topics, their
// partitions and configs). The controller publishes a new image after every
// committed change; readers on any shard load the current one without locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "metadata/topic_config.h"
#include "protocol/wire.h"

namespace fjord::metadata {

struct TopicInfo {
  std::string name;
  protocol::Uuid id;
  int32_t partition_count = 0;
  ConfigMap configs;  // only the keys set on the topic
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
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<const TopicInfo>> topics_by_id;

  const TopicInfo* find(const std::string& name) const {
    auto it = topics.find(name);
    return it == topics.end() ? nullptr : it->second.get();
  }
  const TopicInfo* find(const protocol::Uuid& id) const {
    auto it = topics_by_id.find({id.hi, id.lo});
    return it == topics_by_id.end() ? nullptr : it->second.get();
  }
};

}  // namespace fjord::metadata
