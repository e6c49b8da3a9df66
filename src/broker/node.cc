#include "broker/node.h"

#include <fmt/core.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <thread>

#include "broker/broker.h"
#include "broker/group_coordinator.h"
#include "broker/cluster_membership.h"
#include "broker/partition_manager.h"
#include "broker/partition_reconciler.h"
#include "broker/txn_coordinator.h"
#include "metadata/controller.h"
#include "net/server.h"
#include "runtime/shards.h"

namespace fjord::broker {
namespace {

constexpr int64_t kMaintenanceTickMs = 200;
// Session and rebalance timeouts are checked this often.
constexpr int64_t kGroupTickMs = 100;

// Many partitions mean many open segment files.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Per shard: flush.ms every tick; retention every log.retention.check.interval.ms;
// compaction scheduling every log.cleaner.backoff.ms.
// `stopping` is set at shutdown before the loops' timers are cancelled: a
// cancel that lands while a timer's completion is already queued finds nothing
// to cancel, so the loops check the flag too, or they would keep their shard
// (and the shutdown) running for ever.
boost::asio::awaitable<void> maintenance_loop(const std::atomic<bool>& stopping,
                                              PartitionManager& partitions,
                                              std::shared_ptr<boost::asio::steady_timer> timer,
                                              int64_t retention_check_interval_ms,
                                              int64_t cleaner_backoff_ms) {
  int64_t since_retention_ms = 0;
  int64_t since_cleaner_ms = 0;
  for (;;) {
    timer->expires_after(std::chrono::milliseconds(kMaintenanceTickMs));
    auto [ec] = co_await timer->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec || stopping.load()) {
      co_return;  // shutting down
    }
    since_retention_ms += kMaintenanceTickMs;
    const bool retention_due = since_retention_ms >= retention_check_interval_ms;
    if (retention_due) since_retention_ms = 0;
    since_cleaner_ms += kMaintenanceTickMs;
    const bool compaction_due = since_cleaner_ms >= cleaner_backoff_ms;
    if (compaction_due) since_cleaner_ms = 0;
    partitions.run_maintenance(wall_clock_ms(), retention_due, compaction_due);
  }
}

// Per shard: the timers of the groups and transactions this shard hosts.
boost::asio::awaitable<void> group_tick_loop(const std::atomic<bool>& stopping,
                                             GroupCoordinator& groups, TxnCoordinator& txns,
                                             std::shared_ptr<boost::asio::steady_timer> timer) {
  for (;;) {
    timer->expires_after(std::chrono::milliseconds(kGroupTickMs));
    auto [ec] = co_await timer->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec || stopping.load()) {
      co_return;  // shutting down
    }
    groups.tick_here(kGroupTickMs);
    txns.tick_here(kGroupTickMs);
  }
}

}  // namespace

