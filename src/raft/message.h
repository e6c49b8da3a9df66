// The types Raft groups exchange and store: entries, configurations, snapshots
// and messages. Plain values with no encoding: the transport between nodes
// encodes them (src/raft/transport), the simulation passes them as they are.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace fjord::raft {

using NodeId = int32_t;
using GroupId = int64_t;
using Term = int64_t;    // Kafka's leader epoch
using Offset = int64_t;  // Kafka's log offset
using Bytes = std::vector<uint8_t>;

inline constexpr NodeId kNoNode = -1;

enum class EntryType : uint8_t {
  kData = 0,
  // The leader's first entry of its term (KRaft's LeaderChange control batch):
  // committing it commits everything before it (Raft's no-op).
  kLeaderChange = 1,
  // A new configuration (KRaft's VotersRecord control batch); `config` holds it.
  kConfig = 2,
};

// Voters decide; learners receive the log but neither vote nor count for commit.
struct Config {
  std::vector<NodeId> voters;    // sorted, no duplicates
  std::vector<NodeId> learners;  // sorted, disjoint from voters
  bool operator==(const Config&) const = default;
};

enum class ConfigChangeType : uint8_t { kAddVoter, kRemoveVoter, kAddLearner, kRemoveLearner };

// kAddVoter of a current learner promotes it.
struct ConfigChange {
  ConfigChangeType type = ConfigChangeType::kAddVoter;
  NodeId node = kNoNode;
};

// One log entry: a record batch of `count` offsets [offset, offset + count).
struct Entry {
  Offset offset = 0;
  int32_t count = 1;
  Term term = 0;
  EntryType type = EntryType::kData;
  Config config;  // kConfig only
  // The payload, shared so that an entry sent to several followers and kept in
  // the log is not copied.
  std::shared_ptr<const Bytes> data;
  Offset end_offset() const { return offset + count; }
};

struct SnapshotMeta {
  Offset end_offset = 0;  // the snapshot covers every offset below this
  Term last_term = 0;     // term of the entry that ends at end_offset (0 if none)
  Config config;          // the configuration as of end_offset
  bool operator==(const SnapshotMeta&) const = default;
};

// Persisted before any message that depends on it is sent (Ready::must_sync).
struct HardState {
  Term term = 0;
  NodeId voted_for = kNoNode;
  bool operator==(const HardState&) const = default;
};

enum class MessageType : uint8_t {
  kPreVote,
  kPreVoteResponse,
  kVote,
  kVoteResponse,
  kAppend,  // with no entries it is a heartbeat
  kAppendResponse,
  kSnapshot,  // the leader's whole snapshot, sent when a follower is behind the log start
  kSnapshotResponse,
  kTimeoutNow,  // leadership transfer: start an election now
};

struct Message {
  MessageType type = MessageType::kAppend;
  GroupId group = 0;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;  // sender's term (a pre-vote carries the term it would campaign at)

  // kPreVote/kVote: the candidate's last log entry (end offset and its term).
  // kAppend: the entry before `entries` (prev_end_offset = its end, 0 at the start).
  Offset prev_end_offset = 0;
  Term prev_term = 0;
  std::vector<Entry> entries;
  Offset high_watermark = 0;  // kAppend: the leader's commit index
  uint64_t read_context = 0;  // kAppend/kAppendResponse: ReadIndex round (0: none)

  // Responses: granted vote, or accepted append/snapshot.
  bool success = false;
  // kAppendResponse: on success the follower's log matches the leader's below
  // match_end_offset. On rejection, the hint for the leader's next try (its
  // divergence search): the follower's log end and the term/first offset of
  // the conflicting entry, as in the Raft thesis 5.3 optimisation.
  Offset match_end_offset = 0;
  Term conflict_term = 0;
  Offset conflict_start_offset = 0;
  // kVote/kPreVote sent because of a TimeoutNow: a follower with a live leader
  // must not ignore it (check-quorum lease).
  bool leadership_transfer = false;

  // kSnapshot.
  SnapshotMeta snapshot;
  std::shared_ptr<const Bytes> snapshot_data;
  // The transport's own: a snapshot larger than a frame travels as chunks
  // (snapshot_data is then the part at snapshot_chunk_offset of a snapshot of
  // snapshot_total_bytes) and is put together again before Raft sees it.
  // Raft always sends and receives whole snapshots (total -1).
  int64_t snapshot_chunk_offset = 0;
  int64_t snapshot_total_bytes = -1;
};

}  // namespace fjord::raft
