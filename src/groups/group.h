// Group: one consumer group under Kafka's classic rebalance protocol, as a state
// machine. Members join (JoinGroup), the leader's assignment is handed out
// (SyncGroup), members stay alive by heartbeats, and leave or expire; offsets are
// committed per partition. A group knows nothing of sockets, threads or the log:
// time comes in as `now_ms`, replies go out through callbacks, and records to
// persist go to a WriteFn whose completion says whether they are durable.
//
// States: Empty -> PreparingRebalance (members (re)join) -> CompletingRebalance
// (waiting for the leader's assignment) -> Stable; any membership change in
// CompletingRebalance or Stable starts a new rebalance; Dead once deleted.
// All calls for one group come from one thread (the shard owning its partition).
//
// Transactional offset commits (TxnOffsetCommit, KIP-98) are pending per producer
// until the producer's COMMIT or ABORT marker is written to the group's partition;
// then they become committed offsets or are dropped (complete_transaction).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error_code.h"
#include "groups/offsets_records.h"

namespace fjord::groups {

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };
std::string_view state_name(GroupState state);
// Case-insensitive, as ListGroups' StatesFilter is.
std::optional<GroupState> parse_state(std::string_view name);

// Broker settings that shape groups (Kafka's names in comments).
struct GroupLimits {
  int32_t min_session_timeout_ms = 6000;                  // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;               // group.max.session.timeout.ms
  int32_t max_size = 2147483647;                          // group.max.size
  int32_t initial_rebalance_delay_ms = 3000;              // group.initial.rebalance.delay.ms
  int32_t max_metadata_bytes = 4096;                      // offset.metadata.max.bytes
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;  // offsets.retention.minutes
  // A member that joined but never completed a rebalance is dropped after this
  // (it may have gone away while its JoinGroup waited).
  int32_t new_member_join_timeout_ms = 300000;
  // Transactional offsets waiting for their transaction's end, per group (one per
  // producer and partition). Kafka has no limit; the transaction timeout bounds
  // how long they wait, this bounds how many.
  int32_t max_pending_txn_offsets = 100000;
};

struct Protocol {
  std::string name;
  std::vector<uint8_t> metadata;
};

struct JoinRequest {
  std::string member_id;  // empty: a new member
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<Protocol> protocols;
  bool require_known_member_id = false;   // JoinGroup v4+: MEMBER_ID_REQUIRED first
  bool supports_skip_assignment = false;  // JoinGroup v9+
};

struct JoinedMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<uint8_t> metadata;
};

struct JoinResult {
  ErrorCode error = ErrorCode::kNone;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  bool skip_assignment = false;
  std::string member_id;
  std::vector<JoinedMember> members;  // the leader's only
};

struct SyncRequest {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;                               // v5+
  std::optional<std::string> protocol_name;                               // v5+
  std::vector<std::pair<std::string, std::vector<uint8_t>>> assignments;  // leader's
};

struct SyncResult {
  ErrorCode error = ErrorCode::kNone;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<uint8_t> assignment;
};

// Replies that carry only an error (and, for a join, the member id it concerns).
JoinResult join_failure(ErrorCode error, std::string member_id = {});
SyncResult sync_failure(ErrorCode error);

struct HeartbeatRequest {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int32_t generation = -1;
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

struct CommitRequest {
  int32_t generation = -1;  // -1: a commit from outside group management
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::pair<TopicPartition, CommittedOffset>> offsets;
};

// TxnOffsetCommit: offsets of the producer's transaction. v3+ (KIP-447) carry
// the consumer's generation and member id, checked when given.
struct TxnCommitRequest {
  TxnProducer producer;
  int32_t generation = -1;  // -1: not checked
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::pair<TopicPartition, CommittedOffset>> offsets;
};

// A committed offset and where its record is in the group's partition, relative
// to the group's other records (the order of writes; replay counts the same way).
struct StoredOffset {
  CommittedOffset value;
  uint64_t position = 0;
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::vector<uint8_t> metadata;    // only when Stable
  std::vector<uint8_t> assignment;  // only when Stable
};

struct GroupDescription {
  GroupState state = GroupState::kDead;
  std::string protocol_type;
  std::string protocol;  // only when Stable
  std::vector<MemberDescription> members;
};

using JoinCallback = std::function<void(JoinResult)>;
using SyncCallback = std::function<void(SyncResult)>;
using DoneCallback = std::function<void(ErrorCode)>;
// Persists records to the group's __consumer_offsets partition as one batch,
// transactional when `txn` is set; calls back once they are durable (kNone) or
// failed. Batches reach the log in the order of the calls.
using WriteFn = std::function<void(std::vector<OffsetsTopicRecord>,
                                   const std::optional<TxnProducer>& txn, DoneCallback)>;
// Told the producer id whenever a group starts holding offsets of a producer's
// transaction (so that the registry can find the group when the marker comes).
using TxnObserver = std::function<void(int64_t producer_id)>;

class Group : public std::enable_shared_from_this<Group> {
 public:
  Group(std::string id, const GroupLimits& limits, WriteFn write, int64_t now_ms);
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const std::string& id() const { return id_; }
  GroupState state() const { return state_; }
  int32_t generation() const { return generation_; }
  const std::optional<std::string>& protocol_type() const { return protocol_type_; }
  size_t member_count() const { return members_.size(); }
  // Committed offsets, or transactional ones still pending (as Kafka's hasOffsets).
  bool has_offsets() const { return !offsets_.empty() || has_pending_txn_offsets(); }
  // Never used: created by a request that failed, holding nothing.
  bool is_unused() const {
    return state_ == GroupState::kEmpty && generation_ == 0 && members_.empty() &&
           pending_members_.empty() && offsets_.empty() && pending_commits_.empty() &&
           !has_pending_txn_offsets();
  }

