// Broker: answers Kafka requests. It implements the network layer's
// RequestHandler and knows nothing of sockets: a request frame comes in, a
// response message goes out. One member function per API, spread over
// api_*.cc files; partition work runs on the owning shard (PartitionManager).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>
#include <span>

#include "broker/cluster_view.h"
#include "broker/group_coordinator.h"
#include "broker/node.h"
#include "broker/partition_manager.h"
#include "broker/quorum.h"
#include "broker/txn_coordinator.h"
#include "common/host_port.h"
#include "metadata/controller.h"
#include "net/request_handler.h"
#include "protocol/frame.h"

namespace fjord::protocol {
struct BrokerHeartbeatRequest;
struct BrokerHeartbeatResponse;
struct BrokerRegistrationRequest;
struct BrokerRegistrationResponse;
struct ProduceRequest;
struct ProduceResponse;
struct FetchRequest;
struct FetchResponse;
struct ListOffsetsRequest;
struct ListOffsetsResponse;
struct MetadataRequest;
struct MetadataResponse;
struct ApiVersionsRequest;
struct ApiVersionsResponse;
struct CreateTopicsRequest;
struct CreateTopicsResponse;
struct DeleteTopicsRequest;
struct DeleteTopicsResponse;
struct CreatePartitionsRequest;
struct CreatePartitionsResponse;
struct DescribeConfigsRequest;
struct DescribeConfigsResponse;
struct AlterConfigsRequest;
struct AlterConfigsResponse;
struct IncrementalAlterConfigsRequest;
struct IncrementalAlterConfigsResponse;
struct DeleteRecordsRequest;
struct DeleteRecordsResponse;
struct DescribeClusterRequest;
struct DescribeClusterResponse;
struct DescribeLogDirsRequest;
struct DescribeLogDirsResponse;
struct FindCoordinatorRequest;
struct FindCoordinatorResponse;
struct JoinGroupRequest;
struct JoinGroupResponse;
struct SyncGroupRequest;
struct SyncGroupResponse;
struct HeartbeatRequest;
struct HeartbeatResponse;
struct LeaveGroupRequest;
struct LeaveGroupResponse;
struct OffsetCommitRequest;
struct OffsetCommitResponse;
struct OffsetFetchRequest;
struct OffsetFetchResponse;
struct ListGroupsRequest;
struct ListGroupsResponse;
struct DescribeGroupsRequest;
struct DescribeGroupsResponse;
struct DeleteGroupsRequest;
struct DeleteGroupsResponse;
struct OffsetDeleteRequest;
struct OffsetDeleteResponse;
struct TxnOffsetCommitRequest;
struct TxnOffsetCommitResponse;
struct InitProducerIdRequest;
struct InitProducerIdResponse;
struct AddPartitionsToTxnRequest;
struct AddPartitionsToTxnResponse;
struct AddOffsetsToTxnRequest;
struct AddOffsetsToTxnResponse;
struct EndTxnRequest;
struct EndTxnResponse;
struct WriteTxnMarkersRequest;
struct WriteTxnMarkersResponse;
struct AllocateProducerIdsRequest;
struct AllocateProducerIdsResponse;
struct DescribeTransactionsRequest;
struct DescribeTransactionsResponse;
struct ListTransactionsRequest;
struct ListTransactionsResponse;
struct DescribeProducersRequest;
struct DescribeProducersResponse;
struct DescribeQuorumRequest;
struct DescribeQuorumResponse;
struct AddRaftVoterRequest;
struct AddRaftVoterResponse;
struct RemoveRaftVoterRequest;
struct RemoveRaftVoterResponse;
}  // namespace fjord::protocol

namespace fjord::broker {

struct RequestContext {
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::string client_id;
  const net::ConnectionInfo* connection = nullptr;
};

class Broker final : public net::RequestHandler {
 public:
  Broker(const NodeConfig& config, metadata::Controller& controller, PartitionManager& partitions,
         GroupCoordinator& groups, TxnCoordinator& txns, Quorum& quorum);

