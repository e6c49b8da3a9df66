// Transactions: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// WriteTxnMarkers, DescribeTransactions, ListTransactions and DescribeProducers.
// Each transactional request runs on the shard owning the id's
// __transaction_state partition (TxnCoordinator), where src/txn decides it;
// this file translates requests and outcomes. docs/transactions.md.
#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "broker/broker.h"
#include "broker/cross_shard.h"
#include "broker/request_checks.h"
#include "protocol/generated/add_offsets_to_txn_request.h"
#include "protocol/generated/add_offsets_to_txn_response.h"
#include "protocol/generated/add_partitions_to_txn_request.h"
#include "protocol/generated/add_partitions_to_txn_response.h"
#include "protocol/generated/describe_producers_request.h"
#include "protocol/generated/describe_producers_response.h"
#include "protocol/generated/describe_transactions_request.h"
#include "protocol/generated/describe_transactions_response.h"
#include "protocol/generated/end_txn_request.h"
#include "protocol/generated/end_txn_response.h"
#include "protocol/generated/init_producer_id_request.h"
#include "protocol/generated/init_producer_id_response.h"
#include "protocol/generated/list_transactions_request.h"
#include "protocol/generated/list_transactions_response.h"
#include "protocol/generated/write_txn_markers_request.h"
#include "protocol/generated/write_txn_markers_response.h"