  // The classic protocol. Replies may come later (join waits for the others).
  void join(const JoinRequest& request, int64_t now_ms, JoinCallback done);
  void sync(const SyncRequest& request, int64_t now_ms, SyncCallback done);
  ErrorCode heartbeat(const HeartbeatRequest& request, int64_t now_ms);
  // One member of a LeaveGroup; an empty member_id names a static member by instance id.
  ErrorCode leave(const std::string& member_id, const std::optional<std::string>& group_instance_id,
                  int64_t now_ms);
  // Timeouts: sessions, rebalances, syncs, the initial rebalance delay.
  void tick(int64_t now_ms);

  // Offsets. `done` gets one error for the whole request (generation checks,
  // or a failed write); the caller checks topics and metadata sizes first.
  void commit(const CommitRequest& request, int64_t now_ms, DoneCallback done);
  std::optional<CommittedOffset> committed(const TopicPartition& partition) const;
  const std::map<TopicPartition, StoredOffset>& offsets() const { return offsets_; }

  // Transactional offsets (TxnOffsetCommit). The group need not be managed (a
  // standalone producer commits with generation -1). `done` as for commit();
  // kInvalidCommitOffsetSize beyond limits.max_pending_txn_offsets.
  void txn_commit(const TxnCommitRequest& request, DoneCallback done);
  // The producer's marker is durable: COMMIT makes its pending offsets the
  // committed ones, except where a record written later in the log (a plain
  // commit) already replaced them; ABORT drops them.
  void complete_transaction(int64_t producer_id, bool commit);
  bool has_pending_txn_offsets() const { return !pending_txn_offsets_.empty(); }
  bool has_pending_txn_offsets_of(int64_t producer_id) const {
    return pending_txn_offsets_.contains(producer_id);
  }
  // OffsetFetch's require_stable: true while a transaction holds an offset of `partition`.
  bool has_pending_txn_offset(const TopicPartition& partition) const;
  void set_txn_observer(TxnObserver observer) { txn_observer_ = std::move(observer); }
  // OffsetDelete: per partition kNone or kGroupSubscribedToTopic; writes tombstones
  // for the others and calls `done` once they are durable, with the write's
  // outcome and the per-partition errors.
  void delete_offsets(const std::vector<TopicPartition>& partitions,
                      std::function<void(ErrorCode, std::vector<ErrorCode>)> done);
  // Retention (KIP-211): tombstones expired offsets; an Empty group left without
  // offsets dies. Returns true if the group is now Dead.
  bool expire_offsets(int64_t now_ms);

  // DeleteGroups: kGroupIdNotFound (Dead), kNonEmptyGroup (has members), else
  // marks the group Dead and writes tombstones for it and its offsets.
  ErrorCode remove(DoneCallback done);

  GroupDescription describe() const;
  // Topics every member of a "consumer" group subscribes to; nullopt if unknown.
  std::optional<std::set<std::string>> subscribed_topics() const;

  // The node stops coordinating: requests still waiting (JoinGroup, SyncGroup)
  // are answered NOT_COORDINATOR so that clients look for the coordinator again.
  void unload();

  // Rebuilding from __consumer_offsets on start-up.
  void restore(const GroupRecord& record, int64_t now_ms);
  // A plain offset record (a tombstone also drops transactional offsets of its key).
  void restore_offset(const TopicPartition& partition, std::optional<CommittedOffset> value);
  // An offset record of a producer's transactional batch, pending until its marker.
  void restore_txn_offset(int64_t producer_id, const TopicPartition& partition,
                          const CommittedOffset& value);
  void mark_dead() { state_ = GroupState::kDead; }

