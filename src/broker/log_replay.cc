#include "broker/log_replay.h"

#include <fmt/core.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <future>
#include <memory>
#include <vector>

#include "records/batch.h"

namespace fjord::broker {
namespace {

// Bounds the memory a replay holds at once.
constexpr size_t kReplayChunkBytes = 8 * 1024 * 1024;

// The offset after the last whole batch in `chunk`.
int64_t next_offset_after(std::span<const uint8_t> chunk, int64_t offset) {
  size_t at = 0;
  int64_t next = offset;
  while (at + records::kBatchHeaderSize <= chunk.size()) {
    const records::BatchHeader header = records::read_header(chunk.subspan(at));
    next = header.last_offset() + 1;
    at += header.size_bytes();
  }
  return next;
}

}  // namespace

Status replay_log(const storage::PartitionLog& log, std::string_view what,
                  const std::function<Status(std::span<const uint8_t>)>& apply) {
  int64_t offset = log.log_start_offset();
  std::vector<uint8_t> buffer;
  while (offset < log.log_end_offset()) {
    auto read = log.read(offset, kReplayChunkBytes, INT64_MAX);
    if (!read) return read.error();
    if (read->ranges.empty()) break;
    buffer.clear();
    for (const auto& range : read->ranges) {
      const size_t at = buffer.size();
      buffer.resize(at + range.length);
      const ssize_t got =
          ::pread(range.fd, buffer.data() + at, range.length, static_cast<off_t>(range.offset));
      if (got != static_cast<ssize_t>(range.length)) {
        return Error{ErrorCode::kKafkaStorageError, fmt::format("short read of {}", what)};
      }
    }
    if (Status applied = apply(buffer); !applied) return applied;
    const int64_t next = next_offset_after(buffer, offset);
    if (next <= offset) break;
    offset = next;
  }
  return {};
}

Status replay_partitions(PartitionManager& partitions, std::string_view topic,
                         int32_t partition_count,
                         const std::function<Status(int32_t)>& replay_partition,
                         const std::function<void()>& finish_shard) {
  std::vector<std::future<Status>> loads;
  for (int32_t p = 0; p < partition_count; ++p) {
    auto promise = std::make_shared<std::promise<Status>>();
    loads.push_back(promise->get_future());
    boost::asio::post(partitions.shards().executor(partitions.shard_of(topic, p)),
                      [&replay_partition, p, promise] { promise->set_value(replay_partition(p)); });
  }
  Status result;
  for (auto& load : loads) {
    Status status = load.get();
    if (!status && result) result = status;
  }
  for (unsigned shard = 0; shard < partitions.shards().count(); ++shard) {
    std::promise<void> done;
    boost::asio::post(partitions.shards().executor(shard), [&finish_shard, &done] {
      finish_shard();
      done.set_value();
    });
    done.get_future().wait();
  }
  return result;
}

}  // namespace fjord::broker
