// DescribeQuorum, AddRaftVoter and RemoveRaftVoter in process: against the
// single-node quorum every node has today, and against a fake multi-node
// quorum that stands for the Raft-backed one.
#include <gtest/gtest.h>

#include <map>

#include "broker/test_broker.h"
#include "protocol/generated/add_raft_voter_request.h"
#include "protocol/generated/add_raft_voter_response.h"
#include "protocol/generated/alter_configs_request.h"
#include "protocol/generated/alter_configs_response.h"
#include "protocol/generated/api_versions_request.h"
#include "protocol/generated/api_versions_response.h"
#include "protocol/generated/create_partitions_request.h"
#include "protocol/generated/create_partitions_response.h"
#include "protocol/generated/create_topics_request.h"
#include "protocol/generated/create_topics_response.h"
#include "protocol/generated/delete_topics_request.h"
#include "protocol/generated/delete_topics_response.h"
#include "protocol/generated/describe_cluster_request.h"
#include "protocol/generated/describe_cluster_response.h"
#include "protocol/generated/describe_quorum_request.h"
#include "protocol/generated/describe_quorum_response.h"
#include "protocol/generated/incremental_alter_configs_request.h"
#include "protocol/generated/incremental_alter_configs_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/remove_raft_voter_request.h"
#include "protocol/generated/remove_raft_voter_response.h"

namespace fjord::broker {
namespace {

namespace p = protocol;

// A quorum of three whose leader and answers the test sets. The broker calls
// it from its quorum thread while the test thread waits for the answer.
class FakeQuorum final : public Quorum {
 public:
  int32_t controller_id() const override { return status_.leader_id; }
  bool is_active_controller() const override { return status_.leader_id == 1; }
  Result<QuorumStatus> describe() const override { return status_; }
  Status add_voter(int32_t id, const HostPort& endpoint) override {
    added_ = {id, endpoint.host, endpoint.port};
    return answer_;
  }
  Status remove_voter(int32_t id) override {
    removed_ = id;
    return answer_;
  }

  struct Added {
    int32_t id = -1;
    std::string host;
    uint16_t port = 0;
  };
  QuorumStatus status_;
  Status answer_;
  Added added_;
  int32_t removed_ = -1;
};

class QuorumApiTest : public InProcessBrokerTest {
 protected:
  void SetUp() override {
    use_temp_dir("fjord-quorum-api-");
    config_.node_id = 1;
    config_.quorum_voters = {{1, "127.0.0.1", 19092}};
    start();
  }

  // A leader-side view of three voters, node 3 lagging.
  void use_fake_quorum(int32_t leader_id) {
    fake_.status_.leader_id = leader_id;
    fake_.status_.leader_epoch = 7;
    fake_.status_.high_watermark = 120;
    fake_.status_.voters = {{1, 130, -1, 1000}, {2, 125, 990, 980}, {3, 40, 500, 400}};
    fake_.status_.observers = {{4, 100, 995, 900}};
    // This node (1) with the fake in place of its single-node quorum.
    broker_ =
        std::make_unique<Broker>(config_, *controller_, *partitions_, *groups_, *txns_, fake_);
    broker_->set_advertised_port(9092);
  }

  static p::DescribeQuorumRequest describe_request(const std::string& topic = "__cluster_metadata",
                                                   std::vector<int32_t> partitions = {0}) {
    p::DescribeQuorumRequest request;
    p::DescribeQuorumRequest::TopicData data;
    data.topic_name = topic;
    for (int32_t index : partitions) {
      p::DescribeQuorumRequest::PartitionData partition;
      partition.partition_index = index;
      data.partitions.push_back(partition);
    }
    request.topics.push_back(data);
    return request;
  }

  static p::AddRaftVoterRequest add_request(int32_t id, std::string listener = "CONTROLLER") {
    p::AddRaftVoterRequest request;
    request.cluster_id = std::nullopt;
    request.timeout_ms = 30000;
    request.voter_id = id;
    p::AddRaftVoterRequest::Listener endpoint;
    endpoint.name = std::move(listener);
    endpoint.host = "127.0.0.1";
    endpoint.port = 19095;
    request.listeners.push_back(endpoint);
    return request;
  }

  static p::RemoveRaftVoterRequest remove_request(int32_t id) {
    p::RemoveRaftVoterRequest request;
    request.voter_id = id;
    return request;
  }