namespace fjord::broker {

namespace p = protocol;

namespace {

// The first versions that know PRODUCER_FENCED (KIP-588); older clients get
// INVALID_PRODUCER_EPOCH, as Kafka answers them.
constexpr int16_t kInitProducerIdFencedVersion = 4;
constexpr int16_t kTxnRequestFencedVersion = 2;

ErrorCode for_version(ErrorCode error, int16_t version, int16_t fenced_since) {
  if (error == ErrorCode::kProducerFenced && version < fenced_since) {
    return ErrorCode::kInvalidProducerEpoch;
  }
  return error;
}

}  // namespace

boost::asio::awaitable<ErrorCode> Broker::ensure_txn_state_topic() {
  if (txns_.active()) {
    co_return ErrorCode::kNone;
  }
  const std::string name(kTransactionStateTopic);
  const auto& config = txns_.config();
  auto opened =
      co_await open_internal_topic(name, config.txn.state_partitions, config.state_segment_bytes);
  if (!opened) {
    co_return opened.error().code;
  }
  txns_.activate(*opened);
  co_return ErrorCode::kNone;
}

boost::asio::awaitable<p::InitProducerIdResponse> Broker::init_producer_id(
    const RequestContext& context, p::InitProducerIdRequest& request) {
  p::InitProducerIdResponse response;
  response.producer_epoch = -1;
  if (!request.transactional_id) {
    // An idempotent producer: a new id at epoch 0, nothing stored.
    auto producer_id = txns_.next_producer_id();
    if (!producer_id) {
      response.error_code = to_wire(ErrorCode::kCoordinatorNotAvailable);
      co_return response;
    }
    response.producer_id = *producer_id;
    response.producer_epoch = 0;
    co_return response;
  }
  std::optional<txn::ProducerIdAndEpoch> expected;
  const bool no_id = request.producer_id == txn::kNoProducerId;
  const bool no_epoch = request.producer_epoch == txn::kNoProducerEpoch;
  if (no_id != no_epoch) {
    response.error_code = to_wire(ErrorCode::kInvalidRequest);
    co_return response;
  }
  if (!no_id) expected = txn::ProducerIdAndEpoch{request.producer_id, request.producer_epoch};
  ErrorCode ready = co_await ensure_txn_state_topic();
  if (ready == ErrorCode::kNone) ready = txn_coordinator_check(*request.transactional_id);
  if (ready != ErrorCode::kNone) {
    response.error_code = to_wire(ready);
    co_return response;
  }
  const std::string id = *request.transactional_id;
  const int32_t timeout_ms = request.transaction_timeout_ms;
  TxnWork<txn::InitResult> work = [id, timeout_ms, expected](
                                      txn::TxnRegistry& registry,
                                      std::function<void(txn::InitResult)> reply) {
    registry.init_producer_id(id, timeout_ms, expected, std::move(reply));
  };
  const txn::InitResult result = co_await txns_.run<txn::InitResult>(id, work);
  response.error_code =
      to_wire(for_version(result.error, context.api_version, kInitProducerIdFencedVersion));
  if (result.error == ErrorCode::kNone) {
    response.producer_id = result.producer_id;
    response.producer_epoch = result.producer_epoch;
  }
  co_return response;
}

boost::asio::awaitable<p::AddPartitionsToTxnResponse> Broker::add_partitions_to_txn(
    const RequestContext& context, p::AddPartitionsToTxnRequest& request) {
  // Any partition of a topic that does not exist fails the whole request.
  const auto image = controller_.image();
  std::vector<txn::TopicPartition> partitions;
  bool any_unknown = false;
  for (const auto& topic : request.v3_and_below_topics) {
    const metadata::TopicInfo* info = image->find(topic.name);
    for (int32_t index : topic.partitions) {
      if (!partition_exists(info, index)) any_unknown = true;
      partitions.push_back({topic.name, index});
    }
  }
  ErrorCode error = ErrorCode::kNone;
  if (!any_unknown) {
    error = co_await ensure_txn_state_topic();
  }
  if (!any_unknown && error == ErrorCode::kNone) {
    error = txn_coordinator_check(request.v3_and_below_transactional_id);
  }
  if (!any_unknown && error == ErrorCode::kNone) {
    const std::string id = request.v3_and_below_transactional_id;
    const txn::ProducerIdAndEpoch producer{request.v3_and_below_producer_id,
                                           request.v3_and_below_producer_epoch};
    TxnWork<ErrorCode> work = [id, producer, partitions](txn::TxnRegistry& registry,
                                                         std::function<void(ErrorCode)> reply) {
      registry.add_partitions(id, producer, partitions, std::move(reply));
    };
    error = co_await txns_.run<ErrorCode>(id, work);
    error = for_version(error, context.api_version, kTxnRequestFencedVersion);
  }
  p::AddPartitionsToTxnResponse response;
  for (const auto& topic : request.v3_and_below_topics) {
    const metadata::TopicInfo* info = image->find(topic.name);
    auto& topic_result = response.results_by_topic_v3_and_below.emplace_back();
    topic_result.name = topic.name;
    for (int32_t index : topic.partitions) {
      auto& result = topic_result.results_by_partition.emplace_back();
      result.partition_index = index;
      ErrorCode code = error;
      if (any_unknown) {
        code = partition_exists(info, index) ? ErrorCode::kOperationNotAttempted
                                             : ErrorCode::kUnknownTopicOrPartition;
      }
      result.partition_error_code = to_wire(code);
    }
  }
  co_return response;
}

boost::asio::awaitable<p::AddOffsetsToTxnResponse> Broker::add_offsets_to_txn(
    const RequestContext& context, p::AddOffsetsToTxnRequest& request) {
  p::AddOffsetsToTxnResponse response;
  // The markers of the transaction go to the group's __consumer_offsets partition.
  ErrorCode error = co_await ensure_offsets_topic();
  if (error == ErrorCode::kNone) {
    error = co_await ensure_txn_state_topic();
  }
  if (error == ErrorCode::kNone) error = txn_coordinator_check(request.transactional_id);
  if (error != ErrorCode::kNone) {
    response.error_code = to_wire(error);
    co_return response;
  }
  const std::string id = request.transactional_id;
  const txn::ProducerIdAndEpoch producer{request.producer_id, request.producer_epoch};
  const std::vector<txn::TopicPartition> partitions = {
      {std::string(kOffsetsTopic), groups_.partition_for(request.group_id)}};
  TxnWork<ErrorCode> work = [id, producer, partitions](txn::TxnRegistry& registry,
                                                       std::function<void(ErrorCode)> reply) {
    registry.add_partitions(id, producer, partitions, std::move(reply));
  };
  error = co_await txns_.run<ErrorCode>(id, work);
  response.error_code = to_wire(for_version(error, context.api_version, kTxnRequestFencedVersion));
  co_return response;
}

boost::asio::awaitable<p::EndTxnResponse> Broker::end_txn(const RequestContext& context,
                                                          p::EndTxnRequest& request) {
  p::EndTxnResponse response;
  ErrorCode error = co_await ensure_txn_state_topic();
  if (error == ErrorCode::kNone) error = txn_coordinator_check(request.transactional_id);
  if (error != ErrorCode::kNone) {
    response.error_code = to_wire(error);
    co_return response;
  }
  const std::string id = request.transactional_id;
  const txn::ProducerIdAndEpoch producer{request.producer_id, request.producer_epoch};
  const bool commit = request.committed;
  TxnWork<ErrorCode> work = [id, producer, commit](txn::TxnRegistry& registry,
                                                   std::function<void(ErrorCode)> reply) {
    registry.end_txn(id, producer, commit, std::move(reply));
  };
  error = co_await txns_.run<ErrorCode>(id, work);
  response.error_code = to_wire(for_version(error, context.api_version, kTxnRequestFencedVersion));
  co_return response;
}

// Kafka's coordinators send this to partition leaders; Fjord's coordinator writes
// markers itself, but tools and tests may send it.
boost::asio::awaitable<p::WriteTxnMarkersResponse> Broker::write_txn_markers(
    const RequestContext&, p::WriteTxnMarkersRequest& request) {
  p::WriteTxnMarkersResponse response;
  for (const auto& marker : request.markers) {
    std::vector<TxnMarkerTarget> targets;
    for (const auto& topic : marker.topics) {
      for (int32_t index : topic.partition_indexes) targets.push_back({topic.name, index});
    }
    std::vector<ErrorCode> errors =
        co_await partitions_.write_txn_markers(targets, marker.producer_id, marker.producer_epoch,
                                               marker.transaction_result, marker.coordinator_epoch);
    // A partition of a known topic that is not hosted here is another
    // broker's: the sender must retry at its leader, not drop the marker.
    const auto image = controller_.image();
    for (size_t i = 0; i < targets.size() && i < errors.size(); ++i) {
      const metadata::TopicInfo* topic = image->find(targets[i].topic);
      if (errors[i] == ErrorCode::kUnknownTopicOrPartition && topic != nullptr &&
          targets[i].partition >= 0 && targets[i].partition < topic->partition_count) {
        errors[i] = ErrorCode::kNotLeaderOrFollower;
      }
    }
    auto& result = response.markers.emplace_back();
    result.producer_id = marker.producer_id;
    size_t at = 0;
    for (const auto& topic : marker.topics) {
      auto& topic_result = result.topics.emplace_back();
      topic_result.name = topic.name;
      for (int32_t index : topic.partition_indexes) {
        auto& partition = topic_result.partitions.emplace_back();
        partition.partition_index = index;
        const ErrorCode error = at < errors.size() ? errors[at] : ErrorCode::kUnknownServerError;
        partition.error_code = to_wire(error);
        ++at;
      }
    }
  }
  co_return response;
}

boost::asio::awaitable<p::DescribeTransactionsResponse> Broker::describe_transactions(
    const RequestContext&, p::DescribeTransactionsRequest& request) {
  p::DescribeTransactionsResponse response;
  for (const std::string& id : request.transactional_ids) {
    txn::TxnDescription description;
    description.transactional_id = id;
    description.error = ErrorCode::kTransactionalIdNotFound;
    if (txns_.active() && !id.empty()) {
      TxnWork<txn::TxnDescription> work = [id](txn::TxnRegistry& registry,
                                               std::function<void(txn::TxnDescription)> reply) {
        reply(registry.describe(id));
      };
      description = co_await txns_.run<txn::TxnDescription>(id, work);
    }
    auto& state = response.transaction_states.emplace_back();
    state.error_code = to_wire(description.error);
    state.transactional_id = id;
    if (description.error != ErrorCode::kNone) continue;
    state.transaction_state = std::string(txn::state_name(description.state));
    state.transaction_timeout_ms = description.timeout_ms;
    state.transaction_start_time_ms = description.start_ms;
    state.producer_id = description.producer_id;
    state.producer_epoch = description.producer_epoch;
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& tp : description.partitions) by_topic[tp.topic].push_back(tp.partition);
    for (auto& [topic, indexes] : by_topic) {
      auto& topic_data = state.topics.emplace_back();
      topic_data.topic = topic;
      topic_data.partitions = std::move(indexes);
    }
  }
  co_return response;
}

