// fjord-load commit: offset commits per second of one group member. The member
// joins a fresh group, then commits explicit offsets for the first
// --commit-partitions partitions in a loop for --duration-s: synchronously
// (rd_kafka_commit, async=0: one commit at a time, each waits for its fsync on
// the broker) or, with --in-flight K, asynchronously with at most K commits
// outstanding (the broker can sync many at once: group commit).
#include <fmt/core.h>

#include "clock.h"
#include "group_member.h"
#include "histogram.h"
#include "modes.h"
#include "settings.h"

namespace fjord::bench {
namespace {

constexpr int kMetadataTimeoutMs = 10000;
constexpr int kJoinPollTimeoutMs = 100;
constexpr int64_t kServeGroupEveryNs = 100'000'000;  // rebalance callbacks, if any
constexpr int kCompletionPollTimeoutMs = 100;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

struct CommitCounters {
  LatencyHistogram latency_ns;  // from the commit call to its result
  int64_t committed = 0;
  int64_t errors = 0;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t last_result_ns = 0;

  void count(rd_kafka_resp_err_t err, int64_t sent_ns, int64_t done_ns) {
    last_result_ns = done_ns;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      committed++;
      latency_ns.record(done_ns - sent_ns);
      return;
    }
    if (errors == 0) first_error = err;
    errors++;
  }
};

PartitionListPtr commit_list(const std::string& topic, int32_t partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(partitions));
  for (int32_t partition = 0; partition < partitions; ++partition) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  }
  return list;
}

// Each commit stores new offsets, as a consumer that made progress would.
void set_offsets(rd_kafka_topic_partition_list_t& list, int64_t offset) {
  for (int i = 0; i < list.cnt; ++i) list.elems[i].offset = offset;
}

void commit_synchronously(GroupMember& member, rd_kafka_topic_partition_list_t& offsets,
                          int64_t end_ns, CommitCounters& counters) {
  int64_t served_ns = now_ns();
  for (int64_t offset = 1; now_ns() < end_ns; ++offset) {
    set_offsets(offsets, offset);
    const int64_t sent_ns = now_ns();
    const rd_kafka_resp_err_t err = rd_kafka_commit(member.handle(), &offsets, 0);
    counters.count(err, sent_ns, now_ns());
    if (counters.last_result_ns - served_ns > kServeGroupEveryNs) {
      member.poll(0);
      served_ns = counters.last_result_ns;
    }
  }
}

// At most `in_flight` commits outstanding; each carries its slot as opaque, and
// the slot its send time. Returns when every commit sent has its result, or at
// drain_deadline_ns.
class AsyncCommitter {
 public:
  AsyncCommitter(GroupMember& member, int32_t in_flight)
      : member_(member),
        results_(rd_kafka_queue_new(member.handle())),
        sent_ns_(static_cast<size_t>(in_flight)),
        slot_ids_(static_cast<size_t>(in_flight)) {
    for (size_t slot = 0; slot < slot_ids_.size(); ++slot) {
      slot_ids_[slot] = slot;
      free_slots_.push_back(slot);
    }
  }

  void run(rd_kafka_topic_partition_list_t& offsets, int64_t end_ns, int64_t drain_deadline_ns,
           CommitCounters& counters) {
    int64_t served_ns = now_ns();
    for (int64_t offset = 1; now_ns() < end_ns; ++offset) {
      while (free_slots_.empty() && now_ns() < drain_deadline_ns) {
        take_results(kCompletionPollTimeoutMs, counters);
      }
      if (free_slots_.empty()) return;  // no results for --timeout-s: the broker is stuck
      take_results(0, counters);
      set_offsets(offsets, offset);
      send(offsets, counters);
      if (now_ns() - served_ns > kServeGroupEveryNs) {
        member_.poll(0);
        served_ns = now_ns();
      }
    }
    while (free_slots_.size() < slot_ids_.size() && now_ns() < drain_deadline_ns) {
      take_results(kCompletionPollTimeoutMs, counters);
    }
  }

  size_t outstanding() const { return slot_ids_.size() - free_slots_.size(); }

 private:
  void send(rd_kafka_topic_partition_list_t& offsets, CommitCounters& counters) {
    const size_t slot = free_slots_.back();
    free_slots_.pop_back();
    sent_ns_[slot] = now_ns();
    const rd_kafka_resp_err_t err = rd_kafka_commit_queue(
        member_.handle(), &offsets, results_.get(), nullptr, &slot_ids_[slot]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      counters.count(err, sent_ns_[slot], now_ns());
      free_slots_.push_back(slot);
    }
  }

  // Waits up to timeout_ms for one result, then takes every one already there.
  void take_results(int timeout_ms, CommitCounters& counters) {
    for (int wait_ms = timeout_ms;; wait_ms = 0) {
      rd_kafka_event_t* event = rd_kafka_queue_poll(results_.get(), wait_ms);
      if (event == nullptr) return;
      const int64_t done_ns = now_ns();
      if (rd_kafka_event_type(event) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
        const size_t slot = *static_cast<const size_t*>(rd_kafka_event_opaque(event));
        counters.count(rd_kafka_event_error(event), sent_ns_[slot], done_ns);
        free_slots_.push_back(slot);
      }
      rd_kafka_event_destroy(event);
    }
  }

