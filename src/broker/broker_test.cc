// In-process tests of the Kafka API handlers: real shards, real storage in a
// temporary directory, requests encoded with the generated code, no sockets.
// The real-client tests (tests/integration) are the evidence of compatibility;
// these pin down error codes and edge cases precisely.
#include "broker/test_broker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <deque>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "protocol/generated/api_messages.h"
#include "protocol/generated/api_versions_request.h"
#include "protocol/generated/api_versions_response.h"
#include "protocol/generated/create_topics_request.h"
#include "protocol/generated/create_topics_response.h"
#include "protocol/generated/delete_records_request.h"
#include "protocol/generated/delete_records_response.h"
#include "protocol/generated/delete_groups_request.h"
#include "protocol/generated/delete_groups_response.h"
#include "protocol/generated/delete_topics_request.h"
#include "protocol/generated/delete_topics_response.h"
#include "protocol/generated/describe_groups_request.h"
#include "protocol/generated/describe_groups_response.h"
#include "protocol/generated/fetch_request.h"
#include "protocol/generated/find_coordinator_request.h"
#include "protocol/generated/find_coordinator_response.h"
#include "protocol/generated/heartbeat_request.h"
#include "protocol/generated/heartbeat_response.h"
#include "protocol/generated/join_group_request.h"
#include "protocol/generated/join_group_response.h"
#include "protocol/generated/list_groups_request.h"
#include "protocol/generated/list_groups_response.h"
#include "protocol/generated/offset_commit_request.h"
#include "protocol/generated/offset_commit_response.h"
#include "protocol/generated/offset_fetch_request.h"
#include "protocol/generated/offset_fetch_response.h"
#include "protocol/generated/sync_group_request.h"
#include "protocol/generated/sync_group_response.h"
#include "protocol/generated/fetch_response.h"
#include "protocol/generated/list_offsets_request.h"
#include "protocol/generated/list_offsets_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/produce_request.h"
#include "protocol/generated/produce_response.h"
#include "protocol/generated/request_header.h"
#include "records/batch.h"
#include "records/builder.h"

namespace fjord::broker {
namespace {

namespace p = protocol;

class BrokerTest : public InProcessBrokerTest {
 protected:
  void SetUp() override {
    use_temp_dir("fjord-broker-");
    config_.num_partitions = 2;
    config_.offsets_topic_partitions = 4;
    config_.group_limits.initial_rebalance_delay_ms = 0;
    start();
  }

  p::CreateTopicsResponse create(const std::string& name, int32_t partitions,
                                 std::vector<std::pair<std::string, std::string>> configs = {}) {
    p::CreateTopicsRequest request;
    p::CreateTopicsRequest::CreatableTopic topic;
    topic.name = name;
    topic.num_partitions = partitions;
    topic.replication_factor = 1;
    for (auto& [k, v] : configs) {
      p::CreateTopicsRequest::CreatableTopicConfig c;
      c.name = k;
      c.value = v;
      topic.configs.push_back(c);
    }
    request.topics.push_back(topic);
    return call<p::CreateTopicsResponse>(request, 7);
  }

  std::vector<uint8_t> batch_of(const std::vector<std::string>& values, int64_t timestamp_ms) {
    records::BatchBuilder builder;
    for (const auto& v : values) {
      EXPECT_TRUE(builder.append(timestamp_ms, records::as_bytes("k"), records::as_bytes(v)).ok());
    }
    auto built = builder.build();
    EXPECT_TRUE(built.ok());
    return {built->begin(), built->end()};
  }

  p::ProduceResponse produce(const std::string& topic, int32_t partition,
                             std::vector<uint8_t>& batch, int16_t acks = -1) {
    p::ProduceRequest request;
    request.acks = acks;
    request.timeout_ms = 30000;
    p::ProduceRequest::TopicProduceData data;
    data.name = topic;
    p::ProduceRequest::PartitionProduceData part;
    part.index = partition;
    part.records = p::Records::from_bytes(batch);
    data.partition_data.push_back(part);
    request.topic_data.push_back(data);
    return call<p::ProduceResponse>(request, 7);
  }

