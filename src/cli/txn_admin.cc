#include "cli/txn_admin.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "cli/admin.h"
#include "client/broker_connection.h"
#include "cli/txn_report.h"
#include "cli/txn_responses.h"
#include "protocol/generated/describe_producers_request.h"
#include "protocol/generated/describe_producers_response.h"
#include "protocol/generated/describe_transactions_request.h"
#include "protocol/generated/describe_transactions_response.h"
#include "protocol/generated/find_coordinator_request.h"
#include "protocol/generated/find_coordinator_response.h"
#include "protocol/generated/list_transactions_request.h"
#include "protocol/generated/list_transactions_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/metadata_response.h"
#include "protocol/generated/write_txn_markers_request.h"
#include "protocol/generated/write_txn_markers_response.h"

namespace fjord::cli {
namespace {

namespace p = fjord::protocol;
using Clock = std::chrono::steady_clock;
using client::BrokerConnection;

constexpr int8_t kTransactionKeyType = 1;   // FindCoordinator: a transactional id
constexpr int16_t kMetadataMinVersion = 1;  // null topics means "all" from v1 on
constexpr auto kRetryPause = std::chrono::milliseconds(100);

bool is_retriable_coordinator_error(int16_t code) {
  const auto error = static_cast<ErrorCode>(code);
  return error == ErrorCode::kCoordinatorLoadInProgress ||
         error == ErrorCode::kCoordinatorNotAvailable || error == ErrorCode::kNotCoordinator;
}

std::string address_of(const std::string& host, int32_t port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

// The brokers reached through the bootstrap server, one connection each,
// opened on first use; retries end at one deadline.
class Cluster {
 public:
  explicit Cluster(const ClientOptions& options)
      : options_(options),
        deadline_(Clock::now() + std::chrono::milliseconds(options.timeout_ms)) {}

  Result<BrokerConnection*> connection(const std::string& address) {
    auto found = connections_.find(address);
    if (found != connections_.end()) return found->second.get();
    auto opened = BrokerConnection::open(address, options_.timeout_ms);
    if (!opened.ok()) return opened.error();
    BrokerConnection* connection = opened->get();
    connections_.emplace(address, std::move(*opened));
    return connection;
  }

  Result<BrokerConnection*> bootstrap() { return connection(options_.bootstrap); }

  // Brokers and, for the named topics, partitions (no topic is created).
  Result<p::MetadataResponse> metadata(const std::vector<std::string>& topics) {
    auto bootstrap_connection = bootstrap();
    if (!bootstrap_connection.ok()) return bootstrap_connection.error();
    p::MetadataRequest request;
    request.topics.emplace();
    for (const std::string& name : topics) {
      p::MetadataRequest::MetadataRequestTopic topic;
      topic.name = name;
      request.topics->push_back(topic);
    }
    request.allow_auto_topic_creation = false;
    return (*bootstrap_connection)
        ->call<p::MetadataResponse>(request, "Metadata", kMetadataMinVersion);
  }

  // Waits a little before a retry; false once the deadline has passed.
  bool pause_before_retry() const {
    if (Clock::now() + kRetryPause >= deadline_) return false;
    std::this_thread::sleep_for(kRetryPause);
    return true;
  }

  int timeout_ms() const { return options_.timeout_ms; }

 private:
  const ClientOptions& options_;
  Clock::time_point deadline_;
  std::map<std::string, std::unique_ptr<BrokerConnection>> connections_;
};

// ------------------------------------------------------------------ ListTransactions

Result<std::vector<TransactionListing>> list_on(BrokerConnection& broker,
                                                const p::ListTransactionsRequest& request) {
  auto response = broker.call<p::ListTransactionsResponse>(request, "ListTransactions");
  if (!response.ok()) return response.error();
  if (response->error_code != 0) {
    return Error{static_cast<ErrorCode>(response->error_code),
                 fmt::format("{} cannot list its transactions: {}", broker.address(),
                             wire_error_text(response->error_code))};
  }
  return listings_of(*response);
}

// ------------------------------------------------------------------ DescribeTransactions

struct Coordinator {
  int16_t error = 0;
  int32_t node_id = -1;
  std::string address;
};

Result<Coordinator> find_coordinator(BrokerConnection& broker, const std::string& id) {
  auto version = broker.choose_version(p::FindCoordinatorRequest::kApiKey, "FindCoordinator", 1,
                                       p::FindCoordinatorRequest::kMaxVersion);
  if (!version.ok()) return version.error();
  p::FindCoordinatorRequest request;
  request.key_type = kTransactionKeyType;
  if (*version >= 4) {
    request.coordinator_keys = {id};
  } else {
    request.key = id;
  }
  auto response = broker.call_at<p::FindCoordinatorResponse>(request, *version, "FindCoordinator");
  if (!response.ok()) return response.error();
  if (*version < 4) {
    return Coordinator{response->error_code, response->node_id,
                       address_of(response->host, response->port)};
  }
  if (response->coordinators.size() != 1) {
    return Error{ErrorCode::kCorruptMessage,
                 fmt::format("malformed FindCoordinator response from {}: {} coordinators for one "
                             "key",
                             broker.address(), response->coordinators.size())};
  }
  const auto& found = response->coordinators.front();
  return Coordinator{found.error_code, found.node_id, address_of(found.host, found.port)};
}

// One attempt: the lookup, or an error code worth retrying (a coordinator that
// is moving or loading).
Result<TransactionLookup> describe_once(Cluster& cluster, const std::string& id) {
  auto bootstrap = cluster.bootstrap();
  if (!bootstrap.ok()) return bootstrap.error();
  auto coordinator = find_coordinator(**bootstrap, id);
  if (!coordinator.ok()) return coordinator.error();
  TransactionLookup lookup;
  lookup.description.transactional_id = id;
  if (coordinator->error != 0) {
    lookup.error = coordinator->error;
    return lookup;
  }
  auto broker = cluster.connection(coordinator->address);
  if (!broker.ok()) return broker.error();
  p::DescribeTransactionsRequest request;
  request.transactional_ids = {id};
  auto response = (*broker)->call<p::DescribeTransactionsResponse>(request, "DescribeTransactions");
  if (!response.ok()) return response.error();
  if (response->transaction_states.size() != 1) {
    return Error{ErrorCode::kCorruptMessage,
                 fmt::format("malformed DescribeTransactions response from {}: {} states for one "
                             "id",
                             (*broker)->address(), response->transaction_states.size())};
  }
  const auto& state = response->transaction_states.front();
  lookup.error = state.error_code;
  if (state.error_code == 0) {
    lookup.description = description_of(state, coordinator->node_id);
    lookup.description.transactional_id = id;
  }
  return lookup;
}

Result<TransactionLookup> describe_one(Cluster& cluster, const std::string& id) {
  while (true) {
    auto lookup = describe_once(cluster, id);
    if (!lookup.ok() || !is_retriable_coordinator_error(lookup->error)) return lookup;
    if (!cluster.pause_before_retry()) return lookup;
  }
}

// ------------------------------------------------------------------ DescribeProducers

Result<const p::MetadataResponse::MetadataResponseTopic*> find_topic(
    const p::MetadataResponse& metadata, const std::string& name) {
  for (const auto& topic : metadata.topics) {
    if (topic.name != name) continue;
    if (topic.error_code == to_wire(ErrorCode::kUnknownTopicOrPartition)) {
      return unknown_topic_error(name);
    }
    if (topic.error_code != 0) {
      return Error{static_cast<ErrorCode>(topic.error_code),
                   fmt::format("cannot read the metadata of topic '{}': {}", name,
                               wire_error_text(topic.error_code))};
    }
    return &topic;
  }
  return unknown_topic_error(name);
}

std::map<int32_t, std::string> broker_addresses(const p::MetadataResponse& metadata) {
  std::map<int32_t, std::string> addresses;
  for (const auto& broker : metadata.brokers) {
    addresses[broker.node_id] = address_of(broker.host, broker.port);
  }
  return addresses;
}

PartitionProducers partition_error(const TopicPartitionId& id, ErrorCode code,
                                   std::string message) {
  PartitionProducers result;
  result.partition = id;
  result.error = to_wire(code);
  result.error_message = std::move(message);
  return result;
}

// Asks `leader` for the producers of `partitions` of `topic`.
Result<std::vector<PartitionProducers>> producers_on(BrokerConnection& leader,
                                                     const std::string& topic,
                                                     const std::vector<int32_t>& partitions) {
  p::DescribeProducersRequest request;
  p::DescribeProducersRequest::TopicRequest wanted;
  wanted.name = topic;
  wanted.partition_indexes = partitions;
  request.topics.push_back(wanted);
  auto response = leader.call<p::DescribeProducersResponse>(request, "DescribeProducers");
  if (!response.ok()) return response.error();
  return producers_of(*response);
}

// ------------------------------------------------------------------ WriteTxnMarkers

// The address of the leader of `partition` of `topic`.
Result<std::string> leader_address(const p::MetadataResponse& metadata, const std::string& topic,
                                   int32_t partition) {
  auto found = find_topic(metadata, topic);
  if (!found.ok()) return found.error();
  for (const auto& described : (*found)->partitions) {
    if (described.partition_index != partition) continue;
    const auto addresses = broker_addresses(metadata);
    auto leader = addresses.find(described.leader_id);
    if (described.leader_id < 0 || leader == addresses.end()) {
      return Error{ErrorCode::kLeaderNotAvailable,
                   fmt::format("{}:{} has no leader; retry when 'fjord topic describe {}' shows "
                               "one",
                               topic, partition, topic)};
    }
    return leader->second;
  }
  return Error{ErrorCode::kInvalidConfig,
               fmt::format("topic '{}' has no partition {}: it has {}", topic, partition,
                           (*found)->partitions.size())};
}

p::WriteTxnMarkersRequest abort_marker_request(const AbortTarget& target) {
  p::WriteTxnMarkersRequest::WritableTxnMarkerTopic topic;
  topic.name = target.partition.topic;
  topic.partition_indexes = {target.partition.partition};
  p::WriteTxnMarkersRequest::WritableTxnMarker marker;
  marker.producer_id = target.producer_id;
  marker.producer_epoch = target.producer_epoch;
  marker.transaction_result = false;  // ABORT
  marker.coordinator_epoch = target.coordinator_epoch;
  marker.topics.push_back(topic);
  p::WriteTxnMarkersRequest request;
  request.markers.push_back(marker);
  return request;
}

}  // namespace

Result<std::vector<TransactionListing>> list_transactions(const ClientOptions& options,
                                                          const TransactionFilter& filter) {
  Cluster cluster(options);
  auto metadata = cluster.metadata({});
  if (!metadata.ok()) return metadata.error();
  p::ListTransactionsRequest request;
  request.state_filters = filter.states;
  request.producer_id_filters = filter.producer_ids;
  std::vector<TransactionListing> all;
  for (const auto& [node_id, address] : broker_addresses(*metadata)) {
    auto broker = cluster.connection(address);
    if (!broker.ok()) return broker.error();
    while (true) {
      auto listed = list_on(**broker, request);
      if (listed.ok()) {
        all.insert(all.end(), listed->begin(), listed->end());
        break;
      }
      if (!is_retriable_coordinator_error(to_wire(listed.error().code)) ||
          !cluster.pause_before_retry()) {
        return listed.error();
      }
    }
  }
  return all;
}

Result<std::vector<TransactionLookup>> describe_transactions(const ClientOptions& options,
                                                             const std::vector<std::string>& ids) {
  Cluster cluster(options);
  std::vector<TransactionLookup> lookups;
  for (const std::string& id : ids) {
    auto lookup = describe_one(cluster, id);
    if (!lookup.ok()) return lookup.error();
    lookups.push_back(std::move(*lookup));
  }
  return lookups;
}

Result<std::vector<PartitionProducers>> describe_producers(const ClientOptions& options,
                                                           const std::string& topic,
                                                           std::optional<int32_t> partition) {
  Cluster cluster(options);
  auto metadata = cluster.metadata({topic});
  if (!metadata.ok()) return metadata.error();
  auto found = find_topic(*metadata, topic);
  if (!found.ok()) return found.error();
  const auto& partitions = (*found)->partitions;
  if (partition && (*partition < 0 || *partition >= static_cast<int32_t>(partitions.size()))) {
    return Error{
        ErrorCode::kInvalidConfig,
        fmt::format("topic '{}' has no partition {}: it has {} (0 to {})", topic, *partition,
                    partitions.size(), static_cast<int64_t>(partitions.size()) - 1)};
  }
  const auto addresses = broker_addresses(*metadata);
  std::vector<PartitionProducers> results;
  std::map<int32_t, std::vector<int32_t>> by_leader;
  for (const auto& described : partitions) {
    if (partition && described.partition_index != *partition) continue;
    const TopicPartitionId id{topic, described.partition_index};
    if (described.leader_id < 0 || addresses.count(described.leader_id) == 0) {
      results.push_back(
          partition_error(id, ErrorCode::kLeaderNotAvailable, "the partition has no leader"));
      continue;
    }
    by_leader[described.leader_id].push_back(described.partition_index);
  }
  for (const auto& [leader, indexes] : by_leader) {
    auto broker = cluster.connection(addresses.at(leader));
    if (!broker.ok()) return broker.error();
    auto answered = producers_on(**broker, topic, indexes);
    if (!answered.ok()) return answered.error();
    results.insert(results.end(), answered->begin(), answered->end());
  }
  std::sort(results.begin(), results.end(),
            [](const PartitionProducers& a, const PartitionProducers& b) {
              return a.partition < b.partition;
            });
  return results;
}

Result<int16_t> write_abort_marker(const ClientOptions& options, const AbortTarget& target) {
  Cluster cluster(options);
  auto metadata = cluster.metadata({target.partition.topic});
  if (!metadata.ok()) return metadata.error();
  auto address = leader_address(*metadata, target.partition.topic, target.partition.partition);
  if (!address.ok()) return address.error();
  auto leader = cluster.connection(*address);
  if (!leader.ok()) return leader.error();
  auto response =
      (*leader)->call<p::WriteTxnMarkersResponse>(abort_marker_request(target), "WriteTxnMarkers");
  if (!response.ok()) return response.error();
  return abort_marker_error(*response, target);
}

}  // namespace fjord::cli
