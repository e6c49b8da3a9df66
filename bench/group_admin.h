// What the broker says about a consumer group (DescribeGroups), for the group
// modes of fjord-load.
#pragma once

#include <cstddef>
#include <string>

#include "kafka.h"

namespace fjord::bench {

struct GroupDescription {
  std::string state;  // as the broker names it: "Stable", "PreparingRebalance", ...
  size_t members = 0;
};

// Asks the broker for the group's state and member count. `handle` is any
// client of the cluster.
//
// Uses rd_kafka_list_groups(), not the admin API's DescribeConsumerGroups: the
// latter aborts librdkafka 2.0.2 (enq_once refcnt assertion) when a broker does
// not support DescribeGroups, as librdkafka's mock cluster does not.
Result<GroupDescription> describe_group(rd_kafka_t* handle, const std::string& group_id,
                                        int timeout_ms);

}  // namespace fjord::bench