  p::FetchResponse fetch(const std::string& topic, int32_t partition, int64_t offset,
                         int32_t max_wait_ms = 0, int32_t min_bytes = 1) {
    p::FetchRequest request;
    request.max_wait_ms = max_wait_ms;
    request.min_bytes = min_bytes;
    request.max_bytes = 1 << 20;
    p::FetchRequest::FetchTopic t;
    t.topic = topic;
    p::FetchRequest::FetchPartition part;
    part.partition = partition;
    part.fetch_offset = offset;
    part.partition_max_bytes = 1 << 20;
    t.partitions.push_back(part);
    request.topics.push_back(t);
    return call<p::FetchResponse>(request, 11);
  }

};

TEST_F(BrokerTest, ApiVersionsAdvertisesOldMinimumsAndNoUnstableVersions) {
  auto response = call<p::ApiVersionsResponse>(p::ApiVersionsRequest{}, 3);
  EXPECT_EQ(response.error_code, 0);
  std::map<int16_t, std::pair<int16_t, int16_t>> ranges;
  for (const auto& api : response.api_keys) ranges[api.api_key] = {api.min_version, api.max_version};
  EXPECT_EQ(ranges.at(0).first, 3);    // Produce v3: record format v2 in librdkafka
  EXPECT_EQ(ranges.at(1).first, 4);    // Fetch v4
  EXPECT_EQ(ranges.at(10).first, 0);   // FindCoordinator v0 gates LZ4 in librdkafka 2.0.2
  EXPECT_EQ(ranges.at(3).first, 0);
  EXPECT_EQ(ranges.at(3).second, 12);
  for (const auto& [key, range] : ranges) {
    EXPECT_LE(range.second, p::kApis[key].max_version);
    if (p::kApis[key].latest_version_unstable) {
      EXPECT_LT(range.second, p::kApis[key].max_version);
    }
  }
}

TEST_F(BrokerTest, UnknownApiVersionsVersionGetsV0ResponseWithUnsupportedVersion) {
  auto frame = frame_of(18, 3, p::ApiVersionsRequest{});
  frame[2] = 0;
  frame[3] = 99;  // version 99
  auto result = send(frame);
  ASSERT_EQ(result.kind, net::HandlerResult::Kind::kRespond);
  p::Reader r(result.response.bytes);
  EXPECT_EQ(r.read_int32(), 42);
  p::ApiVersionsResponse response;
  response.decode(r, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(response.error_code, to_wire(ErrorCode::kUnsupportedVersion));
  bool lists_api_versions = false;
  for (const auto& api : response.api_keys) lists_api_versions |= api.api_key == 18;
  EXPECT_TRUE(lists_api_versions);
}

TEST_F(BrokerTest, UnknownApiKeyAndMalformedBodiesCloseTheConnection) {
  auto frame = frame_of(18, 3, p::ApiVersionsRequest{});
  frame[0] = 0x7f;  // api key 32512
  EXPECT_EQ(send(frame).kind, net::HandlerResult::Kind::kClose);
  auto truncated = frame_of(19, 4, p::CreateTopicsRequest{});
  truncated.erase(truncated.end() - 2, truncated.end());
  EXPECT_EQ(send(truncated).kind, net::HandlerResult::Kind::kClose);
  EXPECT_EQ(send({0x00}).kind, net::HandlerResult::Kind::kClose);
}

TEST_F(BrokerTest, CreateTopicsReportsEachTopicsError) {
  auto ok = create("orders", 3, {{"retention.ms", "1000"}});
  ASSERT_EQ(ok.topics.size(), 1u);
  EXPECT_EQ(ok.topics[0].error_code, 0);
  EXPECT_EQ(ok.topics[0].num_partitions, 3);
  EXPECT_EQ(create("orders", 3).topics[0].error_code, to_wire(ErrorCode::kTopicAlreadyExists));
  EXPECT_EQ(create("bad/name", 1).topics[0].error_code, to_wire(ErrorCode::kInvalidTopicException));
  EXPECT_EQ(create("x", 1, {{"retention.ms", "never"}}).topics[0].error_code,
            to_wire(ErrorCode::kInvalidConfig));
  EXPECT_EQ(create("y", 1, {{"no.such.key", "1"}}).topics[0].error_code,
            to_wire(ErrorCode::kInvalidConfig));
}

TEST_F(BrokerTest, MetadataAutoCreatesTopicsWithNumPartitions) {
  p::MetadataRequest request;
  p::MetadataRequest::MetadataRequestTopic topic;
  topic.name = "auto";
  request.topics = std::vector{topic};
  request.allow_auto_topic_creation = true;
  auto response = call<p::MetadataResponse>(request, 12);
  ASSERT_EQ(response.topics.size(), 1u);
  EXPECT_EQ(response.topics[0].error_code, 0);
  EXPECT_EQ(response.topics[0].partitions.size(), 2u);
  EXPECT_EQ(response.controller_id, 1);
  ASSERT_EQ(response.brokers.size(), 1u);
  EXPECT_EQ(response.brokers[0].port, 9092);

  request.allow_auto_topic_creation = false;
  request.topics->at(0).name = "not-created";
  response = call<p::MetadataResponse>(request, 12);
  EXPECT_EQ(response.topics[0].error_code, to_wire(ErrorCode::kUnknownTopicOrPartition));
}

TEST_F(BrokerTest, ProduceThenFetchReturnsTheSameBytesWithAssignedOffsets) {
  ASSERT_EQ(create("t", 1).topics[0].error_code, 0);
  auto first = batch_of({"a", "b", "c"}, 1000);
  auto second = batch_of({"d"}, 2000);
  auto r1 = produce("t", 0, first);
  auto r2 = produce("t", 0, second);
  ASSERT_EQ(r1.responses[0].partition_responses[0].error_code, 0);
  EXPECT_EQ(r1.responses[0].partition_responses[0].base_offset, 0);
  EXPECT_EQ(r2.responses[0].partition_responses[0].base_offset, 3);

  auto fetched = fetch("t", 0, 0);
  const auto& data = fetched.responses[0].partitions[0];
  EXPECT_EQ(data.error_code, 0);
  EXPECT_EQ(data.high_watermark, 4);
  EXPECT_EQ(data.last_stable_offset, 4);
  std::vector<uint8_t> expected = first;
  records::set_base_offset(expected, 0);
  std::vector<uint8_t> expected_second = second;
  records::set_base_offset(expected_second, 3);
  expected.insert(expected.end(), expected_second.begin(), expected_second.end());
  // Only the base offset differs from what the producer sent (it sent 0).
  ASSERT_EQ(data.records.bytes.size(), expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), data.records.bytes.begin()));

