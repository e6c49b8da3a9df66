// The consumers of one benchmark group: GroupMember is one librdkafka group
// consumer (its own handle, as in N separate applications); AssignmentBoard is
// where every member's rebalance callback writes the partitions it now owns, so
// that one thread can wait for the whole group to be assigned.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kafka.h"

namespace fjord::bench {

// Thread-safe: rebalance callbacks of many members' threads write, one waits.
class AssignmentBoard {
 public:
  AssignmentBoard(int32_t members, int32_t partitions);

  // From member `index`'s rebalance callback: it now owns `partitions` (eager
  // protocol: the whole set) or gained/lost them (cooperative: a delta).
  void assigned(int32_t index, const rd_kafka_topic_partition_list_t& partitions, bool incremental);
  void revoked(int32_t index, const rd_kafka_topic_partition_list_t& partitions, bool incremental);

  // Waits until every member's last callback was an assignment and every
  // partition has exactly one owner, or until deadline_ns (steady clock).
  // Returns whether the group got there.
  bool wait_until_settled(int64_t deadline_ns);
  bool settled() const;

  int64_t first_assignment_ns() const;  // 0 before the first assignment
  int64_t last_assignment_ns() const;
  int64_t assignments() const;  // callbacks, over all members
  int64_t revocations() const;

 private:
  struct MemberState {
    std::vector<int32_t> partitions;  // sorted
    bool assigned = false;            // the last callback was an assignment
  };
  bool settled_locked() const;

  const int32_t partitions_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<MemberState> members_;
  int64_t first_assignment_ns_ = 0;
  int64_t last_assignment_ns_ = 0;
  int64_t assignments_ = 0;
  int64_t revocations_ = 0;
};

class GroupMember {
 public:
  // Creates the handle; nothing is sent until subscribe(). `board` must outlive it.
  static Result<std::unique_ptr<GroupMember>> open(const Settings& settings, AssignmentBoard& board,
                                                   int32_t index);
  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;
  // Leaves the group (rd_kafka_consumer_close) unless close() did already.
  ~GroupMember();

  Status subscribe(const std::string& topic);
  // Serves callbacks for up to timeout_ms; messages are dropped (the benchmark
  // measures the group, not the data).
  void poll(int timeout_ms);
  // Leaves the group; serves the last rebalance callback. Idempotent.
  void close();

  rd_kafka_t* handle() const { return handle_.get(); }

 private:
  GroupMember(AssignmentBoard& board, int32_t index) : board_(board), index_(index) {}
  static void on_rebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque);

  AssignmentBoard& board_;
  const int32_t index_;
  bool closed_ = false;
  KafkaPtr handle_;
};

}  // namespace fjord::bench
