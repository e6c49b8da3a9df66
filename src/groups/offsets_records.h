// The records of the internal topic __consumer_offsets, as Kafka writes them:
// committed offsets (key: group, topic, partition) and group metadata (key: group),
// each a record whose key and value start with a big-endian int16 version and
// whose value is null for a tombstone. docs/consumer-offsets-format.md describes
// the bytes; the schemas are in the generated protocol::internal structs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace fjord::groups {

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;  // -1: unknown
  std::string metadata;
  int64_t commit_timestamp_ms = 0;
  int64_t expire_timestamp_ms = -1;  // -1: expires by offsets.retention.minutes
  bool operator==(const CommittedOffset&) const = default;
};

struct OffsetKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  bool operator==(const OffsetKey&) const = default;
};

struct MemberRecord {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::vector<uint8_t> subscription;  // the chosen protocol's metadata, opaque
  std::vector<uint8_t> assignment;    // opaque
  bool operator==(const MemberRecord&) const = default;
};

struct GroupRecord {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t current_state_timestamp_ms = -1;
  std::vector<MemberRecord> members;
  bool operator==(const GroupRecord&) const = default;
};

// value == nullopt: a tombstone (the offset was deleted or expired).
struct OffsetRecord {
  OffsetKey key;
  std::optional<CommittedOffset> value;
  bool operator==(const OffsetRecord&) const = default;
};

// value == nullopt: a tombstone (the group was deleted).
struct GroupMetadataRecord {
  std::string group;
  std::optional<GroupRecord> value;
  bool operator==(const GroupMetadataRecord&) const = default;
};

using OffsetsTopicRecord = std::variant<OffsetRecord, GroupMetadataRecord>;

struct EncodedRecord {
  std::vector<uint8_t> key;
  std::optional<std::vector<uint8_t>> value;  // nullopt: tombstone
};

// The keys' versions are not flexible: a group id or topic name longer than
// this cannot be written. The coordinator rejects such group ids (topic names
// are at most 249 bytes); encode() aborts on them.
inline constexpr size_t kMaxKeyStringBytes = 32767;

// Key and value bytes as Kafka writes them. Offsets: key version 1, value
// version 3, or version 1 when expire_timestamp_ms is set (only v1 has it, and
// v1 has no leader epoch). Groups: key version 2, value version 3. A value with
// a string that the non-flexible version cannot hold (over 32767 bytes, e.g.
// metadata or a member's group instance id from a flexible request) is written
// at the flexible version 4 instead, which Kafka 3.5+ reads as well (an offset's
// expire timestamp is then dropped: v4 has none).
EncodedRecord encode(const OffsetsTopicRecord& record);

// Decodes one record. nullopt (not an error) for well-formed records of kinds
// Fjord does not use (key versions >= 3: KIP-848 and share-group records).
// kCorruptMessage, with what is wrong, for malformed bytes or a value version
// the key does not allow.
Result<std::optional<OffsetsTopicRecord>> decode(std::span<const uint8_t> key,
                                                 std::optional<std::span<const uint8_t>> value);

// The producer of a transactional offset commit (TxnOffsetCommit): its batch
// carries the producer's id and epoch and the transactional bit, so that the
// transaction's COMMIT/ABORT marker in the same partition closes it.
struct TxnProducer {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool operator==(const TxnProducer&) const = default;
};

// One uncompressed v2 record batch holding `records`, every record stamped
// `now_ms`, ready for storage::PartitionLog::append. With `txn`, the batch is
// transactional: the producer's id and epoch, baseSequence -1 (as Kafka's
// coordinator writes it: coordinator writes are not sequence-checked).
// kMessageTooLarge beyond `max_batch_bytes`; kInvalidGroupId
// (kInvalidTopicException) for a group id (topic name) over kMaxKeyStringBytes;
// kInvalidRecord for no records.
Result<std::vector<uint8_t>> build_batch(std::span<const OffsetsTopicRecord> records,
                                         int64_t now_ms, size_t max_batch_bytes,
                                         const std::optional<TxnProducer>& txn = std::nullopt);

// What a replay needs of each entry of the log, in log order.
struct OffsetsLogVisitor {
  // A record; `txn_producer_id` is the producer of a transactional batch, -1 otherwise.
  std::function<void(int64_t txn_producer_id, OffsetsTopicRecord&&)> on_record;
  // A COMMIT (commit = true) or ABORT marker of a producer's transaction.
  std::function<void(int64_t producer_id, bool commit)> on_txn_marker;
};

// Walks `batches` (whole v2 batches, concatenated, as read from the log,
// possibly compressed) in log order. Records of unused kinds and control
// records other than COMMIT/ABORT are skipped. The CRC of every batch is
// checked. kCorruptMessage on malformed input (including a COMMIT/ABORT record
// whose value is not a marker, and a partial batch at the end); the visitor
// has then been called for the entries before the fault.
Status for_each_entry(std::span<const uint8_t> batches, const OffsetsLogVisitor& visitor);

// Calls `fn` for each record of `batches`, transactional or not, ignoring
// transaction markers: the records as bytes, not the groups' state (see
// for_each_entry for that).
Status for_each_record(std::span<const uint8_t> batches,
                       const std::function<void(OffsetsTopicRecord&&)>& fn);

// The __consumer_offsets partition that holds `group`, as Kafka computes it:
// Utils.abs(groupId.hashCode()) % partitions, where Utils.abs maps
// Integer.MIN_VALUE to 0 (note: not `& 0x7fffffff`, which differs for negative
// hashes). The hash is java.lang.String.hashCode over UTF-16 code units, so the
// UTF-8 group id is decoded first; a group id that is not valid UTF-8 is hashed
// byte by byte as Latin-1 (Java would hash U+FFFD replacements instead).
// `partitions` > 0.
int32_t offsets_partition_for(std::string_view group, int32_t partitions);

}  // namespace fjord::groups
