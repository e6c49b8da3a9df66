#include "broker/broker.h"

#include <fmt/core.h>

#include <array>
#include <chrono>

#include "protocol/generated/add_offsets_to_txn_request.h"
#include "protocol/generated/add_offsets_to_txn_response.h"
#include "protocol/generated/add_partitions_to_txn_request.h"
#include "protocol/generated/add_partitions_to_txn_response.h"
#include "protocol/generated/add_raft_voter_request.h"
#include "protocol/generated/add_raft_voter_response.h"
#include "protocol/generated/allocate_producer_ids_request.h"
#include "protocol/generated/allocate_producer_ids_response.h"
#include "protocol/generated/alter_configs_request.h"
#include "protocol/generated/alter_configs_response.h"
#include "protocol/generated/api_versions_request.h"
#include "protocol/generated/api_versions_response.h"
#include "protocol/generated/broker_heartbeat_request.h"
#include "protocol/generated/broker_heartbeat_response.h"
#include "protocol/generated/broker_registration_request.h"
#include "protocol/generated/broker_registration_response.h"
#include "protocol/generated/create_partitions_request.h"
#include "protocol/generated/create_partitions_response.h"
#include "protocol/generated/create_topics_request.h"
#include "protocol/generated/create_topics_response.h"
#include "protocol/generated/delete_groups_request.h"
#include "protocol/generated/delete_groups_response.h"
#include "protocol/generated/delete_records_request.h"
#include "protocol/generated/delete_records_response.h"
#include "protocol/generated/delete_topics_request.h"
#include "protocol/generated/delete_topics_response.h"
#include "protocol/generated/describe_cluster_request.h"
#include "protocol/generated/describe_cluster_response.h"
#include "protocol/generated/describe_configs_request.h"
#include "protocol/generated/describe_configs_response.h"
#include "protocol/generated/describe_groups_request.h"
#include "protocol/generated/describe_groups_response.h"
#include "protocol/generated/describe_log_dirs_request.h"
#include "protocol/generated/describe_log_dirs_response.h"
#include "protocol/generated/describe_producers_request.h"
#include "protocol/generated/describe_producers_response.h"
#include "protocol/generated/describe_quorum_request.h"
#include "protocol/generated/describe_quorum_response.h"
#include "protocol/generated/describe_transactions_request.h"
#include "protocol/generated/describe_transactions_response.h"
#include "protocol/generated/end_txn_request.h"
#include "protocol/generated/end_txn_response.h"
#include "protocol/generated/fetch_request.h"
#include "protocol/generated/fetch_response.h"
#include "protocol/generated/find_coordinator_request.h"
#include "protocol/generated/find_coordinator_response.h"
#include "protocol/generated/heartbeat_request.h"
#include "protocol/generated/heartbeat_response.h"
#include "protocol/generated/incremental_alter_configs_request.h"
#include "protocol/generated/incremental_alter_configs_response.h"
#include "protocol/generated/init_producer_id_request.h"
#include "protocol/generated/init_producer_id_response.h"
#include "protocol/generated/join_group_request.h"
#include "protocol/generated/join_group_response.h"
#include "protocol/generated/leave_group_request.h"
#include "protocol/generated/leave_group_response.h"
#include "protocol/generated/list_groups_request.h"
#include "protocol/generated/list_groups_response.h"
#include "protocol/generated/list_offsets_request.h"
#include "protocol/generated/list_offsets_response.h"
#include "protocol/generated/list_transactions_request.h"
#include "protocol/generated/list_transactions_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/offset_commit_request.h"
#include "protocol/generated/offset_commit_response.h"
#include "protocol/generated/offset_delete_request.h"
#include "protocol/generated/offset_delete_response.h"
#include "protocol/generated/offset_fetch_request.h"
#include "protocol/generated/offset_fetch_response.h"
#include "protocol/generated/produce_request.h"
#include "protocol/generated/produce_response.h"
#include "protocol/generated/remove_raft_voter_request.h"
#include "protocol/generated/remove_raft_voter_response.h"
#include "protocol/generated/sync_group_request.h"
#include "protocol/generated/sync_group_response.h"
#include "protocol/generated/txn_offset_commit_request.h"
#include "protocol/generated/txn_offset_commit_response.h"
#include "protocol/generated/write_txn_markers_request.h"
#include "protocol/generated/write_txn_markers_response.h"