  // The port clients are told to use (known once the listener is bound).
  void set_advertised_port(uint16_t port) { advertised_port_ = port; }

  boost::asio::awaitable<net::HandlerResult> handle(std::vector<uint8_t> frame,
                                                    const net::ConnectionInfo& connection) override;

  // The API ranges this broker advertises in ApiVersions (and accepts).
  struct ApiRange {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
  };
  static std::span<const ApiRange> supported_apis();

 private:
  // Every API entry point has this shape: header, body, context in; response out.
  using Dispatch = boost::asio::awaitable<net::HandlerResult> (Broker::*)(
      const protocol::RequestHeaderView&, std::span<const uint8_t>, const RequestContext&);
  static Dispatch dispatch_for(int16_t api_key);

  // The request and response types of a handler `awaitable<Response> (Broker::*)(ctx, Request&)`.
  template <typename Fn>
  struct ApiTraits;
  template <typename Req, typename Resp>
  struct ApiTraits<boost::asio::awaitable<Resp> (Broker::*)(const RequestContext&, Req&)> {
    using Request = Req;
    using Response = Resp;
  };

  // Decodes the request, runs Handler, encodes the response; a request that
  // does not decode closes the connection.
  template <auto Handler>
  boost::asio::awaitable<net::HandlerResult> serve_api(const protocol::RequestHeaderView& header,
                                                       std::span<const uint8_t> body,
                                                       const RequestContext& context);
  net::HandlerResult unsupported_api_versions(const protocol::RequestHeaderView& header);

  boost::asio::awaitable<net::HandlerResult> produce(const protocol::RequestHeaderView& header,
                                                     std::span<const uint8_t> body,
                                                     const RequestContext& context);
  boost::asio::awaitable<protocol::ProduceResponse> produce_partitions(const RequestContext&,
                                                                       protocol::ProduceRequest&);
  boost::asio::awaitable<protocol::FetchResponse> fetch(const RequestContext&,
                                                        protocol::FetchRequest&);
  boost::asio::awaitable<protocol::ListOffsetsResponse> list_offsets(const RequestContext&,
                                                                     protocol::ListOffsetsRequest&);
  boost::asio::awaitable<protocol::MetadataResponse> metadata(const RequestContext&,
                                                              protocol::MetadataRequest&);
  boost::asio::awaitable<protocol::FindCoordinatorResponse> find_coordinator(
      const RequestContext&, protocol::FindCoordinatorRequest&);
  boost::asio::awaitable<protocol::ApiVersionsResponse> api_versions(const RequestContext&,
                                                                     protocol::ApiVersionsRequest&);
  boost::asio::awaitable<protocol::CreateTopicsResponse> create_topics(
      const RequestContext&, protocol::CreateTopicsRequest&);
  boost::asio::awaitable<protocol::DeleteTopicsResponse> delete_topics(
      const RequestContext&, protocol::DeleteTopicsRequest&);
  boost::asio::awaitable<protocol::CreatePartitionsResponse> create_partitions(
      const RequestContext&, protocol::CreatePartitionsRequest&);
  boost::asio::awaitable<protocol::DescribeConfigsResponse> describe_configs(
      const RequestContext&, protocol::DescribeConfigsRequest&);
  boost::asio::awaitable<protocol::AlterConfigsResponse> alter_configs(
      const RequestContext&, protocol::AlterConfigsRequest&);
  boost::asio::awaitable<protocol::IncrementalAlterConfigsResponse> incremental_alter_configs(
      const RequestContext&, protocol::IncrementalAlterConfigsRequest&);
  boost::asio::awaitable<protocol::DeleteRecordsResponse> delete_records(
      const RequestContext&, protocol::DeleteRecordsRequest&);
  boost::asio::awaitable<protocol::DescribeClusterResponse> describe_cluster(
      const RequestContext&, protocol::DescribeClusterRequest&);
  // A cluster's brokers register with the active controller and heartbeat
  // (api_broker_registration.cc).
  boost::asio::awaitable<protocol::BrokerRegistrationResponse> broker_registration(
      const RequestContext&, protocol::BrokerRegistrationRequest&);
  boost::asio::awaitable<protocol::BrokerHeartbeatResponse> broker_heartbeat(
      const RequestContext&, protocol::BrokerHeartbeatRequest&);
  boost::asio::awaitable<protocol::DescribeLogDirsResponse> describe_log_dirs(
      const RequestContext&, protocol::DescribeLogDirsRequest&);

