// The cluster as the metadata image describes it, for routing clients: which
// brokers are live and where they listen, and which broker leads each
// partition. Metadata and DescribeCluster list what this says; Produce, Fetch
// and ListOffsets answer NOT_LEADER_OR_FOLLOWER for a partition another broker
// leads.
//
// Without broker registrations in the image (a single node, or data written
// before registrations existed) this node is the whole cluster and leads every
// partition.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metadata/image.h"

namespace fjord::broker {

struct BrokerAddress {
  int32_t id = -1;
  std::string host;  // the advertised Kafka listener
  int32_t port = 0;
  std::optional<std::string> rack;
};

struct PartitionPlacement {
  int32_t leader = -1;  // -1: no live leader (its broker is fenced)
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};

// Every registered, unfenced broker with a PLAINTEXT endpoint, by id; `self`
// (this node, as clients reach it) when there is none.
std::vector<BrokerAddress> live_brokers(const metadata::MetadataImage& image,
                                        const BrokerAddress& self);

// Where partition `partition` (< topic.partition_count) of `topic` lives.
PartitionPlacement placement_of(const metadata::MetadataImage& image,
                                const metadata::TopicInfo& topic, int32_t partition,
                                int32_t self_id);

// The leader of partition `partition` of `topic` (placement_of(...).leader,
// without building the lists: Produce and Fetch ask it per partition).
int32_t leader_of(const metadata::MetadataImage& image, const metadata::TopicInfo& topic,
                  int32_t partition, int32_t self_id);

}  // namespace fjord::broker