  EXPECT_EQ(fetch("t", 0, 99).responses[0].partitions[0].error_code,
            to_wire(ErrorCode::kOffsetOutOfRange));
  EXPECT_EQ(fetch("missing", 0, 0).responses[0].partitions[0].error_code,
            to_wire(ErrorCode::kUnknownTopicOrPartition));
}

TEST_F(BrokerTest, ProduceRejectsCorruptBatchesAndStoresNothing) {
  ASSERT_EQ(create("t", 1).topics[0].error_code, 0);
  auto batch = batch_of({"x"}, 1000);
  batch.back() ^= 0xff;  // breaks the CRC
  auto response = produce("t", 0, batch);
  EXPECT_EQ(response.responses[0].partition_responses[0].error_code,
            to_wire(ErrorCode::kCorruptMessage));
  EXPECT_EQ(fetch("t", 0, 0).responses[0].partitions[0].high_watermark, 0);
  auto good = batch_of({"y"}, 1000);
  EXPECT_EQ(produce("t", 7, good).responses[0].partition_responses[0].error_code,
            to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(produce("t", 0, good, 2).responses[0].partition_responses[0].error_code,
            to_wire(ErrorCode::kInvalidRequiredAcks));
}

TEST_F(BrokerTest, MinInsyncReplicasAboveOneRefusesAcksAll) {
  ASSERT_EQ(create("t", 1, {{"min.insync.replicas", "2"}}).topics[0].error_code, 0);
  auto batch = batch_of({"x"}, 1000);
  EXPECT_EQ(produce("t", 0, batch).responses[0].partition_responses[0].error_code,
            to_wire(ErrorCode::kNotEnoughReplicas));
  auto again = batch_of({"x"}, 1000);
  EXPECT_EQ(produce("t", 0, again, 1).responses[0].partition_responses[0].error_code, 0);
}

TEST_F(BrokerTest, AcksZeroGetsNoResponse) {
  ASSERT_EQ(create("t", 1).topics[0].error_code, 0);
  auto batch = batch_of({"x"}, 1000);
  p::ProduceRequest request;
  request.acks = 0;
  request.timeout_ms = 1000;
  p::ProduceRequest::TopicProduceData data;
  data.name = "t";
  p::ProduceRequest::PartitionProduceData part;
  part.index = 0;
  part.records = p::Records::from_bytes(batch);
  data.partition_data.push_back(part);
  request.topic_data.push_back(data);
  EXPECT_EQ(send(frame_of(0, 7, request)).kind, net::HandlerResult::Kind::kNoResponse);
}

TEST_F(BrokerTest, ListOffsetsAndDeleteRecords) {
  ASSERT_EQ(create("t", 1).topics[0].error_code, 0);
  auto b1 = batch_of({"a", "b"}, 1000);
  auto b2 = batch_of({"c", "d"}, 5000);
  produce("t", 0, b1);
  produce("t", 0, b2);
  auto list = [&](int64_t timestamp) {
    p::ListOffsetsRequest request;
    request.replica_id = -1;
    p::ListOffsetsRequest::ListOffsetsTopic t;
    t.name = "t";
    p::ListOffsetsRequest::ListOffsetsPartition part;
    part.partition_index = 0;
    part.timestamp = timestamp;
    t.partitions.push_back(part);
    request.topics.push_back(t);
    return call<p::ListOffsetsResponse>(request, 7).topics[0].partitions[0];
  };
  EXPECT_EQ(list(-2).offset, 0);
  EXPECT_EQ(list(-1).offset, 4);
  EXPECT_EQ(list(4000).offset, 2);
  EXPECT_EQ(list(9000).offset, -1);
  EXPECT_EQ(list(-3).timestamp, 5000);

  p::DeleteRecordsRequest request;
  p::DeleteRecordsRequest::DeleteRecordsTopic t;
  t.name = "t";
  p::DeleteRecordsRequest::DeleteRecordsPartition part;
  part.partition_index = 0;
  part.offset = 2;
  t.partitions.push_back(part);
  request.topics.push_back(t);
  auto deleted = call<p::DeleteRecordsResponse>(request, 2);
  EXPECT_EQ(deleted.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(deleted.topics[0].partitions[0].low_watermark, 2);
  EXPECT_EQ(list(-2).offset, 2);
  EXPECT_EQ(fetch("t", 0, 0).responses[0].partitions[0].error_code,
            to_wire(ErrorCode::kOffsetOutOfRange));
  request.topics[0].partitions[0].offset = 99;
  EXPECT_EQ(call<p::DeleteRecordsResponse>(request, 2).topics[0].partitions[0].error_code,
            to_wire(ErrorCode::kOffsetOutOfRange));
}

TEST_F(BrokerTest, LongPollingFetchIsWokenByProduce) {
  ASSERT_EQ(create("t", 1).topics[0].error_code, 0);
  auto waiting = std::async(std::launch::async, [&] { return fetch("t", 0, 0, 30000, 1); });
  // Give the fetch time to register its waiter; correctness does not depend on it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto batch = batch_of({"wake"}, 1000);
  produce("t", 0, batch);
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(20)), std::future_status::ready)
      << "the fetch was not woken by the produce";
  EXPECT_EQ(waiting.get().responses[0].partitions[0].high_watermark, 1);
}

TEST_F(BrokerTest, TopicsAndDataSurviveARestart) {
  ASSERT_EQ(create("t", 2).topics[0].error_code, 0);
  auto batch = batch_of({"persisted"}, 1000);
  produce("t", 1, batch);
  stop();
  start();
  auto fetched = fetch("t", 1, 0);
  EXPECT_EQ(fetched.responses[0].partitions[0].high_watermark, 1);
  EXPECT_GT(fetched.responses[0].partitions[0].records.bytes.size(), 0u);
}


// --- Consumer groups -----------------------------------------------------------

class GroupApiTest : public BrokerTest {
 protected:
  p::FindCoordinatorResponse find_coordinator(const std::string& group) {
    p::FindCoordinatorRequest request;
    request.key = group;
    return call<p::FindCoordinatorResponse>(request, 2);
  }