namespace fjord::broker {

namespace p = protocol;

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// What Fjord advertises. Old minimum versions stay: librdkafka 2.0.2 turns
// features on by single old versions (FindCoordinator v0 gates LZ4, Produce v3 +
// Fetch v4 gate message format v2). Produce < 3 and Fetch < 4 carry the legacy
// message formats, which Fjord does not store.
constexpr std::array kSupportedApis = {
    Broker::ApiRange{p::ProduceRequest::kApiKey, 3, 11},
    Broker::ApiRange{p::FetchRequest::kApiKey, 4, 17},
    Broker::ApiRange{p::ListOffsetsRequest::kApiKey, 0, 10},
    Broker::ApiRange{p::MetadataRequest::kApiKey, 0, 12},
    Broker::ApiRange{p::OffsetCommitRequest::kApiKey, 0, 9},
    Broker::ApiRange{p::OffsetFetchRequest::kApiKey, 0, 9},
    Broker::ApiRange{p::FindCoordinatorRequest::kApiKey, 0, 6},
    Broker::ApiRange{p::JoinGroupRequest::kApiKey, 0, 9},
    Broker::ApiRange{p::HeartbeatRequest::kApiKey, 0, 4},
    Broker::ApiRange{p::LeaveGroupRequest::kApiKey, 0, 5},
    Broker::ApiRange{p::SyncGroupRequest::kApiKey, 0, 5},
    Broker::ApiRange{p::DescribeGroupsRequest::kApiKey, 0, 5},
    Broker::ApiRange{p::ListGroupsRequest::kApiKey, 0, 5},
    Broker::ApiRange{p::ApiVersionsRequest::kApiKey, 0, 4},
    Broker::ApiRange{p::CreateTopicsRequest::kApiKey, 0, 7},
    Broker::ApiRange{p::DeleteTopicsRequest::kApiKey, 0, 6},
    Broker::ApiRange{p::DeleteRecordsRequest::kApiKey, 0, 2},
    Broker::ApiRange{p::DescribeConfigsRequest::kApiKey, 0, 4},
    Broker::ApiRange{p::AlterConfigsRequest::kApiKey, 0, 2},
    Broker::ApiRange{p::DescribeLogDirsRequest::kApiKey, 0, 4},
    Broker::ApiRange{p::CreatePartitionsRequest::kApiKey, 0, 3},
    Broker::ApiRange{p::IncrementalAlterConfigsRequest::kApiKey, 0, 1},
    Broker::ApiRange{p::DescribeClusterRequest::kApiKey, 0, 1},
    Broker::ApiRange{p::DeleteGroupsRequest::kApiKey, 0, 2},
    Broker::ApiRange{p::OffsetDeleteRequest::kApiKey, 0, 0},
    Broker::ApiRange{p::TxnOffsetCommitRequest::kApiKey, 0, 3},
    Broker::ApiRange{p::InitProducerIdRequest::kApiKey, 0, 4},
    Broker::ApiRange{p::AddPartitionsToTxnRequest::kApiKey, 0, 3},
    Broker::ApiRange{p::AddOffsetsToTxnRequest::kApiKey, 0, 3},
    Broker::ApiRange{p::EndTxnRequest::kApiKey, 0, 3},
    Broker::ApiRange{p::WriteTxnMarkersRequest::kApiKey, 0, 1},
    Broker::ApiRange{p::DescribeTransactionsRequest::kApiKey, 0, 0},
    Broker::ApiRange{p::ListTransactionsRequest::kApiKey, 0, 1},
    Broker::ApiRange{p::DescribeProducersRequest::kApiKey, 0, 0},
    // The metadata quorum (KIP-595, KIP-836, KIP-853): every version of the schemas.
    Broker::ApiRange{p::DescribeQuorumRequest::kApiKey, 0, 2},
    Broker::ApiRange{p::AddRaftVoterRequest::kApiKey, 0, 0},
    Broker::ApiRange{p::RemoveRaftVoterRequest::kApiKey, 0, 0},
    // Between the nodes of a cluster (Kafka serves these on its controller
    // listener; clients ignore API keys they do not know).
    Broker::ApiRange{p::BrokerRegistrationRequest::kApiKey, 0, 0},
    Broker::ApiRange{p::BrokerHeartbeatRequest::kApiKey, 0, 0},
    Broker::ApiRange{p::AllocateProducerIdsRequest::kApiKey, 0, 0},
};

const Broker::ApiRange* find_api(int16_t api_key) {
  for (const auto& api : kSupportedApis) {
    if (api.api_key == api_key) return &api;
  }
  return nullptr;
}

void add_supported_apis(p::ApiVersionsResponse& response) {
  for (const auto& api : kSupportedApis) {
    p::ApiVersionsResponse::ApiVersion entry;
    entry.api_key = api.api_key;
    entry.min_version = api.min_version;
    entry.max_version = api.max_version;
    response.api_keys.push_back(entry);
  }
}

net::HandlerResult close_connection(const RequestContext& context, std::string_view why) {
  fmt::print(stderr, "fjord: closing connection {} ({}): {}\n", context.connection->id,
             context.connection->peer, why);
  return net::HandlerResult{net::HandlerResult::Kind::kClose, {}};
}

}  // namespace

