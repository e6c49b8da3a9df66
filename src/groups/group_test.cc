// The classic rebalance protocol, driven with a fake clock and an in-memory log:
// each test checks Group against what Apache Kafka's classic GroupCoordinator
// does in the same situation.
#include "groups/group.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/outbound.h"
#include "protocol/generated/consumer_protocol_subscription.h"
#include "protocol/wire.h"

namespace fjord::groups {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr int32_t kSessionTimeoutMs = 10000;
constexpr int32_t kRebalanceTimeoutMs = 30000;
constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// Every write the group asks for; the test decides when and how each completes.
class FakeLog {
 public:
  struct Write {
    std::vector<OffsetsTopicRecord> records;
    DoneCallback done;
  };

  WriteFn writer() {
    return [this](std::vector<OffsetsTopicRecord> records, const std::optional<TxnProducer>&,
                  DoneCallback done) {
      writes_.push_back({std::move(records), std::move(done)});
      if (auto_complete_) complete(writes_.size() - 1, ErrorCode::kNone);
    };
  }
  // Writes from now on succeed as soon as they are made.
  void set_auto_complete(bool on) { auto_complete_ = on; }

  size_t write_count() const { return writes_.size(); }
  const std::vector<OffsetsTopicRecord>& records(size_t index) const {
    return writes_.at(index).records;
  }
  const std::vector<OffsetsTopicRecord>& last_records() const { return writes_.back().records; }
  size_t pending_count() const {
    return std::count_if(writes_.begin(), writes_.end(),
                         [](const Write& write) { return static_cast<bool>(write.done); });
  }
  void complete(size_t index, ErrorCode error) {
    // Moved out first: the completion may write again and grow `writes_`.
    DoneCallback done = std::exchange(writes_.at(index).done, nullptr);
    ASSERT_TRUE(done) << "write " << index << " completed twice";
    done(error);
  }
  void complete_last(ErrorCode error) { complete(writes_.size() - 1, error); }
  void complete_oldest(ErrorCode error) {
    for (size_t i = 0; i < writes_.size(); ++i) {
      if (writes_[i].done) return complete(i, error);
    }
  }
  // Completes every pending write, oldest first, including ones they cause.
  void complete_all(ErrorCode error = ErrorCode::kNone) {
    for (size_t i = 0; i < writes_.size(); ++i) {
      if (writes_[i].done) complete(i, error);
    }
  }

 private:
  std::vector<Write> writes_;
  bool auto_complete_ = false;
};

// The replies a callback received, shared with the callback so the test can
// look at them after the group has called it (or see that it has not).
template <typename T>
class Replies {
 public:
  std::function<void(T)> callback() const {
    return [received = received_](T reply) { received->push_back(std::move(reply)); };
  }
  size_t count() const { return received_->size(); }
  bool arrived() const { return !received_->empty(); }
  const T& last() const { return received_->back(); }

 private:
  std::shared_ptr<std::vector<T>> received_ = std::make_shared<std::vector<T>>();
};
using JoinReplies = Replies<JoinResult>;
using SyncReplies = Replies<SyncResult>;
using DoneReplies = Replies<ErrorCode>;

// A "consumer" protocol's metadata as a Java/librdkafka client sends it: an
// int16 version, then ConsumerProtocolSubscription at that version.
Bytes subscription(const std::vector<std::string>& topics, int16_t version = 1) {
  protocol::ConsumerProtocolSubscription value;
  value.topics = topics;
  if (version >= 1) value.owned_partitions.push_back({topics.front(), {0, 1}, {}});
  if (version >= 3) value.rack_id = "rack-a";
  OutboundMessage out;
  protocol::Writer writer(out);
  writer.write_int16(version);
  value.encode(writer, std::min<int16_t>(version, 3));
  return out.bytes;
}

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

JoinRequest new_member(const std::string& client_id,
                       std::vector<Protocol> protocols = {{"range", subscription({"orders"})}}) {
  JoinRequest request;
  request.client_id = client_id;
  request.client_host = "/127.0.0.1";
  request.session_timeout_ms = kSessionTimeoutMs;
  request.rebalance_timeout_ms = kRebalanceTimeoutMs;
  request.protocol_type = "consumer";
  request.protocols = std::move(protocols);
  return request;
}

JoinRequest static_member(const std::string& instance_id) {
  JoinRequest request = new_member("client-" + instance_id);
  request.group_instance_id = instance_id;
  return request;
}

JoinRequest rejoin(JoinRequest request, const std::string& member_id) {
  request.member_id = member_id;
  return request;
}

CommittedOffset offset_at(int64_t offset, int64_t commit_timestamp_ms,
                          int64_t expire_timestamp_ms = -1) {
  return CommittedOffset{offset, -1, "", commit_timestamp_ms, expire_timestamp_ms};
}

const GroupMetadataRecord& only_group_record(const std::vector<OffsetsTopicRecord>& records) {
  EXPECT_EQ(records.size(), 1u);
  const auto* record = std::get_if<GroupMetadataRecord>(&records.front());
  EXPECT_NE(record, nullptr);
  static const GroupMetadataRecord kMissing;
  return record ? *record : kMissing;
}

OffsetRecord tombstone(const std::string& topic, int32_t partition) {
  return OffsetRecord{{"my-group", topic, partition}, std::nullopt};
}

// One member as the test knows it: its request (to rejoin with) and its latest
// JoinGroup reply.
struct TestMember {
  JoinRequest request;
  JoinResult joined;
  const std::string& id() const { return joined.member_id; }
};

class GroupTest : public ::testing::Test {
 protected:
  // limits_ is read live by the group: tests may change it before or during a test.
  GroupLimits limits_;
  FakeLog log_;
  int64_t now_ms_ = kStartMs;
  std::shared_ptr<Group> group_;

  Group& group() {
    if (!group_) group_ = std::make_shared<Group>("my-group", limits_, log_.writer(), now_ms_);
    return *group_;
  }

  void advance(int64_t ms) {
    now_ms_ += ms;
    group().tick(now_ms_);
  }

  JoinReplies join(const JoinRequest& request) {
    JoinReplies replies;
    group().join(request, now_ms_, replies.callback());
    return replies;
  }

  SyncReplies sync(const std::string& member_id, int32_t generation,
                   std::vector<std::pair<std::string, Bytes>> assignments = {},
                   std::optional<std::string> group_instance_id = std::nullopt) {
    SyncRequest request;
    request.member_id = member_id;
    request.group_instance_id = std::move(group_instance_id);
    request.generation = generation;
    request.assignments = std::move(assignments);
    SyncReplies replies;
    group().sync(request, now_ms_, replies.callback());
    return replies;
  }

  ErrorCode heartbeat(const std::string& member_id, int32_t generation,
                      std::optional<std::string> group_instance_id = std::nullopt) {
    return group().heartbeat({member_id, std::move(group_instance_id), generation}, now_ms_);
  }

  DoneReplies commit(const std::string& member_id, int32_t generation,
                     std::vector<std::pair<TopicPartition, CommittedOffset>> offsets,
                     std::optional<std::string> group_instance_id = std::nullopt) {
    CommitRequest request;
    request.member_id = member_id;
    request.generation = generation;
    request.group_instance_id = std::move(group_instance_id);
    request.offsets = std::move(offsets);
    DoneReplies replies;
    group().commit(request, now_ms_, replies.callback());
    return replies;
  }

  // A commit outside group management (generation -1) that is made durable.
  void commit_standalone(const TopicPartition& partition, CommittedOffset offset) {
    auto done = commit("", -1, {{partition, offset}});
    log_.complete_last(ErrorCode::kNone);
    ASSERT_TRUE(done.arrived());
    ASSERT_EQ(done.last(), ErrorCode::kNone);
  }

  // Joins `requests` as new members at the same moment and lets the initial
  // rebalance delay (which must be on) run out: all get generation 1. The first
  // request's member is the leader.
  std::vector<TestMember> join_all(const std::vector<JoinRequest>& requests) {
    EXPECT_GT(limits_.initial_rebalance_delay_ms, 0) << "join_all needs the initial delay";
    std::vector<JoinReplies> replies;
    for (const auto& request : requests) replies.push_back(join(request));
    for (int round = 0; round < 20; ++round) {
      if (std::all_of(replies.begin(), replies.end(), [](auto& r) { return r.arrived(); })) break;
      advance(limits_.initial_rebalance_delay_ms);
    }
    std::vector<TestMember> members;
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_TRUE(replies[i].arrived()) << "member " << i << " got no JoinGroup reply";
      if (!replies[i].arrived()) return {};
      EXPECT_EQ(replies[i].last().error, ErrorCode::kNone);
      members.push_back({requests[i], replies[i].last()});
    }
    return members;
  }

  std::vector<TestMember> join_new_members(int count) {
    std::vector<JoinRequest> requests;
    for (int i = 0; i < count; ++i) requests.push_back(new_member("client-" + std::to_string(i)));
    return join_all(requests);
  }

  static Bytes assignment_for(const std::string& member_id) {
    return bytes_of("assignment of " + member_id);
  }