boost::asio::awaitable<p::ListTransactionsResponse> Broker::list_transactions(
    const RequestContext& context, p::ListTransactionsRequest& request) {
  p::ListTransactionsResponse response;
  txn::ListFilter filter;
  for (const std::string& name : request.state_filters) {
    if (auto state = txn::parse_state(name)) {
      filter.states.push_back(*state);
    } else {
      response.unknown_state_filters.push_back(name);
    }
  }
  filter.producer_ids = request.producer_id_filters;
  filter.min_duration_ms = context.api_version >= 1 ? request.duration_filter : -1;
  // Only unknown states asked for: nothing matches (Kafka's reading).
  const bool none_can_match = !request.state_filters.empty() && filter.states.empty();
  if (!txns_.active() || none_can_match) {
    co_return response;
  }
  for (unsigned shard = 0; shard < partitions_.shards().count(); ++shard) {
    TxnWork<std::vector<txn::ListedTxn>> work =
        [filter](txn::TxnRegistry& registry,
                 std::function<void(std::vector<txn::ListedTxn>)> reply) {
          reply(registry.list(filter));
        };
    const std::vector<txn::ListedTxn> listed =
        co_await txns_.run_on_shard<std::vector<txn::ListedTxn>>(shard, work);
    for (const auto& entry : listed) {
      auto& state = response.transaction_states.emplace_back();
      state.transactional_id = entry.transactional_id;
      state.producer_id = entry.producer_id;
      state.transaction_state = std::string(txn::state_name(entry.state));
    }
  }
  co_return response;
}