std::span<const Broker::ApiRange> Broker::supported_apis() { return kSupportedApis; }

Broker::Broker(const NodeConfig& config, metadata::Controller& controller,
               PartitionManager& partitions, GroupCoordinator& groups, TxnCoordinator& txns,
               Quorum& quorum)
    : config_(config),
      advertised_host_(config.advertised_host.empty() ? config.listen_host
                                                      : config.advertised_host),
      controller_(controller),
      partitions_(partitions),
      groups_(groups),
      txns_(txns),
      quorum_(quorum) {
  // Producer ids come from the active controller: a cluster node that is not
  // it asks it for blocks (AllocateProducerIds), as Kafka's brokers do.
  if (partitions_.is_cluster_node()) {
    txns_.set_producer_id_forwarder(
        [this](int32_t count) { return allocate_producer_ids_at_controller(count); });
  }
}

template <auto Handler>
boost::asio::awaitable<net::HandlerResult> Broker::serve_api(const p::RequestHeaderView& header,
                                                             std::span<const uint8_t> body,
                                                             const RequestContext& context) {
  using Traits = ApiTraits<decltype(Handler)>;
  typename Traits::Request request;
  p::Reader reader(body);
  request.decode(reader, header.api_version);
  if (!reader.ok()) {
    // Kafka closes the connection of a request it cannot parse.
    co_return close_connection(context, fmt::format("malformed {} v{} request: {}", header.api_key,
                                                    header.api_version, reader.error()));
  }
  typename Traits::Response response = co_await (this->*Handler)(context, request);
  net::HandlerResult result;
  p::Writer writer(result.response);
  p::write_response_header(writer, header.api_key, header.api_version, header.correlation_id);
  response.encode(writer, header.api_version);
  co_return result;
}

// KIP-511: an ApiVersions request of a version the broker does not know gets a
// v0 response with UNSUPPORTED_VERSION and the supported ranges, so the client
// can retry with a version both sides speak.
net::HandlerResult Broker::unsupported_api_versions(const p::RequestHeaderView& header) {
  p::ApiVersionsResponse response;
  response.error_code = to_wire(ErrorCode::kUnsupportedVersion);
  add_supported_apis(response);
  net::HandlerResult result;
  p::Writer writer(result.response);
  p::write_response_header(writer, header.api_key, 0, header.correlation_id);
  response.encode(writer, 0);
  return result;
}

boost::asio::awaitable<net::HandlerResult> Broker::handle(std::vector<uint8_t> frame,
                                                          const net::ConnectionInfo& connection) {
  RequestContext context;
  context.connection = &connection;
  auto header = p::parse_request_header(frame);
  if (!header) {
    co_return close_connection(context, header.error().message);
  }
  context.api_version = header->api_version;
  context.correlation_id = header->correlation_id;
  context.client_id = header->client_id.value_or("");

  const ApiRange* api = find_api(header->api_key);
  if (api == nullptr) {
    co_return close_connection(context, fmt::format("unsupported API key {}", header->api_key));
  }
  if (header->api_version < api->min_version || header->api_version > api->max_version) {
    if (header->api_key == p::ApiVersionsRequest::kApiKey) {
      co_return unsupported_api_versions(*header);
    }
    co_return close_connection(context, fmt::format("unsupported version {} of API key {}",
                                                    header->api_version, header->api_key));
  }
  const auto body = std::span<const uint8_t>(frame).subspan(header->body_offset);
  const Dispatch dispatch = dispatch_for(header->api_key);
  net::HandlerResult result = co_await (this->*dispatch)(*header, body, context);
  co_return result;
}