  FakeQuorum fake_;
};

TEST_F(QuorumApiTest, ApiVersionsAdvertisesTheQuorumApis) {
  auto response = call<p::ApiVersionsResponse>(p::ApiVersionsRequest{}, 3);
  std::map<int16_t, std::pair<int16_t, int16_t>> ranges;
  for (const auto& api : response.api_keys)
    ranges[api.api_key] = {api.min_version, api.max_version};
  EXPECT_EQ(ranges.at(55), (std::pair<int16_t, int16_t>{0, 2}));  // DescribeQuorum
  EXPECT_EQ(ranges.at(80), (std::pair<int16_t, int16_t>{0, 0}));  // AddRaftVoter
  EXPECT_EQ(ranges.at(81), (std::pair<int16_t, int16_t>{0, 0}));  // RemoveRaftVoter
}

TEST_F(QuorumApiTest, SingleNodeIsTheOnlyVoterAndLeadsTheMetadataLog) {
  auto before = call<p::DescribeQuorumResponse>(describe_request(), 2);
  ASSERT_EQ(before.topics.size(), 1u);
  ASSERT_EQ(before.topics[0].partitions.size(), 1u);
  const auto& quorum = before.topics[0].partitions[0];
  EXPECT_EQ(before.error_code, 0);
  EXPECT_EQ(quorum.error_code, 0);
  EXPECT_EQ(quorum.leader_id, 1);
  EXPECT_EQ(quorum.leader_epoch, 0);
  EXPECT_EQ(quorum.high_watermark, controller_->image()->last_applied_offset + 1);
  ASSERT_EQ(quorum.current_voters.size(), 1u);
  EXPECT_EQ(quorum.current_voters[0].replica_id, 1);
  EXPECT_EQ(quorum.current_voters[0].log_end_offset, quorum.high_watermark);
  EXPECT_EQ(quorum.current_voters[0].last_fetch_timestamp, -1);  // the leader itself
  EXPECT_GT(quorum.current_voters[0].last_caught_up_timestamp, 0);
  EXPECT_TRUE(quorum.observers.empty());
  ASSERT_EQ(before.nodes.size(), 1u);
  EXPECT_EQ(before.nodes[0].node_id, 1);
  ASSERT_EQ(before.nodes[0].listeners.size(), 1u);
  EXPECT_EQ(before.nodes[0].listeners[0].name, "CONTROLLER");
  EXPECT_EQ(before.nodes[0].listeners[0].port, 19092);

  // A metadata change moves the high watermark.
  p::CreateTopicsRequest create;
  p::CreateTopicsRequest::CreatableTopic topic;
  topic.name = "orders";
  topic.num_partitions = 1;
  topic.replication_factor = 1;
  create.topics.push_back(topic);
  ASSERT_EQ(call<p::CreateTopicsResponse>(create, 5).topics[0].error_code, 0);
  auto after = call<p::DescribeQuorumResponse>(describe_request(), 2);
  EXPECT_GT(after.topics[0].partitions[0].high_watermark, quorum.high_watermark);
}

TEST_F(QuorumApiTest, EveryVersionEncodesItsFields) {
  for (int16_t version = 0; version <= 2; ++version) {
    auto response = call<p::DescribeQuorumResponse>(describe_request(), version);
    ASSERT_EQ(response.topics.size(), 1u) << version;
    EXPECT_EQ(response.topics[0].partitions[0].leader_id, 1) << version;
    EXPECT_EQ(response.nodes.size(), version >= 2 ? 1u : 0u) << version;
  }
}

TEST_F(QuorumApiTest, OtherTopicsAndPartitionsAreUnknown) {
  const std::vector<p::DescribeQuorumRequest> requests = {
      describe_request("orders"), describe_request("__cluster_metadata", {1}),
      describe_request("__cluster_metadata", {0, 1})};
  for (const auto& request : requests) {
    auto response = call<p::DescribeQuorumResponse>(request, 2);
    EXPECT_EQ(response.error_code, 0);
    ASSERT_EQ(response.topics.size(), 1u);
    EXPECT_EQ(response.topics[0].topic_name, request.topics[0].topic_name);
    ASSERT_EQ(response.topics[0].partitions.size(), request.topics[0].partitions.size());
    for (const auto& partition : response.topics[0].partitions) {
      EXPECT_EQ(partition.error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
      EXPECT_EQ(partition.leader_id, -1);
    }
  }
}

TEST_F(QuorumApiTest, LeaderReportsEveryVoterAndObserver) {
  use_fake_quorum(1);
  auto response = call<p::DescribeQuorumResponse>(describe_request(), 2);
  const auto& quorum = response.topics[0].partitions[0];
  EXPECT_EQ(quorum.error_code, 0);
  EXPECT_EQ(quorum.leader_epoch, 7);
  EXPECT_EQ(quorum.high_watermark, 120);
  ASSERT_EQ(quorum.current_voters.size(), 3u);
  EXPECT_EQ(quorum.current_voters[2].replica_id, 3);
  EXPECT_EQ(quorum.current_voters[2].log_end_offset, 40);
  EXPECT_EQ(quorum.current_voters[2].last_fetch_timestamp, 500);
  EXPECT_EQ(quorum.current_voters[2].last_caught_up_timestamp, 400);
  ASSERT_EQ(quorum.observers.size(), 1u);
  EXPECT_EQ(quorum.observers[0].replica_id, 4);
}

TEST_F(QuorumApiTest, FollowerAnswersNotLeaderNamingTheLeader) {
  use_fake_quorum(2);
  auto response = call<p::DescribeQuorumResponse>(describe_request(), 2);
  const auto& quorum = response.topics[0].partitions[0];
  EXPECT_EQ(quorum.error_code, to_wire(ErrorCode::kNotLeaderOrFollower));
  EXPECT_EQ(quorum.leader_id, 2);
  EXPECT_TRUE(quorum.current_voters.empty());
  EXPECT_EQ(call<p::AddRaftVoterResponse>(add_request(4), 0).error_code,
            to_wire(ErrorCode::kNotLeaderOrFollower));
  EXPECT_EQ(call<p::RemoveRaftVoterResponse>(remove_request(3), 0).error_code,
            to_wire(ErrorCode::kNotLeaderOrFollower));
  EXPECT_EQ(fake_.added_.id, -1);  // the quorum was not asked
  EXPECT_EQ(fake_.removed_, -1);
}

TEST_F(QuorumApiTest, ANodeOutsideTheQuorumSaysSoRatherThanAnElection) {
  use_fake_quorum(-1);
  auto during_election = call<p::DescribeQuorumResponse>(describe_request(), 2);
  EXPECT_NE(during_election.topics[0].partitions[0].error_message.value_or("").find(
                "an election is running"),
            std::string::npos);
  fake_.status_.voters = {{2, 0, -1, -1}, {3, 0, -1, -1}};  // node 1 was removed
  fake_.status_.observers.clear();
  auto removed = call<p::DescribeQuorumResponse>(describe_request(), 2);
  const auto& quorum = removed.topics[0].partitions[0];
  EXPECT_EQ(quorum.error_code, to_wire(ErrorCode::kNotLeaderOrFollower));
  EXPECT_NE(quorum.error_message.value_or("").find("node 1 is not a member of the metadata quorum"),
            std::string::npos)
      << quorum.error_message.value_or("");
}

TEST_F(QuorumApiTest, SingleNodeCannotChangeItsVoters) {
  auto add = call<p::AddRaftVoterResponse>(add_request(2), 0);
  EXPECT_EQ(add.error_code, to_wire(ErrorCode::kUnsupportedVersion));
  EXPECT_NE(add.error_message.value_or("").find("single-node"), std::string::npos);
  EXPECT_EQ(call<p::AddRaftVoterResponse>(add_request(1), 0).error_code,
            to_wire(ErrorCode::kDuplicateVoter));
  EXPECT_EQ(call<p::RemoveRaftVoterResponse>(remove_request(2), 0).error_code,
            to_wire(ErrorCode::kVoterNotFound));
  EXPECT_EQ(call<p::RemoveRaftVoterResponse>(remove_request(1), 0).error_code,
            to_wire(ErrorCode::kInvalidRequest));
}

TEST_F(QuorumApiTest, LeaderAddsAndRemovesThroughTheQuorum) {
  use_fake_quorum(1);
  auto request = add_request(4);
  p::AddRaftVoterRequest::Listener kafka;
  kafka.name = "PLAINTEXT";
  kafka.host = "127.0.0.1";
  kafka.port = 9095;
  request.listeners.insert(request.listeners.begin(), kafka);
  auto added = call<p::AddRaftVoterResponse>(request, 0);
  EXPECT_EQ(added.error_code, 0);
  EXPECT_EQ(fake_.added_.id, 4);
  EXPECT_EQ(fake_.added_.port, 19095);  // the CONTROLLER listener, not the Kafka one
  EXPECT_EQ(call<p::RemoveRaftVoterResponse>(remove_request(3), 0).error_code, 0);
  EXPECT_EQ(fake_.removed_, 3);

  fake_.answer_ = Status(Error{ErrorCode::kRequestTimedOut, "node 4 did not catch up"});
  auto timed_out = call<p::AddRaftVoterResponse>(add_request(4), 0);
  EXPECT_EQ(timed_out.error_code, to_wire(ErrorCode::kRequestTimedOut));
  EXPECT_EQ(timed_out.error_message, "node 4 did not catch up");
}

TEST_F(QuorumApiTest, BadVoterRequestsAreRefusedBeforeTheQuorumIsAsked) {
  use_fake_quorum(1);
  auto other_cluster = add_request(4);
  other_cluster.cluster_id = "another-cluster";
  EXPECT_EQ(call<p::AddRaftVoterResponse>(other_cluster, 0).error_code,
            to_wire(ErrorCode::kInconsistentClusterId));
  auto remove_other = remove_request(3);
  remove_other.cluster_id = "another-cluster";
  EXPECT_EQ(call<p::RemoveRaftVoterResponse>(remove_other, 0).error_code,
            to_wire(ErrorCode::kInconsistentClusterId));
  auto no_listener = add_request(4);
  no_listener.listeners.clear();
  EXPECT_EQ(call<p::AddRaftVoterResponse>(no_listener, 0).error_code,
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(call<p::AddRaftVoterResponse>(add_request(-5), 0).error_code,
            to_wire(ErrorCode::kInvalidRequest));
  EXPECT_EQ(fake_.added_.id, -1);
  EXPECT_EQ(fake_.removed_, -1);

  auto same_cluster = add_request(4);
  same_cluster.cluster_id = controller_->image()->cluster_id;
  EXPECT_EQ(call<p::AddRaftVoterResponse>(same_cluster, 0).error_code, 0);
}

p::CreateTopicsRequest create_request(const std::string& name) {
  p::CreateTopicsRequest request;
  p::CreateTopicsRequest::CreatableTopic topic;
  topic.name = name;
  topic.num_partitions = 1;
  topic.replication_factor = 1;
  request.topics.push_back(topic);
  return request;
}

TEST_F(QuorumApiTest, AdminChangesElsewhereThanTheControllerAnswerNotController) {
  ASSERT_EQ(call<p::CreateTopicsResponse>(create_request("orders"), 5).topics[0].error_code, 0);
  use_fake_quorum(2);  // node 2 is the active controller, not this node (1)
  const int16_t not_controller = to_wire(ErrorCode::kNotController);

  auto created = call<p::CreateTopicsResponse>(create_request("payments"), 5);
  EXPECT_EQ(created.topics[0].error_code, not_controller);
  EXPECT_NE(created.topics[0].error_message.value_or("").find("node 2 is"), std::string::npos);
  EXPECT_EQ(controller_->image()->find("payments"), nullptr);

  p::DeleteTopicsRequest remove;
  remove.topic_names = {"orders"};
  EXPECT_EQ(call<p::DeleteTopicsResponse>(remove, 4).responses[0].error_code, not_controller);

  p::CreatePartitionsRequest grow;
  grow.topics.push_back({"orders", 3, std::nullopt, {}});
  EXPECT_EQ(call<p::CreatePartitionsResponse>(grow, 1).results[0].error_code, not_controller);

  p::AlterConfigsRequest alter;
  p::AlterConfigsRequest::AlterConfigsResource resource;
  resource.resource_type = 2;  // topic
  resource.resource_name = "orders";
  resource.configs.push_back({"retention.ms", std::string("1000"), {}});
  alter.resources.push_back(resource);
  EXPECT_EQ(call<p::AlterConfigsResponse>(alter, 1).responses[0].error_code, not_controller);

  p::IncrementalAlterConfigsRequest incremental;
  p::IncrementalAlterConfigsRequest::AlterConfigsResource changes;
  changes.resource_type = 2;
  changes.resource_name = "orders";
  changes.configs.push_back({"retention.ms", 0, std::string("1000"), {}});
  incremental.resources.push_back(changes);
  EXPECT_EQ(call<p::IncrementalAlterConfigsResponse>(incremental, 1).responses[0].error_code,
            not_controller);

  // Nothing changed; reads still work here.
  EXPECT_EQ(controller_->image()->find("orders")->partition_count, 1);
  EXPECT_TRUE(controller_->image()->find("orders")->configs.empty());
  p::MetadataRequest all_topics;
  all_topics.topics = std::nullopt;
  auto metadata = call<p::MetadataResponse>(all_topics, 12);
  ASSERT_EQ(metadata.topics.size(), 1u);
  EXPECT_EQ(metadata.controller_id, 2);
}

TEST_F(QuorumApiTest, ControllerIdIsTheQuorumLeader) {
  EXPECT_EQ(call<p::MetadataResponse>(p::MetadataRequest{}, 12).controller_id, 1);
  use_fake_quorum(3);
  EXPECT_EQ(call<p::MetadataResponse>(p::MetadataRequest{}, 12).controller_id, 3);
  p::DescribeClusterRequest describe;
  describe.endpoint_type = 1;
  EXPECT_EQ(call<p::DescribeClusterResponse>(describe, 1).controller_id, 3);
  fake_.status_.leader_id = -1;  // an election is running
  EXPECT_EQ(call<p::MetadataResponse>(p::MetadataRequest{}, 12).controller_id, -1);
}

}  // namespace
}  // namespace fjord::broker
