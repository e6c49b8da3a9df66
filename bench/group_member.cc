#include "group_member.h"

#include <algorithm>
#include <cstring>

#include "clock.h"

namespace fjord::bench {
namespace {

std::vector<int32_t> partition_numbers(const rd_kafka_topic_partition_list_t& list) {
  std::vector<int32_t> numbers;
  numbers.reserve(static_cast<size_t>(list.cnt));
  for (int i = 0; i < list.cnt; ++i) numbers.push_back(list.elems[i].partition);
  return numbers;
}

void destroy_error(rd_kafka_error_t* error) {
  if (error != nullptr) rd_kafka_error_destroy(error);
}

}  // namespace

AssignmentBoard::AssignmentBoard(int32_t members, int32_t partitions)
    : partitions_(partitions), members_(static_cast<size_t>(members)) {}

void AssignmentBoard::assigned(int32_t index, const rd_kafka_topic_partition_list_t& partitions,
                               bool incremental) {
  const int64_t at_ns = now_ns();
  std::lock_guard lock(mutex_);
  MemberState& member = members_.at(static_cast<size_t>(index));
  if (!incremental) member.partitions.clear();
  for (int32_t partition : partition_numbers(partitions)) member.partitions.push_back(partition);
  std::sort(member.partitions.begin(), member.partitions.end());
  member.assigned = true;
  if (first_assignment_ns_ == 0) first_assignment_ns_ = at_ns;
  last_assignment_ns_ = at_ns;
  assignments_++;
  changed_.notify_all();
}

void AssignmentBoard::revoked(int32_t index, const rd_kafka_topic_partition_list_t& partitions,
                              bool incremental) {
  std::lock_guard lock(mutex_);
  MemberState& member = members_.at(static_cast<size_t>(index));
  if (incremental) {
    for (int32_t partition : partition_numbers(partitions)) {
      std::erase(member.partitions, partition);
    }
  } else {
    member.partitions.clear();
  }
  member.assigned = false;
  revocations_++;
  changed_.notify_all();
}

bool AssignmentBoard::settled_locked() const {
  std::vector<int32_t> owners(static_cast<size_t>(partitions_));
  for (const MemberState& member : members_) {
    if (!member.assigned) return false;
    for (int32_t partition : member.partitions) {
      if (partition < 0 || partition >= partitions_) return false;
      owners[static_cast<size_t>(partition)]++;
    }
  }
  return std::all_of(owners.begin(), owners.end(), [](int32_t count) { return count == 1; });
}

bool AssignmentBoard::settled() const {
  std::lock_guard lock(mutex_);
  return settled_locked();
}

bool AssignmentBoard::wait_until_settled(int64_t deadline_ns) {
  std::unique_lock lock(mutex_);
  while (!settled_locked()) {
    const int64_t left_ns = deadline_ns - now_ns();
    if (left_ns <= 0) return false;
    changed_.wait_for(lock, std::chrono::nanoseconds(left_ns));
  }
  return true;
}

int64_t AssignmentBoard::first_assignment_ns() const {
  std::lock_guard lock(mutex_);
  return first_assignment_ns_;
}

int64_t AssignmentBoard::last_assignment_ns() const {
  std::lock_guard lock(mutex_);
  return last_assignment_ns_;
}

int64_t AssignmentBoard::assignments() const {
  std::lock_guard lock(mutex_);
  return assignments_;
}

int64_t AssignmentBoard::revocations() const {
  std::lock_guard lock(mutex_);
  return revocations_;
}

Result<std::unique_ptr<GroupMember>> GroupMember::open(const Settings& settings,
                                                       AssignmentBoard& board, int32_t index) {
  std::unique_ptr<GroupMember> member(new GroupMember(board, index));
  auto handle = make_group_consumer(settings, &GroupMember::on_rebalance, member.get());
  if (!handle.ok()) return handle.error();
  member->handle_ = std::move(handle).value();
  return member;
}

GroupMember::~GroupMember() { close(); }

Status GroupMember::subscribe(const std::string& topic) {
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(handle_.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "subscribe " + topic);
  return {};
}

void GroupMember::poll(int timeout_ms) {
  rd_kafka_message_t* message = rd_kafka_consumer_poll(handle_.get(), timeout_ms);
  if (message != nullptr) rd_kafka_message_destroy(message);
}

void GroupMember::close() {
  if (closed_ || handle_ == nullptr) return;
  closed_ = true;
  rd_kafka_consumer_close(handle_.get());
}

void GroupMember::on_rebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* member = static_cast<GroupMember*>(opaque);
  // The assignor the group chose decides between the eager and the incremental calls.
  const bool incremental = std::strcmp(rd_kafka_rebalance_protocol(handle), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (incremental) {
      destroy_error(rd_kafka_incremental_assign(handle, partitions));
    } else {
      rd_kafka_assign(handle, partitions);
    }
    member->board_.assigned(member->index_, *partitions, incremental);
  } else {
    if (incremental) {
      destroy_error(rd_kafka_incremental_unassign(handle, partitions));
    } else {
      rd_kafka_assign(handle, nullptr);
    }
    member->board_.revoked(member->index_, *partitions, incremental);
  }
}

}  // namespace fjord::bench