// One entry per API in kSupportedApis: decode, call the handler, encode.
Broker::Dispatch Broker::dispatch_for(int16_t api_key) {
  switch (api_key) {
    case p::ProduceRequest::kApiKey:
      return &Broker::produce;
    case p::FetchRequest::kApiKey:
      return &Broker::serve_api<&Broker::fetch>;
    case p::ListOffsetsRequest::kApiKey:
      return &Broker::serve_api<&Broker::list_offsets>;
    case p::MetadataRequest::kApiKey:
      return &Broker::serve_api<&Broker::metadata>;
    case p::FindCoordinatorRequest::kApiKey:
      return &Broker::serve_api<&Broker::find_coordinator>;
    case p::JoinGroupRequest::kApiKey:
      return &Broker::serve_api<&Broker::join_group>;
    case p::SyncGroupRequest::kApiKey:
      return &Broker::serve_api<&Broker::sync_group>;
    case p::HeartbeatRequest::kApiKey:
      return &Broker::serve_api<&Broker::heartbeat>;
    case p::LeaveGroupRequest::kApiKey:
      return &Broker::serve_api<&Broker::leave_group>;
    case p::OffsetCommitRequest::kApiKey:
      return &Broker::serve_api<&Broker::offset_commit>;
    case p::OffsetFetchRequest::kApiKey:
      return &Broker::serve_api<&Broker::offset_fetch>;
    case p::ListGroupsRequest::kApiKey:
      return &Broker::serve_api<&Broker::list_groups>;
    case p::DescribeGroupsRequest::kApiKey:
      return &Broker::serve_api<&Broker::describe_groups>;
    case p::DeleteGroupsRequest::kApiKey:
      return &Broker::serve_api<&Broker::delete_groups>;
    case p::OffsetDeleteRequest::kApiKey:
      return &Broker::serve_api<&Broker::offset_delete>;
    case p::TxnOffsetCommitRequest::kApiKey:
      return &Broker::serve_api<&Broker::txn_offset_commit>;
    case p::InitProducerIdRequest::kApiKey:
      return &Broker::serve_api<&Broker::init_producer_id>;
    case p::AddPartitionsToTxnRequest::kApiKey:
      return &Broker::serve_api<&Broker::add_partitions_to_txn>;
    case p::AddOffsetsToTxnRequest::kApiKey:
      return &Broker::serve_api<&Broker::add_offsets_to_txn>;
    case p::EndTxnRequest::kApiKey:
      return &Broker::serve_api<&Broker::end_txn>;
    case p::WriteTxnMarkersRequest::kApiKey:
      return &Broker::serve_api<&Broker::write_txn_markers>;
    case p::AllocateProducerIdsRequest::kApiKey:
      return &Broker::serve_api<&Broker::allocate_producer_ids>;
    case p::DescribeTransactionsRequest::kApiKey:
      return &Broker::serve_api<&Broker::describe_transactions>;
    case p::ListTransactionsRequest::kApiKey:
      return &Broker::serve_api<&Broker::list_transactions>;
    case p::DescribeProducersRequest::kApiKey:
      return &Broker::serve_api<&Broker::describe_producers>;
    case p::ApiVersionsRequest::kApiKey:
      return &Broker::serve_api<&Broker::api_versions>;
    case p::CreateTopicsRequest::kApiKey:
      return &Broker::serve_api<&Broker::create_topics>;
    case p::DeleteTopicsRequest::kApiKey:
      return &Broker::serve_api<&Broker::delete_topics>;
    case p::DeleteRecordsRequest::kApiKey:
      return &Broker::serve_api<&Broker::delete_records>;
    case p::DescribeConfigsRequest::kApiKey:
      return &Broker::serve_api<&Broker::describe_configs>;
    case p::AlterConfigsRequest::kApiKey:
      return &Broker::serve_api<&Broker::alter_configs>;
    case p::DescribeLogDirsRequest::kApiKey:
      return &Broker::serve_api<&Broker::describe_log_dirs>;
    case p::CreatePartitionsRequest::kApiKey:
      return &Broker::serve_api<&Broker::create_partitions>;
    case p::IncrementalAlterConfigsRequest::kApiKey:
      return &Broker::serve_api<&Broker::incremental_alter_configs>;
    case p::DescribeClusterRequest::kApiKey:
      return &Broker::serve_api<&Broker::describe_cluster>;
    case p::DescribeQuorumRequest::kApiKey:
      return &Broker::serve_api<&Broker::describe_quorum>;
    case p::AddRaftVoterRequest::kApiKey:
      return &Broker::serve_api<&Broker::add_raft_voter>;
    case p::RemoveRaftVoterRequest::kApiKey:
      return &Broker::serve_api<&Broker::remove_raft_voter>;
    case p::BrokerRegistrationRequest::kApiKey:
      return &Broker::serve_api<&Broker::broker_registration>;
    case p::BrokerHeartbeatRequest::kApiKey:
      return &Broker::serve_api<&Broker::broker_heartbeat>;
    default:
      assert(false && "API in kSupportedApis without a dispatch entry");
      return &Broker::serve_api<&Broker::api_versions>;
  }
}

boost::asio::awaitable<p::ApiVersionsResponse> Broker::api_versions(const RequestContext&,
                                                                    p::ApiVersionsRequest&) {
  p::ApiVersionsResponse response;
  add_supported_apis(response);
  co_return response;
}

}  // namespace fjord::broker