  // Every member syncs (followers first), the leader hands out
  // assignment_for(member), the group record is written: the group is Stable.
  void sync_all(const std::vector<TestMember>& members) {
    std::vector<std::pair<std::string, Bytes>> assignments;
    for (const auto& member : members)
      assignments.push_back({member.id(), assignment_for(member.id())});
    std::vector<SyncReplies> replies;
    for (const auto& member : members) {
      if (member.id() != member.joined.leader) {
        replies.push_back(sync(member.id(), member.joined.generation));
      }
    }
    for (const auto& member : members) {
      if (member.id() == member.joined.leader) {
        replies.push_back(sync(member.id(), member.joined.generation, assignments));
      }
    }
    log_.complete_all();
    for (const auto& reply : replies) {
      ASSERT_TRUE(reply.arrived());
      ASSERT_EQ(reply.last().error, ErrorCode::kNone);
    }
    ASSERT_EQ(group().state(), GroupState::kStable);
  }

  std::vector<TestMember> stable_group(int count) {
    auto members = join_new_members(count);
    sync_all(members);
    return members;
  }
};

// --- JoinGroup -------------------------------------------------------------

TEST_F(GroupTest, TwoStepJoinAnswersMemberIdRequiredThenAcceptsTheRejoin) {
  limits_.initial_rebalance_delay_ms = 0;
  JoinRequest request = new_member("client-a");
  request.require_known_member_id = true;

  auto first = join(request);
  ASSERT_TRUE(first.arrived());
  EXPECT_EQ(first.last().error, ErrorCode::kMemberIdRequired);
  const std::string member_id = first.last().member_id;
  EXPECT_FALSE(member_id.empty());
  EXPECT_EQ(group().state(), GroupState::kEmpty);
  EXPECT_EQ(group().member_count(), 0u);

  auto second = join(rejoin(request, member_id));
  ASSERT_TRUE(second.arrived());
  EXPECT_EQ(second.last().error, ErrorCode::kNone);
  EXPECT_EQ(second.last().member_id, member_id);
  EXPECT_EQ(second.last().generation, 1);
  EXPECT_EQ(second.last().leader, member_id);
  EXPECT_EQ(group().state(), GroupState::kCompletingRebalance);
}

TEST_F(GroupTest, JoinWithAMemberIdTheGroupNeverGaveIsUnknownMemberId) {
  auto replies = join(rejoin(new_member("client-a"), "made-up-id"));
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kUnknownMemberId);
  EXPECT_EQ(group().member_count(), 0u);
}

TEST_F(GroupTest, MemberIdFromMemberIdRequiredExpiresAfterTheSessionTimeout) {
  JoinRequest request = new_member("client-a");
  request.require_known_member_id = true;
  auto first = join(request);
  ASSERT_EQ(first.last().error, ErrorCode::kMemberIdRequired);

  advance(kSessionTimeoutMs);
  auto late = join(rejoin(request, first.last().member_id));
  ASSERT_TRUE(late.arrived());
  EXPECT_EQ(late.last().error, ErrorCode::kUnknownMemberId);
}

TEST_F(GroupTest, InitialRebalanceDelayHoldsTheFirstJoinUntilTheDelayPasses) {
  limits_.initial_rebalance_delay_ms = 3000;
  auto replies = join(new_member("client-a"));
  EXPECT_FALSE(replies.arrived());
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);

  advance(2999);
  EXPECT_FALSE(replies.arrived());
  advance(1);
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kNone);
  EXPECT_EQ(replies.last().generation, 1);
}

TEST_F(GroupTest, InitialRebalanceDelayExtendsForNewMembersUpToTheRebalanceTimeout) {
  limits_.initial_rebalance_delay_ms = 3000;
  auto member = [](const std::string& client) {
    JoinRequest request = new_member(client);
    request.rebalance_timeout_ms = 10000;  // leaves 7000 ms of extensions
    return request;
  };
  std::vector<JoinReplies> replies;
  replies.push_back(join(member("a")));
  advance(1000);
  replies.push_back(join(member("b")));
  advance(2000);  // t=3000: b arrived, extend by 3000
  EXPECT_FALSE(replies[0].arrived());
  advance(1000);
  replies.push_back(join(member("c")));
  advance(2000);  // t=6000: c arrived, extend by 3000
  EXPECT_FALSE(replies[0].arrived());
  advance(2000);
  replies.push_back(join(member("d")));
  advance(1000);  // t=9000: d arrived, only 1000 left
  EXPECT_FALSE(replies[0].arrived());
  advance(500);
  replies.push_back(join(member("e")));
  advance(499);  // t=9999
  EXPECT_FALSE(replies[0].arrived());
  advance(1);  // t=10000: the rebalance timeout ends the delay despite e
  for (const auto& reply : replies) {
    ASSERT_TRUE(reply.arrived());
    EXPECT_EQ(reply.last().error, ErrorCode::kNone);
    EXPECT_EQ(reply.last().generation, 1);
  }
  EXPECT_EQ(group().member_count(), 5u);
}

TEST_F(GroupTest, WithoutInitialDelayTheJoinCompletesAsSoonAsAllMembersJoined) {
  limits_.initial_rebalance_delay_ms = 0;
  auto a = join(new_member("client-a"));
  ASSERT_TRUE(a.arrived());
  EXPECT_EQ(a.last().generation, 1);

  auto b = join(new_member("client-b"));
  EXPECT_FALSE(b.arrived());  // waits for a to rejoin
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
  auto a_again = join(rejoin(new_member("client-a"), a.last().member_id));
  ASSERT_TRUE(a_again.arrived());
  ASSERT_TRUE(b.arrived());
  EXPECT_EQ(a_again.last().generation, 2);
  EXPECT_EQ(b.last().generation, 2);
  EXPECT_EQ(group().state(), GroupState::kCompletingRebalance);
}

TEST_F(GroupTest, LeaderGetsEveryMembersMetadataOfTheSelectedProtocolFollowersGetNone) {
  auto protocols = [](const std::string& who, bool prefers_range) {
    std::vector<Protocol> list = {{"range", bytes_of(who + "/range")},
                                  {"roundrobin", bytes_of(who + "/roundrobin")}};
    if (!prefers_range) std::swap(list[0], list[1]);
    return list;
  };
  // a prefers range, b and c prefer roundrobin: roundrobin wins 2 votes to 1.
  auto members =
      join_all({new_member("a", protocols("a", true)), new_member("b", protocols("b", false)),
                new_member("c", protocols("c", false))});
  ASSERT_EQ(members.size(), 3u);
  const JoinResult& leader = members[0].joined;
  EXPECT_EQ(leader.leader, leader.member_id);
  ASSERT_EQ(leader.members.size(), 3u);
  for (const auto& member : members) {
    EXPECT_EQ(member.joined.protocol_name, "roundrobin");
    EXPECT_EQ(member.joined.protocol_type, "consumer");
    EXPECT_EQ(member.joined.leader, leader.member_id);
    const std::string who = member.request.client_id;
    auto listed = std::find_if(leader.members.begin(), leader.members.end(),
                               [&](const JoinedMember& m) { return m.member_id == member.id(); });
    ASSERT_NE(listed, leader.members.end()) << who;
    EXPECT_EQ(listed->metadata, bytes_of(who + "/roundrobin"));
  }
  EXPECT_TRUE(members[1].joined.members.empty());
  EXPECT_TRUE(members[2].joined.members.empty());
}

TEST_F(GroupTest, ProtocolSelectionPicksAProtocolEveryMemberSupports) {
  auto members =
      join_all({new_member("a", {{"range", bytes_of("a")}, {"sticky", bytes_of("a")}}),
                new_member("b", {{"roundrobin", bytes_of("b")}, {"sticky", bytes_of("b")}})});
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].joined.protocol_name, "sticky");
  EXPECT_EQ(members[1].joined.protocol_name, "sticky");
}

TEST_F(GroupTest, JoinWithNoProtocolInCommonIsInconsistentGroupProtocol) {
  limits_.initial_rebalance_delay_ms = 0;
  join(new_member("a", {{"range", {}}}));
  auto replies = join(new_member("b", {{"roundrobin", {}}}));
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kInconsistentGroupProtocol);
  EXPECT_EQ(group().member_count(), 1u);
}

TEST_F(GroupTest, JoinWithAnotherProtocolTypeIsInconsistentGroupProtocol) {
  limits_.initial_rebalance_delay_ms = 0;
  join(new_member("a"));
  JoinRequest other = new_member("b");
  other.protocol_type = "connect";
  auto replies = join(other);
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kInconsistentGroupProtocol);
  EXPECT_EQ(group().member_count(), 1u);
}

TEST_F(GroupTest, JoinWithoutProtocolsOrProtocolTypeIsInconsistentGroupProtocol) {
  auto no_protocols = join(new_member("a", {}));
  JoinRequest no_type = new_member("b");
  no_type.protocol_type.clear();
  auto no_type_replies = join(no_type);
  ASSERT_TRUE(no_protocols.arrived());
  ASSERT_TRUE(no_type_replies.arrived());
  EXPECT_EQ(no_protocols.last().error, ErrorCode::kInconsistentGroupProtocol);
  EXPECT_EQ(no_type_replies.last().error, ErrorCode::kInconsistentGroupProtocol);
  EXPECT_TRUE(group().is_unused());
}

// --- SyncGroup -------------------------------------------------------------

