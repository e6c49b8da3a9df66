// Raft entries as record batches v2 (docs/raft-storage.md): a kData entry is
// the batch it carries, with baseOffset = offset and partitionLeaderEpoch =
// term; kLeaderChange and kConfig entries are control batches of one KRaft
// control record (LeaderChangeMessage, VotersRecord), which Kafka consumers skip.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "raft/message.h"

namespace fjord::raft {

// Tag of the VotersRecord field that carries the learners (Kafka has none).
inline constexpr uint32_t kLearnersTag = 1000;

// Whether `entry` can be stored: a kData entry's data is one whole batch v2
// with a valid CRC whose record count and offset span equal entry.count;
// offsets and terms are non-negative and the term fits a leader epoch.
// Callers check entries from the network with it; LogStorage aborts on a bad one.
Status check_entry(const Entry& entry);

// Appends the stored batch of `entry` to `out`. Requires check_entry(entry).
void append_entry_batch(const Entry& entry, std::vector<uint8_t>& out);

// The entry stored as `batch` (one whole batch). For kData, data = the batch
// bytes. kCorruptMessage if the batch is not one this codec writes.
Result<Entry> decode_entry(std::span<const uint8_t> batch);

}  // namespace fjord::raft
