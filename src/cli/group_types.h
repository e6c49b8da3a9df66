// Plain descriptions of consumer groups for the `fjord group` commands, filled
// from librdkafka's admin results (group_admin.h) and formatted by group_report.h.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace fjord::cli {

struct TopicPartitionId {
  std::string topic;
  int32_t partition = 0;

  auto operator<=>(const TopicPartitionId&) const = default;
};

struct GroupListing {
  std::string name;
  std::string state;          // Kafka's names: Stable, Empty, PreparingRebalance, ...
  std::string protocol_type;  // "consumer", or "" for a group with only committed offsets
};

struct GroupMember {
  std::string member_id;
  std::string instance_id;  // group.instance.id, empty without static membership
  std::string client_id;
  std::string host;
  std::vector<TopicPartitionId> assignment;
};

struct GroupDescription {
  std::string name;
  std::string state;
  std::string protocol_type;
  std::string protocol;  // the assignor the group chose, e.g. "range"
  int32_t coordinator = -1;
  std::vector<GroupMember> members;
};

}  // namespace fjord::cli