 private:
  struct Member {
    std::string id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<Protocol> protocols;
    std::vector<uint8_t> assignment;
    JoinCallback awaiting_join;
    SyncCallback awaiting_sync;
    bool is_new = false;
    bool supports_skip_assignment = false;
    int64_t session_deadline_ms = 0;
  };

  bool supports_protocols(const std::string& protocol_type,
                          const std::vector<Protocol>& protocols) const;
  void join_new_member(const JoinRequest& request, int64_t now_ms, JoinCallback done);
  void join_known_member(const JoinRequest& request, int64_t now_ms, JoinCallback done);
  void add_member_and_rebalance(std::string member_id, const JoinRequest& request, int64_t now_ms,
                                JoinCallback done);
  void replace_static_member(std::string old_id, std::string new_id, const JoinRequest& request,
                             int64_t now_ms, JoinCallback done);
  void revert_static_member(const std::string& new_id, const std::string& old_id,
                            const std::string& instance_id);
  void update_member_and_rebalance(Member& member, const JoinRequest& request, int64_t now_ms,
                                   JoinCallback done);
  JoinResult join_result_for(const Member& member, bool include_members) const;
  void maybe_prepare_rebalance(int64_t now_ms);
  void prepare_rebalance(int64_t now_ms);
  void maybe_complete_join(int64_t now_ms);
  void complete_join(int64_t now_ms);
  bool elect_joined_leader();
  std::string select_protocol() const;
  const std::vector<uint8_t>* metadata_for(const Member& member, const std::string& protocol) const;
  void complete_sync_as_leader(const SyncRequest& request, int64_t now_ms);
  void remove_member(const std::string& member_id, int64_t now_ms, bool update_state = true);
  void remove_expired_members(int64_t now_ms);
  void remove_unsynced_members(int64_t now_ms);
  void transition_to(GroupState state, int64_t now_ms);
  void reset_assignments_and_fail_syncs(ErrorCode error);
  GroupRecord to_record() const;
  void store_group(DoneCallback done);
  ErrorCode validate_member(const std::string& member_id,
                            const std::optional<std::string>& group_instance_id) const;
  int32_t max_rebalance_timeout_ms() const;
  void write(std::vector<OffsetsTopicRecord> records, DoneCallback done,
             const std::optional<TxnProducer>& txn = std::nullopt);
  // Orders the offsets a group holds as the log does: a commit takes the next
  // position when it is written (writes reach the log in call order), a replayed
  // record when it is read.
  uint64_t next_position() { return next_position_++; }
  ErrorCode validate_txn_commit(const TxnCommitRequest& request) const;
  void add_pending_txn_offset(int64_t producer_id, const TopicPartition& partition,
                              const CommittedOffset& value, uint64_t position);
  void drop_pending_txn_offsets_of(const TopicPartition& partition);
  void fail_txn_write(int64_t producer_id, const std::vector<TopicPartition>& partitions,
                      uint64_t position);
  void store_offset(const TopicPartition& partition, const CommittedOffset& value,
                    uint64_t position);
  std::string new_member_id(const JoinRequest& request);

  std::string id_;
  const GroupLimits& limits_;
  WriteFn write_;
  GroupState state_ = GroupState::kEmpty;
  int64_t state_timestamp_ms_ = -1;
  int32_t generation_ = 0;
  std::optional<std::string> protocol_type_;
  std::optional<std::string> protocol_name_;
  std::optional<std::string> leader_;
  std::map<std::string, Member> members_;
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  std::map<std::string, int64_t> pending_members_;     // MEMBER_ID_REQUIRED: id -> deadline
  std::set<std::string> pending_sync_;                 // joined but not yet synced
  int64_t join_deadline_ms_ = 0;
  int64_t sync_deadline_ms_ = 0;
  bool initial_delay_active_ = false;
  bool new_member_added_ = false;
  int64_t initial_delay_remaining_ms_ = 0;
  uint64_t next_member_number_ = 0;
  std::map<TopicPartition, StoredOffset> offsets_;
  std::map<TopicPartition, int> pending_commits_;  // writes in flight; never expired
  // Producer id -> its transaction's offsets (written, or being written).
  std::map<int64_t, std::map<TopicPartition, StoredOffset>> pending_txn_offsets_;
  size_t pending_txn_offset_count_ = 0;
  TxnObserver txn_observer_;
  uint64_t next_position_ = 0;
};

}  // namespace fjord::groups