  GroupMember& member_;
  QueuePtr results_;
  std::vector<int64_t> sent_ns_;  // per slot
  std::vector<size_t> slot_ids_;  // stable storage for the opaque pointers
  std::vector<size_t> free_slots_;
};

Report make_report(const LoadOptions& options, const Settings& settings, const std::string& group,
                   double join_ms, int64_t start_ns, const CommitCounters& counters,
                   size_t outstanding) {
  Report report("commit");
  report.parameters = {
      {"topic", options.topic},
      {"group", group},
      {"partitions_per_commit", std::to_string(options.commit_partitions)},
      {"in_flight", options.commits_in_flight == 0 ? std::string("sync")
                                                   : std::to_string(options.commits_in_flight)},
      {"duration_s", fmt::format("{}", options.duration_s)}};
  report.consumer_settings = settings;
  const double elapsed_s = static_cast<double>(counters.last_result_ns - start_ns) / 1e9;
  const auto us = [](int64_t ns) { return static_cast<double>(ns) / 1e3; };
  const LatencyHistogram& latency = counters.latency_ns;
  report.add("commits_per_s", elapsed_s > 0 ? counters.committed / elapsed_s : 0);
  report.add("partition_offsets_per_s",
             elapsed_s > 0 ? counters.committed * options.commit_partitions / elapsed_s : 0);
  report.add("commits", static_cast<double>(counters.committed));
  report.add("elapsed_s", elapsed_s);
  report.add("commit_p50_us", us(latency.value_at_quantile(0.50)));
  report.add("commit_p90_us", us(latency.value_at_quantile(0.90)));
  report.add("commit_p99_us", us(latency.value_at_quantile(0.99)));
  report.add("commit_max_us", us(latency.max()));
  report.add("commit_mean_us", latency.mean() / 1e3);
  report.add("commit_errors", static_cast<double>(counters.errors));
  report.add("join_ms", join_ms);
  if (counters.errors > 0) {
    report.notes.push_back(fmt::format("{} failed commits, first: {}", counters.errors,
                                       rd_kafka_err2str(counters.first_error)));
  }
  if (outstanding > 0) {
    report.notes.push_back(fmt::format("{} commits had no result after --timeout-s {}", outstanding,
                                       options.timeout_s));
  }
  return report;
}

}  // namespace

Result<Report> run_commit(const LoadOptions& options) {
  if (options.commit_partitions < 1 || options.commits_in_flight < 0) {
    return Error{ErrorCode::kInvalidRequest,
                 "commit needs --commit-partitions >= 1 and --in-flight >= 0"};
  }
  const std::string group = fmt::format("fjord-load-commit-{:x}", new_run_id());
  const Settings settings = group_consumer_settings(options, group, Mode::kCommit);
  AssignmentBoard board(1, 0);
  auto opened = GroupMember::open(settings, board, 0);
  if (!opened.ok()) return opened.error();
  GroupMember& member = **opened;
  auto partitions =
      ensure_topic(member.handle(), options.topic,
                   std::max(options.partitions, options.commit_partitions), kMetadataTimeoutMs);
  if (!partitions.ok()) return partitions.error();
  if (*partitions < options.commit_partitions) {
    return Error{ErrorCode::kInvalidRequest,
                 fmt::format("{} has {} partitions, fewer than --commit-partitions {}",
                             options.topic, *partitions, options.commit_partitions)};
  }
  // A member of a stable group, so commits carry its generation as a real
  // consumer's do (the broker checks them).
  const int64_t join_start_ns = now_ns();
  const int64_t join_deadline_ns = join_start_ns + seconds_to_ns(options.timeout_s);
  if (Status subscribed = member.subscribe(options.topic); !subscribed.ok()) {
    return subscribed.error();
  }
  while (board.assignments() == 0 && now_ns() < join_deadline_ns) member.poll(kJoinPollTimeoutMs);
  if (board.assignments() == 0) {
    return Error{ErrorCode::kRequestTimedOut,
                 fmt::format("no assignment within --timeout-s {}", options.timeout_s)};
  }
  const double join_ms = static_cast<double>(now_ns() - join_start_ns) / 1e6;

  PartitionListPtr offsets = commit_list(options.topic, options.commit_partitions);
  CommitCounters counters;
  const int64_t start_ns = now_ns();
  const int64_t end_ns = start_ns + seconds_to_ns(options.duration_s);
  size_t outstanding = 0;
  if (options.commits_in_flight == 0) {
    commit_synchronously(member, *offsets, end_ns, counters);
  } else {
    AsyncCommitter committer(member, options.commits_in_flight);
    committer.run(*offsets, end_ns, end_ns + seconds_to_ns(options.timeout_s), counters);
    outstanding = committer.outstanding();
  }
  return make_report(options, settings, group, join_ms, start_ns, counters, outstanding);
}

}  // namespace fjord::bench