int run_node(const NodeConfig& config) {
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();

  metadata::ControllerOptions options;
  options.data_dir = config.data_dir;
  options.cluster_id = config.cluster_id;
  options.default_partitions = config.num_partitions;
  options.default_replication_factor = static_cast<int16_t>(config.default_replication_factor);
  options.node_id = config.node_id;
  options.snapshot_after_bytes = config.metadata_snapshot_after_bytes;
  // On a cluster the metadata is a Raft log shared with the other voters; on a
  // single node it is the local metadata log.
  std::unique_ptr<ClusterMembership> membership;
  Result<std::unique_ptr<metadata::Controller>> controller =
      Error{ErrorCode::kUnknownServerError, "not opened"};
  if (config.quorum_voters.empty()) {
    controller = metadata::Controller::open(options, wall_clock_ms());
  } else {
    auto joined = ClusterMembership::join(config, options);
    if (!joined) {
      controller = joined.error();
    } else {
      membership = std::move(*joined);
      controller = membership->make_controller(options);
    }
  }
  if (!controller) {
    fmt::print(stderr, "fjord: cannot open the metadata in {}: {}\n", config.data_dir,
               controller.error().message);
    return 1;
  }

  const unsigned shard_count =
      config.shards != 0 ? config.shards : std::max(1u, std::thread::hardware_concurrency());
  runtime::ShardPool pool(shard_count);
  PartitionManager partitions(pool, config.data_dir, config.topic_defaults);
  partitions.set_producer_id_expiration_ms(config.producer_id_expiration_ms);
  if (membership) partitions.set_cluster_node(config.node_id);
  pool.start();
  // A cluster node opens its partitions once its metadata has caught up (the
  // reconciler, below); a single node's metadata is complete at once.
  if (Status opened = membership ? Status{} : partitions.open_all(*(*controller)->image());
      !opened) {
    fmt::print(stderr, "fjord: cannot open the partitions in {}: {}\n", config.data_dir,
               opened.error().message);
    pool.stop_and_join();
    return 1;
  }

  GroupCoordinatorConfig group_config;
  group_config.limits = config.group_limits;
  group_config.offsets_partitions = config.offsets_topic_partitions;
  group_config.offsets_segment_bytes = config.offsets_topic_segment_bytes;
  group_config.retention_check_interval_ms = config.offsets_retention_check_interval_ms;
  GroupCoordinator groups(group_config, partitions);
  partitions.set_txn_marker_listener(groups.marker_listener());
  if (Status loaded = membership ? Status{} : groups.load_all(*(*controller)->image()); !loaded) {
    fmt::print(stderr, "fjord: cannot load the consumer groups from {}: {}\n", kOffsetsTopic,
               loaded.error().message);
    partitions.close_all();
    pool.stop_and_join();
    return 1;
  }

  TxnCoordinatorConfig txn_config;
  txn_config.txn.max_timeout_ms = config.transaction_max_timeout_ms;
  txn_config.txn.id_expiration_ms = config.transactional_id_expiration_ms;
  txn_config.txn.state_partitions = config.transaction_state_partitions;
  txn_config.txn.offsets_partitions = config.offsets_topic_partitions;
  txn_config.state_segment_bytes = config.transaction_state_segment_bytes;
  txn_config.abort_check_interval_ms = config.transaction_abort_check_interval_ms;
  txn_config.expiry_check_interval_ms = config.transaction_expiry_check_interval_ms;
  TxnCoordinator txns(txn_config, partitions, **controller);
  if (Status loaded = membership ? Status{} : txns.load_all(*(*controller)->image()); !loaded) {
    fmt::print(stderr, "fjord: cannot load the transactions from {}: {}\n",
               kTransactionStateTopic, loaded.error().message);
    partitions.close_all();
    pool.stop_and_join();
    return 1;
  }

  net::ServerConfig server_config;
  server_config.host = config.listen_host;
  server_config.port = config.listen_port;
  server_config.max_frame_bytes = static_cast<size_t>(config.max_request_bytes);
  server_config.idle_timeout_ms = config.connections_max_idle_ms;
  // A single node is a quorum of its own; a cluster node reports the Raft group's.
  const std::unique_ptr<Quorum> single_node_quorum =
      membership ? nullptr : make_single_node_quorum(config, **controller);
  Quorum& quorum = membership ? membership->broker_quorum() : *single_node_quorum;
  Broker broker(config, **controller, partitions, groups, txns, quorum);
  net::Server server(pool, broker, server_config);
  if (Status started = server.start(); !started) {
    fmt::print(stderr, "fjord: {}\n", started.error().message);
    partitions.close_all();
    pool.stop_and_join();
    return 1;
  }
  // Clients behind a proxy or NAT are told the advertised port, as Kafka does.
  const uint16_t advertised_port =
      config.advertised_port != 0 ? config.advertised_port : server.port();
  broker.set_advertised_port(advertised_port);
  std::unique_ptr<PartitionReconciler> reconciler;
  if (membership) {
    reconciler = std::make_unique<PartitionReconciler>(partitions, groups, txns,
                                                       [&] { return membership->caught_up(); });
    membership->start_broker(**controller, *reconciler, advertised_port);
  }

  std::atomic<bool> stopping_loops{false};
  std::vector<std::shared_ptr<boost::asio::steady_timer>> timers;
  for (unsigned shard = 0; shard < shard_count; ++shard) {
    auto timer = std::make_shared<boost::asio::steady_timer>(pool.executor(shard));
    timers.push_back(timer);
    boost::asio::co_spawn(
        pool.executor(shard),
        maintenance_loop(stopping_loops, partitions, timer, config.log_retention_check_interval_ms,
                         config.log_cleaner_backoff_ms),
        boost::asio::detached);
    auto group_timer = std::make_shared<boost::asio::steady_timer>(pool.executor(shard));
    timers.push_back(group_timer);
    boost::asio::co_spawn(pool.executor(shard),
                          group_tick_loop(stopping_loops, groups, txns, group_timer),
                          boost::asio::detached);
  }

  fmt::print("fjord ready: kafka listener {}:{}, node {}, data {} (try: kcat -b {}:{} -L)\n",
             config.listen_host, server.port(), config.node_id, config.data_dir, config.listen_host,
             server.port());
  std::fflush(stdout);

  boost::asio::io_context signals_context(1);
  boost::asio::signal_set signals(signals_context, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int) {});
  signals_context.run();

  fmt::print(stderr, "fjord: shutting down\n");
  // A cluster node tells the controller first, so clients move to other nodes.
  if (membership) membership->stop_broker();
  if (reconciler) reconciler->stop();
  // Requests waiting on groups are answered first so that draining does not wait
  // for them; once more after draining for any that arrived meanwhile.
  groups.unload_all();
  server.shutdown(5000);
  stopping_loops.store(true);
  for (const auto& timer : timers) {
    boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
  groups.unload_all();
  partitions.close_all();
  Status closed = (*controller)->close();
  if (membership) membership->stop_quorum();
  pool.stop_and_join();
  if (!closed) {
    fmt::print(stderr, "fjord: closing the metadata log: {}\n", closed.error().message);
    return 1;
  }
  fmt::print(stderr, "fjord: stopped\n");
  return 0;
}

}  // namespace fjord::broker
