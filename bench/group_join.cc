// fjord-load group-join: how long a fresh group of N consumers takes to become
// stable. N librdkafka consumers (one handle each, like N applications) in one
// process subscribe to one topic at the same moment; a round ends when every
// member has its assignment (rebalance callback, each partition owned once) and
// the broker describes the group as Stable with N members.
#include <fmt/core.h>

#include <atomic>
#include <thread>

#include "clock.h"
#include "group_admin.h"
#include "group_member.h"
#include "modes.h"
#include "round_summary.h"
#include "settings.h"

namespace fjord::bench {
namespace {

constexpr int kMetadataTimeoutMs = 10000;
constexpr int kPollTimeoutMs = 100;
constexpr int kDescribeTimeoutMs = 5000;
constexpr auto kDescribeRetryInterval = std::chrono::milliseconds(1);

struct RoundResult {
  bool settled = false;            // every member assigned, each partition once
  double first_assignment_ms = 0;  // from the first subscribe
  double all_assigned_ms = 0;      // the last member's last assignment callback
  double stable_ms = -1;           // the broker said Stable with every member; < 0: never
  int64_t assignments = 0;         // rebalance callbacks over all members
  int64_t revocations = 0;
  std::string problem;
};

// One polling thread per member, as each application would have; on stop each
// member leaves the group from its own thread, so the members close in parallel.
class MemberPollers {
 public:
  explicit MemberPollers(const std::vector<std::unique_ptr<GroupMember>>& members) {
    threads_.reserve(members.size());
    for (const auto& member : members) {
      threads_.emplace_back([this, &member] {
        while (!stop_.load()) member->poll(kPollTimeoutMs);
        member->close();
      });
    }
  }
  ~MemberPollers() {
    stop_.store(true);
    for (std::thread& thread : threads_) thread.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

double ms_since(int64_t start_ns, int64_t at_ns) {
  return static_cast<double>(at_ns - start_ns) / 1e6;
}

// Asks the broker until it says Stable with `members` members; returns when it
// did (steady ns), 0 when it did not before the deadline.
int64_t wait_for_stable(rd_kafka_t* admin, const std::string& group_id, size_t members,
                        int64_t deadline_ns, std::string& problem) {
  while (now_ns() < deadline_ns) {
    auto description = describe_group(admin, group_id, kDescribeTimeoutMs);
    const int64_t replied_ns = now_ns();
    if (!description.ok()) {
      problem = description.error().message;
      return 0;
    }
    if (description->state == "Stable" && description->members == members) return replied_ns;
    problem =
        fmt::format("the broker said {} with {} members", description->state, description->members);
    std::this_thread::sleep_for(kDescribeRetryInterval);
  }
  return 0;
}

Result<RoundResult> run_round(const LoadOptions& options, rd_kafka_t* admin,
                              const std::string& group_id, int32_t partitions) {
  AssignmentBoard board(options.members, partitions);
  const Settings settings = group_consumer_settings(options, group_id, Mode::kGroupJoin);
  std::vector<std::unique_ptr<GroupMember>> members;
  for (int32_t index = 0; index < options.members; ++index) {
    auto member = GroupMember::open(settings, board, index);
    if (!member.ok()) return member.error();
    // Connected (ApiVersions, Metadata) before the clock starts: the round
    // measures the group protocol, not connection set-up.
    auto connected = partition_count((*member)->handle(), options.topic, kMetadataTimeoutMs);
    if (!connected.ok()) return connected.error();
    members.push_back(std::move(member).value());
  }
  RoundResult result;
  {
    MemberPollers pollers(members);
    const int64_t start_ns = now_ns();
    const int64_t deadline_ns = start_ns + seconds_to_ns(options.timeout_s);
    for (const auto& member : members) {
      if (Status subscribed = member->subscribe(options.topic); !subscribed.ok()) {
        return subscribed.error();
      }
    }
    result.settled = board.wait_until_settled(deadline_ns);
    if (result.settled) {
      result.first_assignment_ms = ms_since(start_ns, board.first_assignment_ns());
      result.all_assigned_ms = ms_since(start_ns, board.last_assignment_ns());
      const int64_t stable_ns =
          wait_for_stable(admin, group_id, members.size(), deadline_ns, result.problem);
      if (stable_ns > 0) {
        result.stable_ms = ms_since(start_ns, stable_ns);
        result.problem.clear();
      }
    } else {
      result.problem =
          fmt::format("not every member was assigned within --timeout-s {}", options.timeout_s);
    }
    result.assignments = board.assignments();
    result.revocations = board.revocations();
  }  // the members leave the group here
  return result;
}

void add_summary(Report& report, const std::string& name, const std::vector<double>& values) {
  const RoundSummary summary = summarize_rounds(values);
  report.add(name + "_median", summary.median);
  report.add(name + "_min", summary.min);
  report.add(name + "_max", summary.max);
}

Report make_report(const LoadOptions& options, int32_t partitions,
                   const std::vector<RoundResult>& rounds) {
  Report report("group-join");
  report.parameters = {{"topic", options.topic},
                       {"partitions", std::to_string(partitions)},
                       {"members", std::to_string(options.members)},
                       {"rounds", std::to_string(options.rounds)}};
  report.consumer_settings =
      group_consumer_settings(options, "<fresh per round>", Mode::kGroupJoin);
  std::vector<double> assigned_ms, stable_ms, first_ms;
  double assignments = 0;
  double revocations = 0;
  for (size_t i = 0; i < rounds.size(); ++i) {
    const RoundResult& round = rounds[i];
    if (round.settled) {
      assigned_ms.push_back(round.all_assigned_ms);
      first_ms.push_back(round.first_assignment_ms);
    }
    if (round.stable_ms >= 0) stable_ms.push_back(round.stable_ms);
    assignments += static_cast<double>(round.assignments);
    revocations += static_cast<double>(round.revocations);
    if (!round.problem.empty()) {
      report.notes.push_back(fmt::format("round {}: {}", i + 1, round.problem));
    }
  }
  report.add("rounds_assigned", static_cast<double>(assigned_ms.size()));
  report.add("rounds_stable", static_cast<double>(stable_ms.size()));
  add_summary(report, "stable_ms", stable_ms);
  add_summary(report, "all_assigned_ms", assigned_ms);
  add_summary(report, "first_assignment_ms", first_ms);
  const double member_rounds = static_cast<double>(options.members) * rounds.size();
  report.add("assignments_per_member", member_rounds > 0 ? assignments / member_rounds : 0);
  report.add("revocations_per_member", member_rounds > 0 ? revocations / member_rounds : 0);
  for (size_t i = 0; i < rounds.size(); ++i) {
    report.add(fmt::format("round{}_stable_ms", i + 1), rounds[i].stable_ms);
  }
  return report;
}

}  // namespace

Result<Report> run_group_join(const LoadOptions& options) {
  if (options.members < 1 || options.rounds < 1) {
    return Error{ErrorCode::kInvalidRequest, "group-join needs --members >= 1 and --rounds >= 1"};
  }
  Settings admin_settings = {{"bootstrap.servers", options.bootstrap},
                             {"client.id", "fjord-load-admin"}};
  admin_settings.insert(admin_settings.end(), options.overrides.begin(), options.overrides.end());
  auto admin = make_producer(admin_settings, {});
  if (!admin.ok()) return admin.error();
  auto partitions =
      ensure_topic(admin->get(), options.topic, options.partitions, kMetadataTimeoutMs);
  if (!partitions.ok()) return partitions.error();
  const uint64_t run_id = new_run_id();
  std::vector<RoundResult> rounds;
  for (int32_t round = 1; round <= options.rounds; ++round) {
    const std::string group_id = fmt::format("fjord-load-join-{:x}-{}", run_id, round);
    auto result = run_round(options, admin->get(), group_id, *partitions);
    if (!result.ok()) return result.error();
    rounds.push_back(std::move(result).value());
  }
  return make_report(options, *partitions, rounds);
}

}  // namespace fjord::bench
