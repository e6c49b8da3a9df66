// Start-up replay of a coordinator's internal partition (__consumer_offsets,
// __transaction_state): the whole log, read in bounded chunks of whole batches.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "common/result.h"
#include "storage/partition_log.h"

namespace fjord::broker {

// Calls `apply` with consecutive chunks of whole record batches, from the log
// start to its end, each at most kReplayChunkBytes unless one batch is larger.
// `what` names the partition in errors. Owner shard only.
Status replay_log(const storage::PartitionLog& log, std::string_view what,
                  const std::function<Status(std::span<const uint8_t>)>& apply);

}  // namespace fjord::broker
