// Consumer-group admin requests over librdkafka (ListGroups, DescribeGroups,
// OffsetFetch, OffsetCommit, DeleteGroups) and ListOffsets lookups, returning
// the plain structs of group_types.h.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cli/group_report.h"
#include "cli/group_types.h"
#include "cli/kafka_client.h"
#include "common/result.h"

namespace fjord::cli {

// Kafka's state names, case-insensitive: Stable, Empty, PreparingRebalance,
// CompletingRebalance, Dead.
Result<rd_kafka_consumer_group_state_t> parse_group_state(std::string_view name);

// Every group, or those in one of `states` (the broker filters, ListGroups v4+);
// sorted by name.
Result<std::vector<GroupListing>> list_groups(
    KafkaClient& client, const std::vector<rd_kafka_consumer_group_state_t>& states);

struct GroupLookup {
  GroupDescription description;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string error_message;
};

// One lookup per name, in the order given. An unknown group is reported by
// the broker as state Dead without an error.
Result<std::vector<GroupLookup>> describe_groups(KafkaClient& client,
                                                 const std::vector<std::string>& names);

// Every committed offset of the group (OffsetFetch for all partitions).
Result<OffsetMap> committed_offsets(KafkaClient& client, const std::string& group);

struct ListedOffsets {
  OffsetMap offsets;
  std::map<TopicPartitionId, rd_kafka_resp_err_t> errors;  // e.g. the topic was deleted
};

// ListOffsets for `partitions`: `when` is a timestamp in ms, or
// RD_KAFKA_OFFSET_END / RD_KAFKA_OFFSET_BEGINNING for the log end / start. A
// partition without a message at or after a timestamp is in neither map.
Result<ListedOffsets> list_offsets(KafkaClient& client,
                                   const std::vector<TopicPartitionId>& partitions, int64_t when);

// Commits `offsets` for the group as an admin (generation -1, no member id);
// the broker refuses it while the group has members.
Status alter_committed_offsets(KafkaClient& client, const std::string& group,
                               const OffsetMap& offsets);

struct GroupDeletion {
  std::string group;
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// DeleteGroups; one result per name.
Result<std::vector<GroupDeletion>> delete_groups(KafkaClient& client,
                                                 const std::vector<std::string>& names);

}  // namespace fjord::cli
