#include "raft/transport/snapshot_chunks.h"

#include <algorithm>
#include <memory>

namespace fjord::raft::transport {

std::vector<Message> split_snapshot(Message&& message, size_t chunk_bytes) {
  std::vector<Message> out;
  const size_t total = message.snapshot_data ? message.snapshot_data->size() : 0;
  if (message.type != MessageType::kSnapshot || total <= chunk_bytes || chunk_bytes == 0) {
    out.push_back(std::move(message));
    return out;
  }
  const std::shared_ptr<const Bytes> data = std::move(message.snapshot_data);
  for (size_t at = 0; at < total; at += chunk_bytes) {
    const size_t end = std::min(total, at + chunk_bytes);
    Message chunk = message;
    chunk.snapshot_data = std::make_shared<const Bytes>(
        data->begin() + static_cast<ptrdiff_t>(at), data->begin() + static_cast<ptrdiff_t>(end));
    chunk.snapshot_chunk_offset = static_cast<int64_t>(at);
    chunk.snapshot_total_bytes = static_cast<int64_t>(total);
    out.push_back(std::move(chunk));
  }
  return out;
}

std::optional<Message> SnapshotAssembler::add(Message&& message) {
  if (message.type != MessageType::kSnapshot || message.snapshot_total_bytes < 0) {
    return std::move(message);
  }
  const size_t total = static_cast<size_t>(message.snapshot_total_bytes);
  const size_t size = message.snapshot_data ? message.snapshot_data->size() : 0;
  auto it = partial_.find(message.group);
  const bool continues =
      it != partial_.end() && it->second.term == message.term &&
      it->second.meta == message.snapshot &&
      it->second.total_bytes == message.snapshot_total_bytes &&
      it->second.data.size() == static_cast<size_t>(message.snapshot_chunk_offset);
  if (!continues) {
    if (it != partial_.end()) {
      dropped_chunks_ += 1;  // the partial one lost a chunk
      partial_.erase(it);
    }
    if (message.snapshot_chunk_offset != 0 || total > max_snapshot_bytes_ ||
        partial_.size() >= max_in_progress_) {
      ++dropped_chunks_;
      return std::nullopt;
    }
    Partial fresh{.term = message.term,
                  .meta = message.snapshot,
                  .total_bytes = message.snapshot_total_bytes,
                  .data = {}};
    fresh.data.reserve(total);
    it = partial_.emplace(message.group, std::move(fresh)).first;
  }
  Partial& partial = it->second;
  if (size > 0) {
    partial.data.insert(partial.data.end(), message.snapshot_data->begin(),
                        message.snapshot_data->end());
  }
  if (partial.data.size() < total) return std::nullopt;
  message.snapshot_data = std::make_shared<const Bytes>(std::move(partial.data));
  message.snapshot_chunk_offset = 0;
  message.snapshot_total_bytes = -1;
  partial_.erase(it);
  return std::move(message);
}

}  // namespace fjord::raft::transport