TEST_F(GroupTest, SyncWritesTheLeadersAssignmentAndAnswersOnlyOnceItIsDurable) {
  auto members = join_new_members(2);
  ASSERT_EQ(members.size(), 2u);
  const TestMember& leader = members[0];
  const TestMember& follower = members[1];
  ASSERT_EQ(leader.joined.leader, leader.id());

  auto follower_sync = sync(follower.id(), 1);
  EXPECT_FALSE(follower_sync.arrived());  // waits for the leader
  EXPECT_EQ(log_.write_count(), 0u);

  auto leader_sync =
      sync(leader.id(), 1, {{leader.id(), bytes_of("p0")}, {follower.id(), bytes_of("p1")}});
  ASSERT_EQ(log_.write_count(), 1u);
  EXPECT_FALSE(leader_sync.arrived());
  EXPECT_FALSE(follower_sync.arrived());
  EXPECT_EQ(group().state(), GroupState::kCompletingRebalance);

  const GroupMetadataRecord written = only_group_record(log_.records(0));
  EXPECT_EQ(written.group, "my-group");
  ASSERT_TRUE(written.value.has_value());
  EXPECT_EQ(written.value->protocol_type, "consumer");
  EXPECT_EQ(written.value->generation, 1);
  EXPECT_EQ(written.value->protocol, "range");
  EXPECT_EQ(written.value->leader, leader.id());
  ASSERT_EQ(written.value->members.size(), 2u);
  for (const auto& record : written.value->members) {
    EXPECT_EQ(record.subscription, subscription({"orders"}));
    EXPECT_EQ(record.session_timeout_ms, kSessionTimeoutMs);
    EXPECT_EQ(record.rebalance_timeout_ms, kRebalanceTimeoutMs);
    EXPECT_EQ(record.assignment, bytes_of(record.member_id == leader.id() ? "p0" : "p1"));
  }

  log_.complete(0, ErrorCode::kNone);
  ASSERT_TRUE(leader_sync.arrived());
  ASSERT_TRUE(follower_sync.arrived());
  EXPECT_EQ(leader_sync.last().error, ErrorCode::kNone);
  EXPECT_EQ(leader_sync.last().assignment, bytes_of("p0"));
  EXPECT_EQ(follower_sync.last().error, ErrorCode::kNone);
  EXPECT_EQ(follower_sync.last().assignment, bytes_of("p1"));
  EXPECT_EQ(follower_sync.last().protocol_name, "range");
  EXPECT_EQ(group().state(), GroupState::kStable);
}

TEST_F(GroupTest, FailedAssignmentWriteFailsTheSyncsAndStartsANewRebalance) {
  auto members = join_new_members(2);
  ASSERT_EQ(members.size(), 2u);
  auto follower_sync = sync(members[1].id(), 1);
  auto leader_sync = sync(members[0].id(), 1, {{members[0].id(), bytes_of("p0")}});
  log_.complete(0, ErrorCode::kCoordinatorNotAvailable);

  ASSERT_TRUE(leader_sync.arrived());
  ASSERT_TRUE(follower_sync.arrived());
  EXPECT_EQ(leader_sync.last().error, ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(follower_sync.last().error, ErrorCode::kCoordinatorNotAvailable);
  EXPECT_TRUE(leader_sync.last().assignment.empty());
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);

  auto a = join(rejoin(members[0].request, members[0].id()));
  auto b = join(rejoin(members[1].request, members[1].id()));
  ASSERT_TRUE(a.arrived());
  ASSERT_TRUE(b.arrived());
  EXPECT_EQ(a.last().generation, 2);
}

TEST_F(GroupTest, SyncWithAnotherGenerationIsIllegalGeneration) {
  auto members = join_new_members(1);
  ASSERT_EQ(members.size(), 1u);
  auto replies = sync(members[0].id(), 7);
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kIllegalGeneration);
  EXPECT_EQ(log_.write_count(), 0u);
}

TEST_F(GroupTest, SyncFromAnUnknownMemberIsUnknownMemberId) {
  join_new_members(1);
  auto replies = sync("stranger", 1);
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kUnknownMemberId);
}

TEST_F(GroupTest, SyncWhilePreparingRebalanceIsRebalanceInProgress) {
  auto members = stable_group(2);
  join(new_member("newcomer"));
  ASSERT_EQ(group().state(), GroupState::kPreparingRebalance);
  auto replies = sync(members[1].id(), 1);
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kRebalanceInProgress);
}

// --- Heartbeat and membership changes ---------------------------------------

TEST_F(GroupTest, HeartbeatIsNoneWhenStable) {
  auto members = stable_group(2);
  EXPECT_EQ(heartbeat(members[0].id(), 1), ErrorCode::kNone);
  EXPECT_EQ(heartbeat(members[1].id(), 1), ErrorCode::kNone);
}

TEST_F(GroupTest, HeartbeatIsRebalanceInProgressWhileARebalanceIsPending) {
  auto members = stable_group(1);
  join(new_member("newcomer"));
  EXPECT_EQ(heartbeat(members[0].id(), 1), ErrorCode::kRebalanceInProgress);
}