  boost::asio::awaitable<protocol::JoinGroupResponse> join_group(const RequestContext&,
                                                                 protocol::JoinGroupRequest&);
  boost::asio::awaitable<protocol::SyncGroupResponse> sync_group(const RequestContext&,
                                                                 protocol::SyncGroupRequest&);
  boost::asio::awaitable<protocol::HeartbeatResponse> heartbeat(const RequestContext&,
                                                                protocol::HeartbeatRequest&);
  boost::asio::awaitable<protocol::LeaveGroupResponse> leave_group(const RequestContext&,
                                                                   protocol::LeaveGroupRequest&);
  boost::asio::awaitable<protocol::OffsetCommitResponse> offset_commit(
      const RequestContext&, protocol::OffsetCommitRequest&);
  boost::asio::awaitable<protocol::OffsetFetchResponse> offset_fetch(const RequestContext&,
                                                                     protocol::OffsetFetchRequest&);
  boost::asio::awaitable<protocol::ListGroupsResponse> list_groups(const RequestContext&,
                                                                   protocol::ListGroupsRequest&);
  boost::asio::awaitable<protocol::DescribeGroupsResponse> describe_groups(
      const RequestContext&, protocol::DescribeGroupsRequest&);
  boost::asio::awaitable<protocol::DeleteGroupsResponse> delete_groups(
      const RequestContext&, protocol::DeleteGroupsRequest&);
  boost::asio::awaitable<protocol::OffsetDeleteResponse> offset_delete(
      const RequestContext&, protocol::OffsetDeleteRequest&);
  boost::asio::awaitable<protocol::TxnOffsetCommitResponse> txn_offset_commit(
      const RequestContext&, protocol::TxnOffsetCommitRequest&);

  // Transactions (api_txn.cc).
  boost::asio::awaitable<protocol::InitProducerIdResponse> init_producer_id(
      const RequestContext&, protocol::InitProducerIdRequest&);
  boost::asio::awaitable<protocol::AddPartitionsToTxnResponse> add_partitions_to_txn(
      const RequestContext&, protocol::AddPartitionsToTxnRequest&);
  boost::asio::awaitable<protocol::AddOffsetsToTxnResponse> add_offsets_to_txn(
      const RequestContext&, protocol::AddOffsetsToTxnRequest&);
  boost::asio::awaitable<protocol::EndTxnResponse> end_txn(const RequestContext&,
                                                           protocol::EndTxnRequest&);
  boost::asio::awaitable<protocol::WriteTxnMarkersResponse> write_txn_markers(
      const RequestContext&, protocol::WriteTxnMarkersRequest&);
  boost::asio::awaitable<protocol::AllocateProducerIdsResponse> allocate_producer_ids(
      const RequestContext&, protocol::AllocateProducerIdsRequest&);
  // Blocking: a block of `count` producer ids from the active controller; its first id.
  Result<int64_t> allocate_producer_ids_at_controller(int32_t count);
  boost::asio::awaitable<protocol::DescribeTransactionsResponse> describe_transactions(
      const RequestContext&, protocol::DescribeTransactionsRequest&);
  boost::asio::awaitable<protocol::ListTransactionsResponse> list_transactions(
      const RequestContext&, protocol::ListTransactionsRequest&);
  boost::asio::awaitable<protocol::DescribeProducersResponse> describe_producers(
      const RequestContext&, protocol::DescribeProducersRequest&);