  p::JoinGroupResponse join(const std::string& group, const std::string& member_id) {
    p::JoinGroupRequest request;
    request.group_id = group;
    request.session_timeout_ms = 10000;
    request.rebalance_timeout_ms = 10000;
    request.member_id = member_id;
    request.protocol_type = "consumer";
    p::JoinGroupRequest::JoinGroupRequestProtocol protocol;
    protocol.name = "range";
    protocol.metadata = {1, 2, 3};
    request.protocols.push_back(protocol);
    return call<p::JoinGroupResponse>(request, 5);
  }

  p::SyncGroupResponse sync(const std::string& group, int32_t generation,
                            const std::string& member_id, std::vector<uint8_t> assignment) {
    p::SyncGroupRequest request;
    request.group_id = group;
    request.generation_id = generation;
    request.member_id = member_id;
    p::SyncGroupRequest::SyncGroupRequestAssignment entry;
    entry.member_id = member_id;
    entry.assignment = std::move(assignment);
    request.assignments.push_back(entry);
    return call<p::SyncGroupResponse>(request, 3);
  }

  p::OffsetCommitResponse commit(const std::string& group, int32_t generation,
                                 const std::string& member_id, const std::string& topic,
                                 int32_t partition, int64_t offset, std::string metadata = "m") {
    p::OffsetCommitRequest request;
    request.group_id = group;
    request.generation_id_or_member_epoch = generation;
    request.member_id = member_id;
    p::OffsetCommitRequest::OffsetCommitRequestTopic entry;
    entry.name = topic;
    p::OffsetCommitRequest::OffsetCommitRequestPartition part;
    part.partition_index = partition;
    part.committed_offset = offset;
    part.committed_metadata = std::move(metadata);
    entry.partitions.push_back(part);
    request.topics.push_back(entry);
    return call<p::OffsetCommitResponse>(request, 7);
  }

