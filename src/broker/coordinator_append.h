// The write path of a coordinator's internal partition (__consumer_offsets,
// __transaction_state), shared by the group and transaction coordinators.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "broker/partition_manager.h"
#include "common/error_code.h"
#include "storage/partition_log.h"

namespace fjord::broker {

// Appends `batch` to `topic`-`partition_index` and calls `done` once it is
// durable: every coordinator write waits for its fsync, so an answer once given
// survives kill -9. kNotCoordinator if the partition is not open here. Owner shard only.
void append_durably(PartitionManager& partitions, std::string_view topic, int32_t partition_index,
                    std::vector<uint8_t> batch, storage::AppendOrigin origin,
                    std::function<void(ErrorCode)> done);

}  // namespace fjord::broker
