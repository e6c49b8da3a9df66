#include "broker/coordinator_append.h"

#include <fmt/core.h>

#include <string>
#include <utility>

#include "broker/broker.h"

namespace fjord::broker {

void append_durably(PartitionManager& partitions, std::string_view topic, int32_t partition_index,
                    std::vector<uint8_t> batch, storage::AppendOrigin origin,
                    std::function<void(ErrorCode)> done) {
  Partition* partition = partitions.find(std::string(topic), partition_index);
  if (partition == nullptr) {
    done(ErrorCode::kNotCoordinator);
    return;
  }
  auto appended = partition->log->append(batch, wall_clock_ms(), origin);
  if (!appended) {
    fmt::print(stderr, "fjord: writing {}-{}: {}\n", topic, partition_index,
               appended.error().message);
    done(appended.error().code);
    return;
  }
  if (!partition->sync_every_write) {
    partition->high_watermark = partition->log->log_end_offset();
    partitions.publish_high_watermark(*partition);
  }
  partitions.when_durable(*partition, appended->last_offset, std::move(done));
}

}  // namespace fjord::broker