  // (offset, metadata) committed for topic-partition, via OffsetFetch v5.
  std::pair<int64_t, std::string> fetch_offset(const std::string& group, const std::string& topic,
                                               int32_t partition) {
    p::OffsetFetchRequest request;
    request.group_id = group;
    p::OffsetFetchRequest::OffsetFetchRequestTopic entry;
    entry.name = topic;
    entry.partition_indexes = {partition};
    request.topics = std::vector<p::OffsetFetchRequest::OffsetFetchRequestTopic>{entry};
    auto response = call<p::OffsetFetchResponse>(request, 5);
    EXPECT_EQ(response.error_code, 0);
    if (response.topics.size() != 1 || response.topics[0].partitions.size() != 1) return {-2, ""};
    const auto& fetched = response.topics[0].partitions[0];
    return {fetched.committed_offset, fetched.metadata.value_or("")};
  }

  // A one-member group, Stable: returns (member id, generation).
  std::pair<std::string, int32_t> form_group(const std::string& group) {
    auto first = join(group, "");
    EXPECT_EQ(first.error_code, to_wire(ErrorCode::kMemberIdRequired));
    auto joined = join(group, first.member_id);
    EXPECT_EQ(joined.error_code, 0);
    EXPECT_EQ(joined.leader, joined.member_id);
    EXPECT_EQ(joined.members.size(), 1u);
    auto synced = sync(group, joined.generation_id, joined.member_id, {9, 9});
    EXPECT_EQ(synced.error_code, 0);
    EXPECT_EQ(synced.assignment, (std::vector<uint8_t>{9, 9}));
    return {joined.member_id, joined.generation_id};
  }
};

TEST_F(GroupApiTest, FindCoordinatorCreatesTheInternalOffsetsTopic) {
  auto found = find_coordinator("g1");
  EXPECT_EQ(found.error_code, 0);
  EXPECT_EQ(found.node_id, config_.node_id);
  EXPECT_EQ(found.port, 9092);

  p::FindCoordinatorRequest batched;
  batched.key_type = 0;
  batched.coordinator_keys = {"a", "b"};
  auto both = call<p::FindCoordinatorResponse>(batched, 4);
  ASSERT_EQ(both.coordinators.size(), 2u);
  EXPECT_EQ(both.coordinators[1].key, "b");
  EXPECT_EQ(both.coordinators[1].error_code, 0);

  p::MetadataRequest request;
  request.topics = std::vector<p::MetadataRequest::MetadataRequestTopic>{};
  request.topics->emplace_back().name = std::string(kOffsetsTopic);
  auto metadata = call<p::MetadataResponse>(request, 4);
  ASSERT_EQ(metadata.topics.size(), 1u);
  EXPECT_EQ(metadata.topics[0].error_code, 0);
  EXPECT_TRUE(metadata.topics[0].is_internal);
  EXPECT_EQ(metadata.topics[0].partitions.size(), 4u);
}

TEST_F(GroupApiTest, TheOffsetsTopicRefusesProduceAndDeletion) {
  ASSERT_EQ(find_coordinator("g1").error_code, 0);
  auto batch = batch_of({"forged"}, wall_clock_ms());
  auto produced = produce(std::string(kOffsetsTopic), 0, batch);
  EXPECT_EQ(produced.responses[0].partition_responses[0].error_code,
            to_wire(ErrorCode::kInvalidTopicException));
  p::DeleteTopicsRequest request;
  request.topic_names = {std::string(kOffsetsTopic)};
  auto deleted = call<p::DeleteTopicsResponse>(request, 4);
  EXPECT_EQ(deleted.responses[0].error_code, to_wire(ErrorCode::kInvalidRequest));
}

TEST_F(GroupApiTest, AGroupAndItsOffsetsSurviveARestart) {
  create("orders", 2);
  ASSERT_EQ(find_coordinator("g1").error_code, 0);
  auto [member, generation] = form_group("g1");
  auto committed = commit("g1", generation, member, "orders", 1, 42);
  EXPECT_EQ(committed.topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(fetch_offset("g1", "orders", 1), (std::pair<int64_t, std::string>{42, "m"}));

  stop();
  start();

  EXPECT_EQ(fetch_offset("g1", "orders", 1), (std::pair<int64_t, std::string>{42, "m"}));
  p::HeartbeatRequest beat;
  beat.group_id = "g1";
  beat.generation_id = generation;
  beat.member_id = member;
  EXPECT_EQ(call<p::HeartbeatResponse>(beat, 3).error_code, 0);
  p::DescribeGroupsRequest describe;
  describe.groups = {"g1"};
  auto described = call<p::DescribeGroupsResponse>(describe, 4);
  ASSERT_EQ(described.groups.size(), 1u);
  EXPECT_EQ(described.groups[0].group_state, "Stable");
  EXPECT_EQ(described.groups[0].protocol_data, "range");
  ASSERT_EQ(described.groups[0].members.size(), 1u);
  EXPECT_EQ(described.groups[0].members[0].member_assignment, (std::vector<uint8_t>{9, 9}));
}

TEST_F(GroupApiTest, CommitErrorsArePerPartition) {
  create("orders", 2);
  ASSERT_EQ(find_coordinator("g1").error_code, 0);
  auto [member, generation] = form_group("g1");
  EXPECT_EQ(commit("g1", generation, member, "nope", 0, 1).topics[0].partitions[0].error_code,
            to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(commit("g1", generation, member, "orders", 2, 1).topics[0].partitions[0].error_code,
            to_wire(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(commit("g1", generation, member, "orders", 0, 1, std::string(5000, 'x'))
                .topics[0].partitions[0].error_code,
            to_wire(ErrorCode::kOffsetMetadataTooLarge));
  EXPECT_EQ(commit("g1", generation + 1, member, "orders", 0, 1).topics[0].partitions[0].error_code,
            to_wire(ErrorCode::kIllegalGeneration));
  EXPECT_EQ(commit("g1", generation, "stranger", "orders", 0, 1).topics[0].partitions[0].error_code,
            to_wire(ErrorCode::kUnknownMemberId));
  EXPECT_EQ(commit("", -1, "", "orders", 0, 1).topics[0].partitions[0].error_code,
            to_wire(ErrorCode::kInvalidGroupId));
  // None of these changed what is committed.
  EXPECT_EQ(fetch_offset("g1", "orders", 0).first, -1);
}

TEST_F(GroupApiTest, ListAndDeleteGroups) {
  create("orders", 1);
  ASSERT_EQ(find_coordinator("g1").error_code, 0);
  form_group("busy");
  EXPECT_EQ(commit("idle", -1, "", "orders", 0, 5).topics[0].partitions[0].error_code, 0);

  p::ListGroupsRequest list;
  list.states_filter = {"stable"};
  auto stable = call<p::ListGroupsResponse>(list, 4);
  ASSERT_EQ(stable.groups.size(), 1u);
  EXPECT_EQ(stable.groups[0].group_id, "busy");
  EXPECT_EQ(stable.groups[0].group_state, "Stable");
  auto all = call<p::ListGroupsResponse>(p::ListGroupsRequest{}, 2);
  EXPECT_EQ(all.groups.size(), 2u);

  p::DeleteGroupsRequest request;
  request.groups_names = {"busy", "idle", "ghost"};
  auto deleted = call<p::DeleteGroupsResponse>(request, 1);
  ASSERT_EQ(deleted.results.size(), 3u);
  EXPECT_EQ(deleted.results[0].error_code, to_wire(ErrorCode::kNonEmptyGroup));
  EXPECT_EQ(deleted.results[1].error_code, 0);
  EXPECT_EQ(deleted.results[2].error_code, to_wire(ErrorCode::kGroupIdNotFound));
  EXPECT_EQ(fetch_offset("idle", "orders", 0).first, -1);

  stop();
  start();
  EXPECT_EQ(fetch_offset("idle", "orders", 0).first, -1);  // the tombstone is durable
  EXPECT_EQ(call<p::ListGroupsResponse>(p::ListGroupsRequest{}, 2).groups.size(), 1u);
}

}  // namespace
}  // namespace fjord::broker
