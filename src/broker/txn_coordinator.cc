#include "broker/txn_coordinator.h"

#include <fmt/core.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <future>

#include "broker/broker.h"
#include "broker/coordinator_append.h"
#include "broker/latch.h"
#include "broker/log_replay.h"
#include "records/batch.h"

namespace fjord::broker {
namespace {

// Replaying reads the log in chunks of whole batches.

// The markers of one decision, kept alive for the coroutine that writes them.
struct MarkerJob {
  std::vector<TxnMarkerTarget> targets;
  txn::MarkerRequest request;
};

boost::asio::awaitable<std::vector<ErrorCode>> write_marker_job(PartitionManager& partitions,
                                                                std::shared_ptr<MarkerJob> job) {
  const std::vector<TxnMarkerTarget>& targets = job->targets;
  const txn::MarkerRequest& request = job->request;
  std::vector<ErrorCode> errors =
      co_await partitions.write_txn_markers(targets, request.producer_id, request.producer_epoch,
                                            request.commit, request.coordinator_epoch);
  co_return errors;
}

// A cluster node: the markers of partitions hosted here are written here, the
// others are sent to their leaders, all at once.
boost::asio::awaitable<std::vector<ErrorCode>> route_marker_job(
    PartitionManager& partitions, RemoteMarkerWriter& remote,
    std::shared_ptr<const metadata::MetadataImage> image, std::shared_ptr<MarkerJob> job) {
  const std::vector<TxnMarkerTarget>& targets = job->targets;
  const txn::MarkerRequest& request = job->request;
  const MarkerPlan plan = plan_markers(*image, partitions, targets);
  auto executor = co_await boost::asio::this_coro::executor;
  auto codes = std::make_shared<std::vector<ErrorCode>>(plan.codes);
  auto sent = Latch::make(executor, plan.remote.size());
  for (const auto& [address, indexes] : plan.remote) {
    std::vector<TxnMarkerTarget> subset;
    for (size_t i : indexes) subset.push_back(targets[i]);
    remote.write(address, std::move(subset), request,
                 [codes, sent, indexes, executor](std::vector<ErrorCode> answer) {
                   boost::asio::post(executor, [codes, sent, indexes, answer = std::move(answer)] {
                     for (size_t k = 0; k < indexes.size() && k < answer.size(); ++k) {
                       // The topic is in this node's image (plan_markers checked):
                       // a leader that does not know it yet (restarting, not
                       // caught up) must be asked again, not skipped.
                       const ErrorCode code = answer[k] == ErrorCode::kUnknownTopicOrPartition
                                                  ? ErrorCode::kNotLeaderOrFollower
                                                  : answer[k];
                       (*codes)[indexes[k]] = code;
                     }
                     sent->arrive();
                   });
                 });
  }
  if (!plan.local.empty()) {
    std::vector<TxnMarkerTarget> local;
    for (size_t i : plan.local) local.push_back(targets[i]);
    const std::vector<ErrorCode> written =
        co_await partitions.write_txn_markers(local, request.producer_id, request.producer_epoch,
                                              request.commit, request.coordinator_epoch);
    for (size_t k = 0; k < plan.local.size() && k < written.size(); ++k) {
      (*codes)[plan.local[k]] = written[k];
    }
  }
  co_await sent->wait();
  co_return *codes;
}

}  // namespace

Result<int64_t> ProducerIdSource::next() {
  std::lock_guard lock(mutex_);
  if (next_ == end_) {
    auto first = controller_.allocate_producer_ids(kBlockSize, wall_clock_ms());
    if (!first && first.code() == ErrorCode::kNotController && forwarder_) {
      first = forwarder_(kBlockSize);
    }
    if (!first) return first.error();
    next_ = *first;
    end_ = *first + kBlockSize;
  }
  return next_++;
}

struct TxnCoordinator::ShardState {
  txn::TxnConfig config;  // the registry's, with the topic's partition count
  std::unique_ptr<txn::TxnRegistry> registry;
  int64_t since_abort_check_ms = 0;
  int64_t since_marker_retry_ms = 0;
  int64_t since_expiry_check_ms = 0;
};

TxnCoordinator::TxnCoordinator(const TxnCoordinatorConfig& config, PartitionManager& partitions,
                               metadata::Controller& controller)
    : config_(config),
      partitions_(partitions),
      controller_(controller),
      producer_ids_(controller),
      remote_markers_(config.marker_request_timeout_ms) {
  config_.txn.max_batch_bytes = static_cast<size_t>(config_.state_segment_bytes);
  for (unsigned i = 0; i < partitions.shards().count(); ++i) {
    shard_states_.push_back(std::make_unique<ShardState>());
  }
}

TxnCoordinator::~TxnCoordinator() = default;

int32_t TxnCoordinator::partition_for(std::string_view transactional_id) const {
  const int32_t count = partition_count_.load();
  return txn::txn_state_partition_for(transactional_id,
                                      count > 0 ? count : config_.txn.state_partitions);
}

// Created on first use on its own shard. The partition count is the topic's
// (fixed once created), whatever the setting says now.
txn::TxnRegistry& TxnCoordinator::registry_here() {
  auto& state = *shard_states_.at(static_cast<size_t>(runtime::ShardPool::current_shard()));
  if (!state.registry) {
    state.config = config_.txn;
    const int32_t count = partition_count_.load();
    if (count > 0) state.config.state_partitions = count;
    state.registry = std::make_unique<txn::TxnRegistry>(
        state.config,
        [this](int32_t partition, std::vector<uint8_t> batch, txn::DoneCallback done) {
          append(partition, std::move(batch), std::move(done));
        },
        [this](const txn::MarkerRequest& request,
               std::function<void(std::vector<ErrorCode>)> done) {
          write_markers(request, std::move(done));
        },
        [this] { return producer_ids_.next(); }, [] { return wall_clock_ms(); });
  }
  return *state.registry;
}

void TxnCoordinator::append(int32_t partition_index, std::vector<uint8_t> batch,
                            txn::DoneCallback done) {
  // Its batches carry no producer id, so the client path checks no sequence.
  append_durably(partitions_, kTransactionStateTopic, partition_index, std::move(batch),
                 storage::AppendOrigin::kClient, std::move(done));
}

// On the registry's shard; the answer comes back on it too.
void TxnCoordinator::write_markers(const txn::MarkerRequest& request,
                                   std::function<void(std::vector<ErrorCode>)> done) {
  auto job = std::make_shared<MarkerJob>();
  job->request = request;
  for (const auto& tp : request.partitions) job->targets.push_back({tp.topic, tp.partition});
  const size_t count = request.partitions.size();
  auto executor =
      partitions_.shards().executor(static_cast<unsigned>(runtime::ShardPool::current_shard()));
  auto work = partitions_.is_cluster_node()
                  ? route_marker_job(partitions_, remote_markers_, controller_.image(), job)
                  : write_marker_job(partitions_, job);
  boost::asio::co_spawn(
      executor, std::move(work),
      [done = std::move(done), count](std::exception_ptr failure, std::vector<ErrorCode> errors) {
        if (failure) errors.assign(count, ErrorCode::kUnknownServerError);
        done(std::move(errors));
      });
}

void TxnCoordinator::tick_here(int64_t elapsed_ms) {
  if (!active()) return;
  auto& state = *shard_states_.at(static_cast<size_t>(runtime::ShardPool::current_shard()));
  state.since_abort_check_ms += elapsed_ms;
  state.since_marker_retry_ms += elapsed_ms;
  state.since_expiry_check_ms += elapsed_ms;
  if (state.since_abort_check_ms >= config_.abort_check_interval_ms) {
    state.since_abort_check_ms = 0;
    registry_here().abort_timed_out();
  }
  if (state.since_marker_retry_ms >= config_.marker_retry_interval_ms) {
    state.since_marker_retry_ms = 0;
    registry_here().retry_markers();
  }
  if (state.since_expiry_check_ms >= config_.expiry_check_interval_ms) {
    state.since_expiry_check_ms = 0;
    registry_here().expire_ids();
  }
}

// Owner shard: rebuilds this partition's state from its whole log.
Status TxnCoordinator::replay_partition(int32_t partition_index) {
  Partition* partition = partitions_.find(std::string(kTransactionStateTopic), partition_index);
  if (partition == nullptr) {
    if (partitions_.is_cluster_node()) return {};  // placed on another node
    return Error{ErrorCode::kUnknownTopicOrPartition,
                 fmt::format("{}-{} is not open", kTransactionStateTopic, partition_index)};
  }
  return replay_log(*partition->log, fmt::format("{}-{}", kTransactionStateTopic, partition_index),
                    [&](std::span<const uint8_t> chunk) { return registry_here().replay(chunk); });
}

Status TxnCoordinator::load_all(const metadata::MetadataImage& image) {
  const metadata::TopicInfo* topic = image.find(std::string(kTransactionStateTopic));
  if (topic == nullptr) return {};
  activate(topic->partition_count);
  return replay_partitions(
      partitions_, kTransactionStateTopic, topic->partition_count,
      [this](int32_t partition) { return replay_partition(partition); },
      [this] { registry_here().finish_load(); });
}

}  // namespace fjord::broker
