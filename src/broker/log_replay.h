// Start-up replay of a coordinator's internal partition (__consumer_offsets,
// __transaction_state): the whole log, read in bounded chunks of whole batches.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "broker/partition_manager.h"
#include "common/result.h"
#include "storage/partition_log.h"

namespace fjord::broker {

// Calls `apply` with consecutive chunks of whole record batches, from the log
// start to its end, each at most kReplayChunkBytes unless one batch is larger.
// `what` names the partition in errors. Owner shard only.
Status replay_log(const storage::PartitionLog& log, std::string_view what,
                  const std::function<Status(std::span<const uint8_t>)>& apply);

// Start-up load of a coordinator: replays partitions [0, partition_count) of
// `topic`, each on its owner shard, then calls `finish_shard` once on every
// shard. Blocks until all are done; a failed replay does not stop the others, so
// every partition that can be loaded is. The first failure's status.
Status replay_partitions(PartitionManager& partitions, std::string_view topic,
                         int32_t partition_count,
                         const std::function<Status(int32_t)>& replay_partition,
                         const std::function<void()>& finish_shard);

}  // namespace fjord::broker
