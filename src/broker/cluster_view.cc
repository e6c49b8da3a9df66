#include "broker/cluster_view.h"

namespace fjord::broker {

std::vector<BrokerAddress> live_brokers(const metadata::MetadataImage&, const BrokerAddress& self) {
  // With registrations (RegisterBrokerRecord in the image): the unfenced brokers
  // and their PLAINTEXT endpoints, sorted by id.
  return {self};
}

PartitionPlacement placement_of(const metadata::MetadataImage&, const metadata::TopicInfo&, int32_t,
                                int32_t self_id) {
  // With placement (PartitionRecord in the image): its replicas, isr, leader
  // (-1 when fenced) and leader epoch.
  return PartitionPlacement{self_id, 0, {self_id}, {self_id}};
}

int32_t leader_of(const metadata::MetadataImage&, const metadata::TopicInfo&, int32_t,
                  int32_t self_id) {
  return self_id;
}

}  // namespace fjord::broker
