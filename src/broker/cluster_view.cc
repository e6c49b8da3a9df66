#include "broker/cluster_view.h"

namespace fjord::broker {
namespace {

constexpr std::string_view kKafkaListener = "PLAINTEXT";

// Without registrations (a single node, or data written before them) this node
// is the whole cluster and leads every partition, whatever the records say.
bool single_node(const metadata::MetadataImage& image) { return image.brokers.empty(); }

}  // namespace

std::vector<BrokerAddress> live_brokers(const metadata::MetadataImage& image,
                                        const BrokerAddress& self) {
  std::vector<BrokerAddress> live;
  for (const auto& [id, broker] : image.brokers) {
    if (broker.fenced) continue;
    for (const metadata::BrokerEndpoint& endpoint : broker.endpoints) {
      if (endpoint.listener != kKafkaListener) continue;
      live.push_back(BrokerAddress{id, endpoint.host, endpoint.port, broker.rack});
      break;
    }
  }
  // Clients need somewhere to ask again while every broker is fenced (a
  // restarting cluster): this node, whose partitions then have no leader.
  if (live.empty()) live.push_back(self);
  return live;
}

int32_t leader_of(const metadata::MetadataImage& image, const metadata::TopicInfo& topic,
                  int32_t partition, int32_t self_id) {
  if (single_node(image)) return self_id;
  return image.leader_of(topic, partition);
}

PartitionPlacement placement_of(const metadata::MetadataImage& image,
                                const metadata::TopicInfo& topic, int32_t partition,
                                int32_t self_id) {
  if (single_node(image)) return PartitionPlacement{self_id, 0, {self_id}, {self_id}};
  const auto index = static_cast<size_t>(partition);
  if (partition < 0 || index >= topic.partitions.size()) return PartitionPlacement{};
  const metadata::PartitionInfo& info = topic.partitions[index];
  return PartitionPlacement{image.leader_of(topic, partition), info.leader_epoch, info.replicas,
                            info.isr};
}

}  // namespace fjord::broker