boost::asio::awaitable<p::DescribeProducersResponse> Broker::describe_producers(
    const RequestContext&, p::DescribeProducersRequest& request) {
  using PartitionResponse = p::DescribeProducersResponse::PartitionResponse;
  p::DescribeProducersResponse response;
  const auto image = controller_.image();
  for (const auto& topic : request.topics) {
    auto& topic_response = response.topics.emplace_back();
    topic_response.name = topic.name;
    const metadata::TopicInfo* info = image->find(topic.name);
    for (int32_t index : topic.partition_indexes) {
      PartitionResponse answer;
      answer.partition_index = index;
      if (!partition_exists(info, index)) {
        answer.error_code = to_wire(ErrorCode::kUnknownTopicOrPartition);
        topic_response.partitions.push_back(std::move(answer));
        continue;
      }
      answer = co_await run_on(partitions_.shards(), partitions_.shard_of(topic.name, index), [&] {
        PartitionResponse found;
        found.partition_index = index;
        Partition* partition = partitions_.find(topic.name, index);
        if (partition == nullptr) {
          found.error_code = to_wire(ErrorCode::kNotLeaderOrFollower);
          return found;
        }
        for (const storage::ProducerEntry* entry : partition->log->producers().entries()) {
          auto& state = found.active_producers.emplace_back();
          state.producer_id = entry->producer_id;
          state.producer_epoch = entry->epoch;
          state.last_sequence = entry->last_sequence();
          state.last_timestamp = entry->last_timestamp_ms;
          state.coordinator_epoch = -1;  // not kept per producer
          state.current_txn_start_offset = entry->current_txn_first_offset;
        }
        std::sort(found.active_producers.begin(), found.active_producers.end(),
                  [](const auto& a, const auto& b) { return a.producer_id < b.producer_id; });
        return found;
      });
      topic_response.partitions.push_back(std::move(answer));
    }
  }
  co_return response;
}

}  // namespace fjord::broker