  // Whether this node leads the partition (Produce, Fetch, ListOffsets and
  // DeleteRecords answer NOT_LEADER_OR_FOLLOWER elsewhere).
  bool leads(const metadata::MetadataImage& image, const metadata::TopicInfo& topic,
             int32_t partition) const {
    return leader_of(image, topic, partition, config_.node_id) == config_.node_id;
  }
  // Admin changes are made by the active controller only: elsewhere they are
  // answered NOT_CONTROLLER (clients send them to Metadata's ControllerId and
  // retry there). Defined in api_quorum.cc.
  Status require_active_controller() const;
  // This node as clients reach it.
  BrokerAddress self_address() const {
    return BrokerAddress{config_.node_id, advertised_host_, advertised_port_, std::nullopt};
  }

  // The metadata quorum (api_quorum.cc).
  boost::asio::awaitable<protocol::DescribeQuorumResponse> describe_quorum(
      const RequestContext&, protocol::DescribeQuorumRequest&);
  boost::asio::awaitable<protocol::AddRaftVoterResponse> add_raft_voter(
      const RequestContext&, protocol::AddRaftVoterRequest&);
  boost::asio::awaitable<protocol::RemoveRaftVoterResponse> remove_raft_voter(
      const RequestContext&, protocol::RemoveRaftVoterRequest&);

  // Creates __consumer_offsets on first use. kNone once it exists.
  boost::asio::awaitable<ErrorCode> ensure_offsets_topic();
  // Creates __transaction_state on first use. kNone once it exists.
  boost::asio::awaitable<ErrorCode> ensure_txn_state_topic();

  // Creates the compacted internal topic `name` if missing and opens all its partitions
  // here. Its partition count; kCoordinatorNotAvailable if it cannot be used yet.
  boost::asio::awaitable<Result<int32_t>> open_internal_topic(const std::string& name,
                                                              int32_t partitions,
                                                              int32_t segment_bytes);

  // Creates a topic through the controller and opens its partitions here.
  boost::asio::awaitable<Result<std::shared_ptr<const metadata::TopicInfo>>> create_topic(
      const std::string& name, int32_t partitions, int16_t replication_factor,
      const metadata::ConfigMap& configs, bool validate_only);

  // On a cluster node that is not the active controller: sends the creation to
  // the controller (a CreateTopics request, as a client would). Auto-created and
  // internal topics are created this way from any node.
  boost::asio::awaitable<Status> forward_create_topic(const std::string& name, int32_t partitions,
                                                      int16_t replication_factor,
                                                      const metadata::ConfigMap& configs);
  struct CoordinatorAddress {
    int32_t node_id = -1;
    std::string host;
    int32_t port = -1;
  };
  // The node leading `partition` of an internal topic: this node on a single node.
  Result<CoordinatorAddress> coordinator_address(std::string_view topic, int32_t partition) const;
  // kNone when this node coordinates `group_id` (always on a single node);
  // kNotCoordinator when another node does, so the client asks FindCoordinator again.
  ErrorCode group_coordinator_check(const std::string& group_id) const;
  ErrorCode txn_coordinator_check(const std::string& transactional_id) const;
  // The active controller's Kafka listener, from the quorum and the image.
  std::optional<HostPort> controller_endpoint() const;

  const NodeConfig& config_;
  std::string advertised_host_;
  uint16_t advertised_port_ = 0;
  metadata::Controller& controller_;
  PartitionManager& partitions_;
  GroupCoordinator& groups_;
  TxnCoordinator& txns_;
  Quorum& quorum_;
  // The quorum's describe/add/remove may block for seconds: they run here, never
  // on a shard. One thread: voter changes take turns anyway.
  boost::asio::thread_pool quorum_calls_{1};
  // Controller changes (admin_calls.h) wait for a commit here, not on a shard.
  // One thread: the controller applies changes one at a time anyway.
  boost::asio::thread_pool admin_calls_{1};
};

int64_t wall_clock_ms();

}  // namespace fjord::broker