TEST_F(GroupTest, HeartbeatWithAnotherGenerationIsIllegalGeneration) {
  auto members = stable_group(1);
  EXPECT_EQ(heartbeat(members[0].id(), 0), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(heartbeat(members[0].id(), 2), ErrorCode::kIllegalGeneration);
}

TEST_F(GroupTest, HeartbeatFromAnUnknownMemberIsUnknownMemberId) {
  stable_group(1);
  EXPECT_EQ(heartbeat("stranger", 1), ErrorCode::kUnknownMemberId);
}

TEST_F(GroupTest, SilentMemberIsRemovedAfterTheSessionTimeoutAndTheOthersRejoinWithoutIt) {
  auto members = stable_group(2);
  const TestMember& alive = members[0];
  const TestMember& silent = members[1];
  for (int i = 0; i < 2; ++i) {
    advance(4000);
    ASSERT_EQ(heartbeat(alive.id(), 1), ErrorCode::kNone);
  }
  advance(kSessionTimeoutMs - 8000 - 1);
  EXPECT_EQ(group().member_count(), 2u);
  advance(1);  // the silent member's session has run out

  EXPECT_EQ(group().member_count(), 1u);
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
  EXPECT_EQ(heartbeat(silent.id(), 1), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(heartbeat(alive.id(), 1), ErrorCode::kRebalanceInProgress);

  auto again = join(rejoin(alive.request, alive.id()));
  ASSERT_TRUE(again.arrived());
  EXPECT_EQ(again.last().error, ErrorCode::kNone);
  EXPECT_EQ(again.last().generation, 2);
  EXPECT_EQ(again.last().leader, alive.id());
  ASSERT_EQ(again.last().members.size(), 1u);
  EXPECT_EQ(again.last().members[0].member_id, alive.id());
}

TEST_F(GroupTest, NewMemberJoiningAStableGroupRebalancesUntilTheOthersRejoin) {
  auto members = stable_group(2);
  auto newcomer = join(new_member("newcomer"));
  EXPECT_FALSE(newcomer.arrived());
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
  EXPECT_EQ(heartbeat(members[0].id(), 1), ErrorCode::kRebalanceInProgress);
  EXPECT_EQ(heartbeat(members[1].id(), 1), ErrorCode::kRebalanceInProgress);

  auto a = join(rejoin(members[0].request, members[0].id()));
  EXPECT_FALSE(a.arrived());
  EXPECT_EQ(heartbeat(members[1].id(), 1), ErrorCode::kRebalanceInProgress);
  auto b = join(rejoin(members[1].request, members[1].id()));

  for (const auto* reply : {&newcomer, &a, &b}) {
    ASSERT_TRUE(reply->arrived());
    EXPECT_EQ(reply->last().error, ErrorCode::kNone);
    EXPECT_EQ(reply->last().generation, 2);
  }
  EXPECT_EQ(group().member_count(), 3u);
  EXPECT_EQ(heartbeat(members[1].id(), 2), ErrorCode::kNone);
}

TEST_F(GroupTest, MembersThatDoNotRejoinBeforeTheRebalanceTimeoutAreDropped) {
  auto members = stable_group(2);
  const TestMember& rejoining = members[0];
  const TestMember& lagging = members[1];
  auto newcomer = join(new_member("newcomer"));
  auto a = join(rejoin(rejoining.request, rejoining.id()));
  // The lagging member stays alive by heartbeats but never rejoins.
  for (int64_t waited_ms = 0; waited_ms + 5000 < kRebalanceTimeoutMs; waited_ms += 5000) {
    advance(5000);
    ASSERT_EQ(heartbeat(lagging.id(), 1), ErrorCode::kRebalanceInProgress);
  }
  advance(4999);  // 1 ms before the rebalance timeout
  EXPECT_FALSE(a.arrived());
  advance(1);

  ASSERT_TRUE(a.arrived());
  ASSERT_TRUE(newcomer.arrived());
  EXPECT_EQ(a.last().generation, 2);
  EXPECT_EQ(group().member_count(), 2u);
  const auto& listed =
      a.last().leader == rejoining.id() ? a.last().members : newcomer.last().members;
  ASSERT_EQ(listed.size(), 2u);
  for (const auto& member : listed) EXPECT_NE(member.member_id, lagging.id());
  EXPECT_EQ(heartbeat(lagging.id(), 1), ErrorCode::kUnknownMemberId);
}

TEST_F(GroupTest, HeartbeatIsNoneWhileCompletingRebalance) {
  auto members = join_new_members(2);
  ASSERT_EQ(group().state(), GroupState::kCompletingRebalance);
  EXPECT_EQ(heartbeat(members[1].id(), 1), ErrorCode::kNone);
}

TEST_F(GroupTest, RejoinWhileCompletingRebalanceWithSameProtocolsResendsTheJoinReply) {
  auto members = join_new_members(2);
  ASSERT_EQ(members.size(), 2u);
  auto again = join(rejoin(members[0].request, members[0].id()));  // the reply was lost
  ASSERT_TRUE(again.arrived());
  EXPECT_EQ(again.last().error, ErrorCode::kNone);
  EXPECT_EQ(again.last().generation, 1);
  EXPECT_EQ(again.last().leader, members[0].id());
  EXPECT_EQ(again.last().members.size(), 2u);
  EXPECT_EQ(group().state(), GroupState::kCompletingRebalance);
}

TEST_F(GroupTest, FollowerRejoiningAStableGroupUnchangedGetsTheCurrentGeneration) {
  auto members = stable_group(2);
  auto again = join(rejoin(members[1].request, members[1].id()));
  ASSERT_TRUE(again.arrived());
  EXPECT_EQ(again.last().error, ErrorCode::kNone);
  EXPECT_EQ(again.last().generation, 1);
  EXPECT_TRUE(again.last().members.empty());
  EXPECT_EQ(group().state(), GroupState::kStable);
}

TEST_F(GroupTest, LeaderRejoiningAStableGroupStartsARebalance) {
  auto members = stable_group(2);
  auto again = join(rejoin(members[0].request, members[0].id()));
  EXPECT_FALSE(again.arrived());
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
  auto follower = join(rejoin(members[1].request, members[1].id()));
  ASSERT_TRUE(again.arrived());
  ASSERT_TRUE(follower.arrived());
  EXPECT_EQ(again.last().generation, 2);
}

TEST_F(GroupTest, FollowerRejoiningWithNewSubscriptionsStartsARebalance) {
  auto members = stable_group(2);
  JoinRequest changed = members[1].request;
  changed.protocols = {{"range", subscription({"orders", "payments"})}};
  auto again = join(rejoin(changed, members[1].id()));
  EXPECT_FALSE(again.arrived());
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
}

TEST_F(GroupTest, NewMemberDuringCompletingRebalanceFailsWaitingSyncsWithRebalanceInProgress) {
  auto members = join_new_members(2);
  auto follower_sync = sync(members[1].id(), 1);
  join(new_member("newcomer"));
  ASSERT_TRUE(follower_sync.arrived());
  EXPECT_EQ(follower_sync.last().error, ErrorCode::kRebalanceInProgress);
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
}

TEST_F(GroupTest, AssignmentWriteThatCompletesAfterANewRebalanceStartedIsIgnored) {
  auto members = join_new_members(2);
  auto leader_sync = sync(members[0].id(), 1, {{members[0].id(), bytes_of("p0")}});
  ASSERT_EQ(log_.pending_count(), 1u);
  join(new_member("newcomer"));  // fails the leader's sync
  ASSERT_TRUE(leader_sync.arrived());
  EXPECT_EQ(leader_sync.last().error, ErrorCode::kRebalanceInProgress);

  log_.complete_all();
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
  EXPECT_EQ(leader_sync.count(), 1u);
}

TEST_F(GroupTest, MemberThatNeverSyncsIsRemovedAfterTheRebalanceTimeout) {
  auto members = join_new_members(2);
  auto leader_sync = sync(members[0].id(), 1, {{members[0].id(), bytes_of("p0")}});
  log_.complete_all();
  ASSERT_TRUE(leader_sync.arrived());
  ASSERT_EQ(group().state(), GroupState::kStable);
  // The follower heartbeats (so its session lives) but never sends SyncGroup.
  for (int64_t waited_ms = 0; waited_ms + 5000 < kRebalanceTimeoutMs; waited_ms += 5000) {
    advance(5000);
    ASSERT_EQ(heartbeat(members[1].id(), 1), ErrorCode::kNone);
    ASSERT_EQ(heartbeat(members[0].id(), 1), ErrorCode::kNone);
  }
  advance(4999);
  EXPECT_EQ(group().member_count(), 2u);
  advance(1);
  EXPECT_EQ(group().member_count(), 1u);
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
  EXPECT_EQ(heartbeat(members[1].id(), 1), ErrorCode::kUnknownMemberId);
}

TEST_F(GroupTest, PendingMemberIdHoldsTheRebalanceUntilItJoinsOrLeaves) {
  auto members = stable_group(1);
  auto newcomer = join(new_member("newcomer"));
  JoinRequest two_step = new_member("two-step");
  two_step.require_known_member_id = true;
  auto pending = join(two_step);
  ASSERT_EQ(pending.last().error, ErrorCode::kMemberIdRequired);

  auto a = join(rejoin(members[0].request, members[0].id()));
  EXPECT_FALSE(a.arrived()) << "waits for the member that was given an id";
  EXPECT_EQ(group().leave(pending.last().member_id, std::nullopt, now_ms_), ErrorCode::kNone);
  ASSERT_TRUE(a.arrived());
  ASSERT_TRUE(newcomer.arrived());
  EXPECT_EQ(a.last().generation, 2);
  EXPECT_EQ(group().member_count(), 2u);
}

// Only dynamic members are dropped for not rejoining in time; a static one
// keeps its place (and is listed to the leader) while its session lives.
TEST_F(GroupTest, StaticMemberThatDoesNotRejoinKeepsItsPlaceThroughTheRebalance) {
  auto members = join_all({static_member("instance-a"), static_member("instance-b")});
  sync_all(members);
  const TestMember& lagging = members[1];
  auto newcomer = join(new_member("newcomer"));
  auto a = join(rejoin(members[0].request, members[0].id()));
  for (int64_t waited_ms = 0; waited_ms + 5000 < kRebalanceTimeoutMs; waited_ms += 5000) {
    advance(5000);
    ASSERT_EQ(heartbeat(lagging.id(), 1, "instance-b"), ErrorCode::kRebalanceInProgress);
  }
  advance(5000);  // the rebalance timeout

  ASSERT_TRUE(a.arrived());
  ASSERT_TRUE(newcomer.arrived());
  EXPECT_EQ(a.last().generation, 2);
  EXPECT_EQ(group().member_count(), 3u);
  const auto& listed =
      a.last().leader == a.last().member_id ? a.last().members : newcomer.last().members;
  EXPECT_TRUE(std::any_of(listed.begin(), listed.end(), [&](const JoinedMember& member) {
    return member.member_id == lagging.id() && member.group_instance_id == "instance-b";
  }));
  EXPECT_EQ(heartbeat(lagging.id(), 1, "instance-b"), ErrorCode::kIllegalGeneration);
}

TEST_F(GroupTest, DescribeShowsMetadataAndAssignmentsOnlyWhenStable) {
  auto members = join_new_members(2);
  GroupDescription rebalancing = group().describe();
  EXPECT_EQ(rebalancing.state, GroupState::kCompletingRebalance);
  EXPECT_EQ(rebalancing.protocol, "");
  ASSERT_EQ(rebalancing.members.size(), 2u);
  EXPECT_TRUE(rebalancing.members[0].metadata.empty());

  sync_all(members);
  GroupDescription stable = group().describe();
  EXPECT_EQ(stable.state, GroupState::kStable);
  EXPECT_EQ(stable.protocol_type, "consumer");
  EXPECT_EQ(stable.protocol, "range");
  ASSERT_EQ(stable.members.size(), 2u);
  for (const auto& member : stable.members) {
    EXPECT_EQ(member.metadata, subscription({"orders"}));
    EXPECT_EQ(member.assignment, assignment_for(member.member_id));
    EXPECT_EQ(member.client_host, "/127.0.0.1");
  }
}

// --- LeaveGroup ------------------------------------------------------------

TEST_F(GroupTest, LeaveByMemberIdRemovesTheMemberAndRebalances) {
  auto members = stable_group(2);
  EXPECT_EQ(group().leave(members[1].id(), std::nullopt, now_ms_), ErrorCode::kNone);
  EXPECT_EQ(group().member_count(), 1u);
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
  EXPECT_EQ(heartbeat(members[1].id(), 1), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(heartbeat(members[0].id(), 1), ErrorCode::kRebalanceInProgress);
}

TEST_F(GroupTest, LeaveByGroupInstanceIdWithoutMemberIdRemovesTheStaticMember) {
  auto members = join_all({static_member("instance-a"), static_member("instance-b")});
  sync_all(members);
  EXPECT_EQ(group().leave("", std::string("instance-b"), now_ms_), ErrorCode::kNone);
  EXPECT_EQ(group().member_count(), 1u);
  EXPECT_EQ(heartbeat(members[1].id(), 1, "instance-b"), ErrorCode::kUnknownMemberId);
}

TEST_F(GroupTest, LeaveOfAnUnknownMemberIsUnknownMemberId) {
  stable_group(1);
  EXPECT_EQ(group().leave("stranger", std::nullopt, now_ms_), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(group().leave("", std::string("no-such-instance"), now_ms_),
            ErrorCode::kUnknownMemberId);
  EXPECT_EQ(group().member_count(), 1u);
  EXPECT_EQ(group().state(), GroupState::kStable);
}

TEST_F(GroupTest, LastMemberLeavingWritesAnEmptyGroupRecord) {
  auto members = stable_group(1);
  const size_t writes_before = log_.write_count();
  EXPECT_EQ(group().leave(members[0].id(), std::nullopt, now_ms_), ErrorCode::kNone);
  EXPECT_EQ(group().state(), GroupState::kEmpty);
  EXPECT_EQ(group().member_count(), 0u);
  ASSERT_EQ(log_.write_count(), writes_before + 1);
  const GroupMetadataRecord written = only_group_record(log_.last_records());
  ASSERT_TRUE(written.value.has_value());
  EXPECT_TRUE(written.value->members.empty());
  EXPECT_EQ(written.value->generation, 2);
  EXPECT_EQ(written.value->protocol, std::nullopt);
  EXPECT_EQ(written.value->leader, std::nullopt);
}

// Kafka's prepareRebalance tries to complete the join at once
// (tryCompleteElseWatch): the last member leaving makes the group Empty within
// the LeaveGroup, so a DeleteGroups right after a consumer closes succeeds.
TEST_F(GroupTest, LastMemberLeavingEmptiesTheGroupAtOnce) {
  auto members = stable_group(1);
  EXPECT_EQ(group().leave(members[0].id(), std::nullopt, now_ms_), ErrorCode::kNone);
  EXPECT_EQ(group().state(), GroupState::kEmpty);
  DoneReplies removed;
  EXPECT_EQ(group().remove(removed.callback()), ErrorCode::kNone);
}

// --- Static membership (KIP-345) ---------------------------------------------

class StaticGroupTest : public GroupTest {
 protected:
  void SetUp() override {
    members_ = join_all({static_member("instance-a"), static_member("instance-b")});
    ASSERT_EQ(members_.size(), 2u);
    sync_all(members_);
  }
  std::vector<TestMember> members_;
};

TEST_F(StaticGroupTest, RejoinWithSameInstanceIdGetsNewIdAndOldAssignmentWithoutRebalance) {
  const TestMember& follower = members_[1];
  const size_t writes_before = log_.write_count();
  auto replies = join(follower.request);  // a restarted client: no member id
  EXPECT_FALSE(replies.arrived()) << "answers once the new member id is durable";
  ASSERT_EQ(log_.write_count(), writes_before + 1);
  const GroupMetadataRecord written = only_group_record(log_.last_records());
  ASSERT_TRUE(written.value.has_value());
  EXPECT_EQ(written.value->generation, 1);
  log_.complete_last(ErrorCode::kNone);

  ASSERT_TRUE(replies.arrived());
  const JoinResult& joined = replies.last();
  EXPECT_EQ(joined.error, ErrorCode::kNone);
  EXPECT_NE(joined.member_id, follower.id());
  EXPECT_EQ(joined.generation, 1);
  EXPECT_TRUE(joined.members.empty());
  EXPECT_EQ(group().state(), GroupState::kStable);
  EXPECT_EQ(group().generation(), 1);
  EXPECT_EQ(group().member_count(), 2u);
  bool has_new_id = false;
  for (const auto& member : written.value->members) {
    EXPECT_NE(member.member_id, follower.id());
    has_new_id |= member.member_id == joined.member_id;
  }
  EXPECT_TRUE(has_new_id);

  auto synced = sync(joined.member_id, 1, {}, "instance-b");
  ASSERT_TRUE(synced.arrived());
  EXPECT_EQ(synced.last().error, ErrorCode::kNone);
  EXPECT_EQ(synced.last().assignment, assignment_for(follower.id()));
  EXPECT_EQ(heartbeat(members_[0].id(), 1, "instance-a"), ErrorCode::kNone);
}

TEST_F(StaticGroupTest, ReplacedMemberIdIsFencedOnHeartbeatSyncAndCommit) {
  const TestMember& old = members_[1];
  log_.set_auto_complete(true);
  auto replies = join(old.request);
  ASSERT_TRUE(replies.arrived());
  ASSERT_EQ(replies.last().error, ErrorCode::kNone);

  EXPECT_EQ(heartbeat(old.id(), 1, "instance-b"), ErrorCode::kFencedInstanceId);
  auto synced = sync(old.id(), 1, {}, "instance-b");
  ASSERT_TRUE(synced.arrived());
  EXPECT_EQ(synced.last().error, ErrorCode::kFencedInstanceId);
  auto committed = commit(old.id(), 1, {{{"orders", 0}, offset_at(5, now_ms_)}}, "instance-b");
  ASSERT_TRUE(committed.arrived());
  EXPECT_EQ(committed.last(), ErrorCode::kFencedInstanceId);
  EXPECT_EQ(group().committed({"orders", 0}), std::nullopt);
  EXPECT_EQ(heartbeat(replies.last().member_id, 1, "instance-b"), ErrorCode::kNone);
}

// A static leader rejoining a Stable group without SkipAssignment (JoinGroup
// < v9) gets no member list, so Kafka answers with the *old* leader id
// (updateStaticMemberAndRebalance: leaderId = currentLeader) for the client not
// to think it leads and assign to nobody.
TEST_F(StaticGroupTest, StaticLeaderRejoiningWithoutSkipAssignmentIsNotToldItLeads) {
  const TestMember& leader = members_[0];
  ASSERT_EQ(leader.joined.leader, leader.id());
  log_.set_auto_complete(true);
  auto replies = join(leader.request);
  ASSERT_TRUE(replies.arrived());
  ASSERT_EQ(replies.last().error, ErrorCode::kNone);
  EXPECT_TRUE(replies.last().members.empty());
  EXPECT_FALSE(replies.last().skip_assignment);
  EXPECT_NE(replies.last().leader, replies.last().member_id);
  EXPECT_EQ(replies.last().leader, leader.id());
}

// KIP-814: a v9 static leader rejoining a Stable group is told it leads, with the
// members, and to skip the assignment.
TEST_F(StaticGroupTest, StaticLeaderRejoiningWithSkipAssignmentLeadsWithoutAssigning) {
  const TestMember& leader = members_[0];
  log_.set_auto_complete(true);
  JoinRequest request = leader.request;
  request.supports_skip_assignment = true;
  auto replies = join(request);
  ASSERT_TRUE(replies.arrived());
  const JoinResult& joined = replies.last();
  ASSERT_EQ(joined.error, ErrorCode::kNone);
  EXPECT_TRUE(joined.skip_assignment);
  EXPECT_EQ(joined.leader, joined.member_id);
  EXPECT_EQ(joined.members.size(), 2u);
  EXPECT_EQ(joined.generation, 1);
  EXPECT_EQ(group().state(), GroupState::kStable);
}

// A replaced static leader stays the leader under its new member id, in memory
// and in the stored group (Kafka's replaceStaticMember moves the leader).
TEST_F(StaticGroupTest, StaticLeaderReplacementPersistsTheNewLeaderId) {
  const TestMember& leader = members_[0];
  ASSERT_EQ(leader.joined.leader, leader.id());
  auto replies = join(leader.request);
  const GroupMetadataRecord written = only_group_record(log_.last_records());
  log_.complete_last(ErrorCode::kNone);
  ASSERT_TRUE(replies.arrived());
  ASSERT_EQ(replies.last().error, ErrorCode::kNone);
  ASSERT_TRUE(written.value.has_value());
  EXPECT_EQ(written.value->leader, replies.last().member_id);
  EXPECT_EQ(group().describe().members.size(), 2u);
}

// Kafka reverts a replacement it could not store: the old member id stays valid.
TEST_F(StaticGroupTest, AFailedWriteOfTheNewIdKeepsTheOldMemberId) {
  const TestMember& follower = members_[1];
  auto replies = join(follower.request);
  log_.complete_last(ErrorCode::kCoordinatorNotAvailable);
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(heartbeat(follower.id(), 1, "instance-b"), ErrorCode::kNone);
  EXPECT_EQ(heartbeat(replies.last().member_id, 1, "instance-b"), ErrorCode::kFencedInstanceId);
  EXPECT_EQ(group().member_count(), 2u);
  EXPECT_EQ(group().state(), GroupState::kStable);
}

TEST_F(StaticGroupTest, JoinWithAnInstanceIdHeldByAnotherMemberIdIsFencedInstanceId) {
  auto replies = join(rejoin(members_[1].request, members_[0].id()));
  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().error, ErrorCode::kFencedInstanceId);
  EXPECT_EQ(group().state(), GroupState::kStable);
  EXPECT_EQ(group().leave(members_[0].id(), std::string("instance-b"), now_ms_),
            ErrorCode::kFencedInstanceId);
  EXPECT_EQ(group().member_count(), 2u);
}

TEST_F(StaticGroupTest, StaticMemberRejoiningWithOtherProtocolsRebalances) {
  const TestMember& follower = members_[1];
  JoinRequest changed = follower.request;
  changed.protocols = {{"range", subscription({"orders", "payments"})}};
  auto replies = join(changed);
  EXPECT_FALSE(replies.arrived());
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
  EXPECT_EQ(heartbeat(follower.id(), 1, "instance-b"), ErrorCode::kFencedInstanceId);
}

// --- Limits ------------------------------------------------------------------

TEST_F(GroupTest, JoinBeyondGroupMaxSizeIsGroupMaxSizeReached) {
  limits_.max_size = 2;
  stable_group(2);
  auto third = join(new_member("third"));
  ASSERT_TRUE(third.arrived());
  EXPECT_EQ(third.last().error, ErrorCode::kGroupMaxSizeReached);
  EXPECT_EQ(group().member_count(), 2u);
  EXPECT_EQ(group().state(), GroupState::kStable);
}

TEST_F(GroupTest, SessionTimeoutOutsideTheBrokerLimitsIsInvalidSessionTimeout) {
  JoinRequest too_short = new_member("a");
  too_short.session_timeout_ms = limits_.min_session_timeout_ms - 1;
  JoinRequest too_long = new_member("b");
  too_long.session_timeout_ms = limits_.max_session_timeout_ms + 1;
  auto short_replies = join(too_short);
  auto long_replies = join(too_long);
  ASSERT_TRUE(short_replies.arrived());
  ASSERT_TRUE(long_replies.arrived());
  EXPECT_EQ(short_replies.last().error, ErrorCode::kInvalidSessionTimeout);
  EXPECT_EQ(long_replies.last().error, ErrorCode::kInvalidSessionTimeout);
  EXPECT_TRUE(group().is_unused());
}

// --- OffsetCommit ------------------------------------------------------------

TEST_F(GroupTest, CommitOutsideGroupManagementIsVisibleOnlyOnceWritten) {
  const CommittedOffset value{42, 3, "meta", now_ms_, -1};
  auto done = commit("", -1, {{{"orders", 1}, value}});
  ASSERT_EQ(log_.write_count(), 1u);
  ASSERT_EQ(log_.records(0).size(), 1u);
  EXPECT_EQ(std::get<OffsetRecord>(log_.records(0)[0]),
            (OffsetRecord{{"my-group", "orders", 1}, value}));
  EXPECT_FALSE(done.arrived());
  EXPECT_EQ(group().committed({"orders", 1}), std::nullopt);

  log_.complete(0, ErrorCode::kNone);
  ASSERT_TRUE(done.arrived());
  EXPECT_EQ(done.last(), ErrorCode::kNone);
  EXPECT_EQ(group().committed({"orders", 1}), value);
  EXPECT_EQ(group().state(), GroupState::kEmpty);
}

TEST_F(GroupTest, CommitByTheMemberOfTheCurrentGenerationIsAccepted) {
  auto members = stable_group(2);
  auto done = commit(members[1].id(), 1, {{{"orders", 0}, offset_at(10, now_ms_)}});
  log_.complete_last(ErrorCode::kNone);
  ASSERT_TRUE(done.arrived());
  EXPECT_EQ(done.last(), ErrorCode::kNone);
  EXPECT_EQ(group().committed({"orders", 0})->offset, 10);
}

TEST_F(GroupTest, CommitToAGroupWithMembersFromAnUnknownMemberIsUnknownMemberId) {
  stable_group(1);
  const size_t writes_before = log_.write_count();
  auto stranger = commit("stranger", 1, {{{"orders", 0}, offset_at(10, now_ms_)}});
  auto standalone = commit("", -1, {{{"orders", 0}, offset_at(10, now_ms_)}});
  ASSERT_TRUE(stranger.arrived());
  ASSERT_TRUE(standalone.arrived());
  EXPECT_EQ(stranger.last(), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(standalone.last(), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(log_.write_count(), writes_before);
}

TEST_F(GroupTest, CommitWithAnotherGenerationIsIllegalGeneration) {
  auto members = stable_group(1);
  auto done = commit(members[0].id(), 2, {{{"orders", 0}, offset_at(10, now_ms_)}});
  ASSERT_TRUE(done.arrived());
  EXPECT_EQ(done.last(), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(group().committed({"orders", 0}), std::nullopt);
}

TEST_F(GroupTest, CommitWhileCompletingRebalanceIsRebalanceInProgress) {
  auto members = join_new_members(1);
  ASSERT_EQ(group().state(), GroupState::kCompletingRebalance);
  auto done = commit(members[0].id(), 1, {{{"orders", 0}, offset_at(10, now_ms_)}});
  ASSERT_TRUE(done.arrived());
  EXPECT_EQ(done.last(), ErrorCode::kRebalanceInProgress);
  EXPECT_EQ(log_.write_count(), 0u);
}

// Consumers commit in their revocation callback, before they rejoin: the
// group is PreparingRebalance and their generation is still the current one.
TEST_F(GroupTest, CommitWhilePreparingRebalanceWithTheCurrentGenerationIsAccepted) {
  auto members = stable_group(2);
  join(new_member("newcomer"));
  ASSERT_EQ(group().state(), GroupState::kPreparingRebalance);
  log_.set_auto_complete(true);
  auto done = commit(members[1].id(), 1, {{{"orders", 0}, offset_at(10, now_ms_)}});
  ASSERT_TRUE(done.arrived());
  EXPECT_EQ(done.last(), ErrorCode::kNone);
  EXPECT_EQ(group().committed({"orders", 0})->offset, 10);
}

TEST_F(GroupTest, FailedCommitWriteLeavesTheCommittedOffsetUnchanged) {
  commit_standalone({"orders", 0}, offset_at(5, now_ms_));
  auto done = commit("", -1, {{{"orders", 0}, offset_at(9, now_ms_)}});
  log_.complete_last(ErrorCode::kCoordinatorNotAvailable);
  ASSERT_TRUE(done.arrived());
  EXPECT_EQ(done.last(), ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(group().committed({"orders", 0})->offset, 5);
}

// --- OffsetDelete --------------------------------------------------------------

TEST_F(GroupTest, DeleteOffsetsRefusesTopicsAStableConsumerGroupSubscribesTo) {
  auto members = stable_group(1);  // subscribed to "orders"
  log_.set_auto_complete(true);
  commit(members[0].id(), 1,
         {{{"orders", 0}, offset_at(1, now_ms_)}, {{"payments", 0}, offset_at(2, now_ms_)}});
  log_.set_auto_complete(false);
  const size_t writes_before = log_.write_count();

  Replies<std::pair<ErrorCode, std::vector<ErrorCode>>> replies;
  group().delete_offsets(
      {{"orders", 0}, {"payments", 0}},
      [callback = replies.callback()](ErrorCode error, std::vector<ErrorCode> errors) {
        callback({error, std::move(errors)});
      });
  ASSERT_EQ(log_.write_count(), writes_before + 1);
  EXPECT_EQ(log_.last_records(), (std::vector<OffsetsTopicRecord>{tombstone("payments", 0)}));
  EXPECT_FALSE(replies.arrived()) << "answers once the tombstones are durable";
  log_.complete_last(ErrorCode::kNone);

  ASSERT_TRUE(replies.arrived());
  EXPECT_EQ(replies.last().first, ErrorCode::kNone);
  EXPECT_EQ(replies.last().second,
            (std::vector<ErrorCode>{ErrorCode::kGroupSubscribedToTopic, ErrorCode::kNone}));
  EXPECT_TRUE(group().committed({"orders", 0}).has_value());
  EXPECT_EQ(group().committed({"payments", 0}), std::nullopt);
}

// kafka-python sends version 0, the Java client version 3; Kafka reads any
// version by its version-0 prefix, so a newer one (here 4) works as well.
TEST_F(GroupTest, SubscribedTopicsAreTheUnionOverMembersWhateverTheirProtocolVersion) {
  auto members = join_all({new_member("v0", {{"range", subscription({"orders"}, 0)}}),
                           new_member("v3", {{"range", subscription({"payments"}, 3)}}),
                           new_member("v4", {{"range", subscription({"refunds", "orders"}, 4)}})});
  sync_all(members);
  EXPECT_EQ(group().subscribed_topics(), (std::set<std::string>{"orders", "payments", "refunds"}));
}

TEST_F(GroupTest, GroupsOfOtherProtocolTypesHaveNoKnownSubscriptions) {
  JoinRequest request = new_member("connect-worker");
  request.protocol_type = "connect";
  auto members = join_all({request});
  sync_all(members);
  EXPECT_EQ(group().subscribed_topics(), std::nullopt);
}

// Only consumer groups say which topics they use: Kafka refuses an OffsetDelete
// for any other group with members as a whole.
TEST_F(GroupTest, DeleteOffsetsOfANonConsumerGroupWithMembersIsNonEmptyGroup) {
  JoinRequest request = new_member("connect-worker");
  request.protocol_type = "connect";
  auto members = join_all({request});
  sync_all(members);
  log_.set_auto_complete(true);
  commit(members[0].id(), 1, {{{"configs", 0}, offset_at(1, now_ms_)}});
  const size_t writes_before = log_.write_count();
  std::optional<ErrorCode> error;
  group().delete_offsets({{"configs", 0}},
                         [&](ErrorCode got, std::vector<ErrorCode>) { error = got; });
  EXPECT_EQ(error, ErrorCode::kNonEmptyGroup);
  EXPECT_EQ(log_.write_count(), writes_before);
  EXPECT_TRUE(group().committed({"configs", 0}).has_value());
}

TEST_F(GroupTest, DeleteOffsetsOfAnEmptyGroupWritesTombstones) {
  commit_standalone({"orders", 0}, offset_at(1, now_ms_));
  commit_standalone({"orders", 1}, offset_at(2, now_ms_));
  log_.set_auto_complete(true);
  std::vector<ErrorCode> errors;
  group().delete_offsets({{"orders", 0}, {"orders", 1}},
                         [&](ErrorCode, std::vector<ErrorCode> got) { errors = std::move(got); });
  EXPECT_EQ(errors, (std::vector<ErrorCode>{ErrorCode::kNone, ErrorCode::kNone}));
  EXPECT_EQ(log_.last_records(),
            (std::vector<OffsetsTopicRecord>{tombstone("orders", 0), tombstone("orders", 1)}));
  EXPECT_FALSE(group().has_offsets());
}

// --- Offset retention (KIP-211) ------------------------------------------------

TEST_F(GroupTest, EmptyGroupOffsetsExpireRetentionAfterTheGroupBecameEmpty) {
  auto members = stable_group(1);
  log_.set_auto_complete(true);
  commit(members[0].id(), 1, {{{"orders", 0}, offset_at(7, now_ms_)}});
  now_ms_ += 5 * kDayMs;  // the member heartbeated all along
  ASSERT_EQ(heartbeat(members[0].id(), 1), ErrorCode::kNone);
  ASSERT_EQ(group().leave(members[0].id(), std::nullopt, now_ms_), ErrorCode::kNone);
  ASSERT_EQ(group().state(), GroupState::kEmpty);
  const size_t writes_before = log_.write_count();

  // Seven days after the commit, but not after the group became Empty.
  EXPECT_FALSE(group().expire_offsets(now_ms_ + limits_.offsets_retention_ms - 1));
  EXPECT_EQ(log_.write_count(), writes_before);
  EXPECT_TRUE(group().committed({"orders", 0}).has_value());

  EXPECT_TRUE(group().expire_offsets(now_ms_ + limits_.offsets_retention_ms));
  EXPECT_EQ(group().state(), GroupState::kDead);
  EXPECT_FALSE(group().has_offsets());
  EXPECT_EQ(log_.last_records(),
            (std::vector<OffsetsTopicRecord>{tombstone("orders", 0),
                                             GroupMetadataRecord{"my-group", std::nullopt}}));
}

TEST_F(GroupTest, ExplicitExpireTimestampsDecideExpiry) {
  commit_standalone({"orders", 0}, offset_at(1, now_ms_, /*expire=*/now_ms_ + 1000));
  commit_standalone({"orders", 1}, offset_at(2, now_ms_, /*expire=*/now_ms_ + 30 * kDayMs));
  commit_standalone({"orders", 2}, offset_at(3, now_ms_));

  EXPECT_FALSE(group().expire_offsets(now_ms_ + 1000));
  EXPECT_EQ(log_.last_records(), (std::vector<OffsetsTopicRecord>{tombstone("orders", 0)}));
  EXPECT_FALSE(group().expire_offsets(now_ms_ + limits_.offsets_retention_ms));
  EXPECT_EQ(log_.last_records(), (std::vector<OffsetsTopicRecord>{tombstone("orders", 2)}));
  EXPECT_TRUE(group().committed({"orders", 1}).has_value());
  EXPECT_EQ(group().state(), GroupState::kEmpty);
  EXPECT_TRUE(group().expire_offsets(now_ms_ + 30 * kDayMs));
  EXPECT_EQ(group().state(), GroupState::kDead);
}

TEST_F(GroupTest, StableConsumerGroupExpiresOnlyOffsetsOfTopicsItDoesNotSubscribeTo) {
  auto members = stable_group(1);  // subscribed to "orders"
  log_.set_auto_complete(true);
  commit(members[0].id(), 1,
         {{{"orders", 0}, offset_at(1, now_ms_)}, {{"payments", 0}, offset_at(2, now_ms_)}});
  const size_t writes_before = log_.write_count();

  EXPECT_FALSE(group().expire_offsets(now_ms_ + limits_.offsets_retention_ms - 1));
  EXPECT_EQ(log_.write_count(), writes_before);
  EXPECT_FALSE(group().expire_offsets(now_ms_ + limits_.offsets_retention_ms));
  EXPECT_EQ(log_.last_records(), (std::vector<OffsetsTopicRecord>{tombstone("payments", 0)}));
  EXPECT_TRUE(group().committed({"orders", 0}).has_value());
  EXPECT_EQ(group().state(), GroupState::kStable);
}

// A group without a protocol type (assign() + commit) is Empty forever: Kafka
// expires its offsets by their own commit timestamps (removeExpiredOffsets,
// `case None`), not from when the group object was created.
TEST_F(GroupTest, StandaloneOffsetsExpireFromTheirOwnCommitTime) {
  group();  // created now
  now_ms_ += 6 * kDayMs;
  commit_standalone({"orders", 0}, offset_at(1, now_ms_));
  EXPECT_FALSE(group().expire_offsets(now_ms_ + 1 * kDayMs));
  EXPECT_TRUE(group().committed({"orders", 0}).has_value());
  EXPECT_NE(group().state(), GroupState::kDead);
}

// Kafka never expires an offset with a commit still being written
// (getExpiredOffsets skips pendingOffsetCommits, and hasOffsets counts them, so
// the group does not die meanwhile).
TEST_F(GroupTest, ExpiryLeavesOffsetsWithACommitInFlight) {
  commit_standalone({"orders", 0}, offset_at(1, now_ms_));
  now_ms_ += limits_.offsets_retention_ms;
  auto done = commit("", -1, {{{"orders", 0}, offset_at(2, now_ms_)}});
  EXPECT_FALSE(group().expire_offsets(now_ms_));
  EXPECT_NE(group().state(), GroupState::kDead);
  log_.complete_all();
  ASSERT_TRUE(done.arrived());
  ASSERT_EQ(done.last(), ErrorCode::kNone);
  ASSERT_TRUE(group().committed({"orders", 0}).has_value());
  EXPECT_EQ(group().committed({"orders", 0})->offset, 2);
}

// In a Stable consumer group Kafka keeps the offsets of subscribed topics
// whatever their expire timestamp (getExpiredOffsets filters subscribedTopics first).
TEST_F(GroupTest, StableGroupKeepsSubscribedOffsetsDespiteAnExpireTimestamp) {
  auto members = stable_group(1);  // subscribed to "orders"
  log_.set_auto_complete(true);
  commit(members[0].id(), 1, {{{"orders", 0}, offset_at(1, now_ms_, now_ms_ + 1000)}});
  EXPECT_FALSE(group().expire_offsets(now_ms_ + 2000));
  EXPECT_TRUE(group().committed({"orders", 0}).has_value());
}

TEST_F(GroupTest, FailedCommitNoLongerHoldsItsOffsetBackFromExpiry) {
  commit_standalone({"orders", 0}, offset_at(1, now_ms_));
  now_ms_ += limits_.offsets_retention_ms;
  auto failed = commit("", -1, {{{"orders", 0}, offset_at(2, now_ms_)}});
  log_.complete_last(ErrorCode::kCoordinatorNotAvailable);
  ASSERT_EQ(failed.last(), ErrorCode::kCoordinatorNotAvailable);
  EXPECT_TRUE(group().expire_offsets(now_ms_));
  EXPECT_EQ(group().state(), GroupState::kDead);
}

// Kafka expires nothing of a group in the middle of a rebalance.
TEST_F(GroupTest, NoOffsetExpiresWhileTheGroupRebalances) {
  auto members = stable_group(1);
  log_.set_auto_complete(true);
  commit(members[0].id(), 1, {{{"payments", 0}, offset_at(1, now_ms_)}});
  join(new_member("newcomer"));
  ASSERT_EQ(group().state(), GroupState::kPreparingRebalance);
  const size_t writes_before = log_.write_count();
  EXPECT_FALSE(group().expire_offsets(now_ms_ + 30 * kDayMs));
  EXPECT_EQ(log_.write_count(), writes_before);
  EXPECT_TRUE(group().committed({"payments", 0}).has_value());
}

// Without knowing what a Stable consumer group subscribes to, Kafka keeps all
// its offsets.
TEST_F(GroupTest, StableConsumerGroupWithUnreadableSubscriptionsKeepsItsOffsets) {
  auto members = join_all({new_member("odd", {{"range", Bytes{0x00, 0x01, 0xff}}})});
  sync_all(members);
  ASSERT_EQ(group().subscribed_topics(), std::nullopt);
  log_.set_auto_complete(true);
  commit(members[0].id(), 1, {{{"payments", 0}, offset_at(1, now_ms_)}});
  EXPECT_FALSE(group().expire_offsets(now_ms_ + 30 * kDayMs));
  EXPECT_TRUE(group().committed({"payments", 0}).has_value());
}

// --- DeleteGroups ----------------------------------------------------------------

TEST_F(GroupTest, RemoveOfAGroupWithMembersIsNonEmptyGroup) {
  stable_group(1);
  const size_t writes_before = log_.write_count();
  DoneReplies done;
  EXPECT_EQ(group().remove(done.callback()), ErrorCode::kNonEmptyGroup);
  EXPECT_EQ(log_.write_count(), writes_before);
  EXPECT_EQ(group().state(), GroupState::kStable);
}

TEST_F(GroupTest, RemoveWritesTombstonesForTheGroupAndItsOffsetsThenTheGroupIsGone) {
  commit_standalone({"orders", 0}, offset_at(1, now_ms_));
  commit_standalone({"payments", 3}, offset_at(2, now_ms_));
  DoneReplies done;
  EXPECT_EQ(group().remove(done.callback()), ErrorCode::kNone);
  EXPECT_EQ(group().state(), GroupState::kDead);
  EXPECT_EQ(log_.last_records(),
            (std::vector<OffsetsTopicRecord>{tombstone("orders", 0), tombstone("payments", 3),
                                             GroupMetadataRecord{"my-group", std::nullopt}}));
  EXPECT_FALSE(done.arrived());
  log_.complete_last(ErrorCode::kNone);
  ASSERT_TRUE(done.arrived());
  EXPECT_EQ(done.last(), ErrorCode::kNone);

  DoneReplies again;
  EXPECT_EQ(group().remove(again.callback()), ErrorCode::kGroupIdNotFound);
}

TEST_F(GroupTest, DeletedGroupAnswersCoordinatorNotAvailableSoClientsLookItUpAgain) {
  DoneReplies removed;
  ASSERT_EQ(group().remove(removed.callback()), ErrorCode::kNone);
  auto joined = join(new_member("late"));
  ASSERT_TRUE(joined.arrived());
  EXPECT_EQ(joined.last().error, ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(heartbeat("someone", 1), ErrorCode::kCoordinatorNotAvailable);
  auto committed = commit("", -1, {{{"orders", 0}, offset_at(1, now_ms_)}});
  ASSERT_TRUE(committed.arrived());
  EXPECT_EQ(committed.last(), ErrorCode::kCoordinatorNotAvailable);
}

// --- Restoring from __consumer_offsets ---------------------------------------

GroupRecord stored_group() {
  GroupRecord record;
  record.protocol_type = "consumer";
  record.generation = 5;
  record.protocol = "range";
  record.leader = "m-1";
  record.current_state_timestamp_ms = kStartMs - 1000;
  for (const std::string id : {"m-1", "m-2"}) {
    MemberRecord member;
    member.member_id = id;
    member.client_id = "client-" + id;
    member.client_host = "/127.0.0.1";
    member.rebalance_timeout_ms = kRebalanceTimeoutMs;
    member.session_timeout_ms = kSessionTimeoutMs;
    member.subscription = subscription({"orders"});
    member.assignment = bytes_of("assignment of " + id);
    record.members.push_back(member);
  }
  return record;
}

TEST_F(GroupTest, RestoredGroupIsStableWithItsGenerationAndAssignments) {
  group().restore(stored_group(), now_ms_);
  EXPECT_EQ(group().state(), GroupState::kStable);
  EXPECT_EQ(group().generation(), 5);
  EXPECT_EQ(group().protocol_type(), "consumer");
  EXPECT_EQ(group().member_count(), 2u);
  const GroupDescription description = group().describe();
  EXPECT_EQ(description.protocol, "range");
  ASSERT_EQ(description.members.size(), 2u);
  EXPECT_EQ(description.members[1].assignment, bytes_of("assignment of m-2"));
  EXPECT_EQ(group().subscribed_topics(), (std::set<std::string>{"orders"}));

  EXPECT_EQ(heartbeat("m-1", 5), ErrorCode::kNone);
  auto synced = sync("m-2", 5);
  ASSERT_TRUE(synced.arrived());
  EXPECT_EQ(synced.last().error, ErrorCode::kNone);
  EXPECT_EQ(synced.last().assignment, bytes_of("assignment of m-2"));
}

TEST_F(GroupTest, RestoredMemberThatNeverComesBackExpiresAfterItsSession) {
  group().restore(stored_group(), now_ms_);
  advance(kSessionTimeoutMs / 2);
  ASSERT_EQ(heartbeat("m-1", 5), ErrorCode::kNone);
  advance(kSessionTimeoutMs / 2);
  EXPECT_EQ(group().member_count(), 1u);
  EXPECT_EQ(group().state(), GroupState::kPreparingRebalance);
}

TEST_F(GroupTest, RestoredGroupRecordWithoutMembersIsEmpty) {
  GroupRecord record;
  record.protocol_type = "consumer";
  record.generation = 3;
  group().restore(record, now_ms_);
  EXPECT_EQ(group().state(), GroupState::kEmpty);
  EXPECT_EQ(group().generation(), 3);
  EXPECT_EQ(group().member_count(), 0u);
}

// --- Random sequences ----------------------------------------------------------

// Clients that join, sync, heartbeat, commit and leave in a random order while
// writes succeed or fail and time passes. Whatever happens, every JoinGroup and
// SyncGroup gets exactly one answer once time has run on, the generation never
// goes back, and an Empty/Stable group's membership matches its state.
class RandomGroupTest : public GroupTest, public ::testing::WithParamInterface<uint32_t> {
 protected:
  struct Client {
    JoinRequest request;
    std::string member_id;
    int32_t generation = -1;
    std::vector<std::string> members_to_assign;  // as the leader last saw them
  };

  void step() {
    Client& client = clients_[pick(clients_.size())];
    switch (pick(14)) {
      case 0:
      case 1:
        join_as(client);
        break;
      case 2:
      case 3:
      case 4:
        sync_as(client);
        break;
      case 5:
      case 6:
        if (heartbeat(client.member_id, client.generation, client.request.group_instance_id) ==
            ErrorCode::kNone) {
          EXPECT_TRUE(group().state() == GroupState::kStable ||
                      group().state() == GroupState::kCompletingRebalance);
        }
        break;
      case 7:
        group().leave(client.member_id, client.request.group_instance_id, now_ms_);
        client.member_id.clear();
        break;
      case 8:
        done_replies_.push_back(
            commit(client.member_id, client.generation,
                   {{{"orders", static_cast<int32_t>(pick(3))}, offset_at(1, now_ms_)}},
                   client.request.group_instance_id));
        break;
      case 9:
        advance(static_cast<int64_t>(pick(4000)));
        break;
      case 10:
      case 11:
      case 12:
        complete_oldest_write();
        break;
      case 13:
        // Rarely: an expiry that dies when the group is Empty without offsets.
        if (pick(10) == 0) {
          group().expire_offsets(now_ms_ + static_cast<int64_t>(pick(2)) * 8 * kDayMs);
        }
        break;
    }
  }

  void join_as(Client& client) {
    JoinRequest request = client.request;
    request.member_id = client.member_id;
    JoinReplies replies;
    auto* target = &client;
    group().join(request, now_ms_, [target, callback = replies.callback()](JoinResult result) {
      if (result.error == ErrorCode::kNone) {
        // A generation's reply names its protocol and leader; a member list includes its reader.
        EXPECT_TRUE(result.protocol_name.has_value());
        EXPECT_FALSE(result.leader.empty());
        EXPECT_TRUE(
            result.members.empty() ||
            std::any_of(result.members.begin(), result.members.end(),
                        [&](const JoinedMember& m) { return m.member_id == result.member_id; }));
      }
      if (result.error == ErrorCode::kNone || result.error == ErrorCode::kMemberIdRequired) {
        target->member_id = result.member_id;
        target->generation = result.generation;
        target->members_to_assign.clear();
        for (const auto& member : result.members) {
          target->members_to_assign.push_back(member.member_id);
        }
      } else if (result.error == ErrorCode::kUnknownMemberId ||
                 result.error == ErrorCode::kFencedInstanceId) {
        target->member_id.clear();
      }
      callback(std::move(result));
    });
    join_replies_.push_back(replies);
  }

  void sync_as(Client& client) {
    std::vector<std::pair<std::string, Bytes>> assignments;
    for (const auto& id : client.members_to_assign) assignments.push_back({id, assignment_for(id)});
    sync_replies_.push_back(
        sync(client.member_id, client.generation, assignments, client.request.group_instance_id));
  }

  void complete_oldest_write() {
    log_.complete_oldest(pick(4) == 0 ? ErrorCode::kCoordinatorNotAvailable : ErrorCode::kNone);
  }

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }

  void check_invariants() {
    ASSERT_GE(group().generation(), last_generation_);
    last_generation_ = group().generation();
    if (group().state() == GroupState::kEmpty) {
      ASSERT_EQ(group().member_count(), 0u);
    }
    if (group().state() == GroupState::kStable ||
        group().state() == GroupState::kCompletingRebalance) {
      ASSERT_GT(group().member_count(), 0u);
    }
    ASSERT_EQ(group().describe().members.size(), group().member_count());
  }

  std::mt19937 random_{GetParam()};
  std::vector<Client> clients_;
  std::vector<JoinReplies> join_replies_;
  std::vector<SyncReplies> sync_replies_;
  std::vector<DoneReplies> done_replies_;
  int32_t last_generation_ = 0;
};

TEST_P(RandomGroupTest, EveryRequestIsAnsweredExactlyOnceAndStateStaysConsistent) {
  limits_.initial_rebalance_delay_ms = static_cast<int32_t>(pick(2)) * 3000;
  limits_.max_size = 4;
  for (int i = 0; i < 5; ++i) {
    Client client;
    client.request = i < 2 ? static_member("instance-" + std::to_string(i))
                           : new_member("client-" + std::to_string(i));
    client.request.require_known_member_id = i == 4;
    client.request.supports_skip_assignment = i == 0;
    clients_.push_back(client);
  }
  for (int i = 0; i < 400; ++i) {
    step();
    check_invariants();
    if (HasFatalFailure()) return;
  }
  // Time runs on, every write completes: everything waiting gets its answer.
  for (int i = 0; i < 100; ++i) {
    log_.complete_all(ErrorCode::kNone);
    advance(10000);
  }
  log_.complete_all(ErrorCode::kNone);
  for (const auto& replies : join_replies_) EXPECT_EQ(replies.count(), 1u);
  for (const auto& replies : sync_replies_) EXPECT_EQ(replies.count(), 1u);
  for (const auto& replies : done_replies_) EXPECT_EQ(replies.count(), 1u);
  EXPECT_TRUE(group().state() == GroupState::kEmpty || group().state() == GroupState::kDead)
      << state_name(group().state());
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomGroupTest, ::testing::Range<uint32_t>(1, 41));

}  // namespace
}  // namespace fjord::groups
