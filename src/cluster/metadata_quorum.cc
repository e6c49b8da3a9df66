#include "cluster/metadata_quorum.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "common/check.h"
#include "metadata/controller_registration.h"
#include "metadata/metadata_log.h"
#include "metadata/snapshot.h"
#include "raft/log_storage/log_storage.h"
#include "raft/transport/runtime.h"
#include "records/builder.h"
#include "records/record.h"

namespace fjord::cluster {
namespace {

constexpr size_t kMaxBatchRecordsBytes = 64 << 20;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string metadata_dir_name() { return std::string(metadata::kMetadataTopic) + "-0"; }

raft::Config initial_config(const MetadataQuorumOptions& options) {
  raft::Config config;
  for (const QuorumPeer& peer : options.voters) config.voters.push_back(peer.id);
  std::sort(config.voters.begin(), config.voters.end());
  return config;
}

Result<raft::Bytes> build_batch(const std::vector<std::vector<uint8_t>>& records, int64_t now_ms) {
  records::BatchBuilder builder;
  for (const auto& value : records) {
    Status appended = builder.append(now_ms, std::nullopt, records::Bytes(value));
    if (!appended) return appended.error();
  }
  auto built = builder.build();
  if (!built) return built.error();
  return raft::Bytes(built->begin(), built->end());
}

}  // namespace

struct MetadataQuorum::Impl {
  Impl(const MetadataQuorumOptions& o, metadata::MetadataStateMachine& m)
      : options(o), machine(m), work(boost::asio::make_work_guard(io)), poll_timer(io) {}

  MetadataQuorumOptions options;
  metadata::MetadataStateMachine& machine;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  boost::asio::steady_timer poll_timer;
  std::shared_ptr<raft::LogStorage> storage;
  std::unique_ptr<raft::RaftRuntime> runtime;
  std::thread thread;

  // Written on the runtime's thread, read anywhere.
  std::atomic<int32_t> leader{-1};
  std::atomic<int64_t> epoch{0};
  std::atomic<bool> active{false};
  std::atomic<bool> caught_up{false};
  // Runtime thread only.
  raft::Term applied_leader_change_term = -1;
  int64_t bytes_since_snapshot = 0;
  // Serializes a snapshot off the runtime's thread (a large image takes about
  // a second, longer than an election timeout); one at a time.
  std::thread snapshot_writer;
  std::atomic<bool> snapshot_running{false};
  std::vector<uint8_t> scratch;
  std::mutex listener_mutex;
  std::function<void()> listener;
  mutable std::mutex peers_mutex;
  std::map<int32_t, HostPort> peers;  // guarded by peers_mutex; written on the runtime's thread

  // Gives the transport the address of every controller the image registered
  // (runtime thread).
  void learn_addresses(const metadata::MetadataImage& image) {
    std::lock_guard lock(peers_mutex);
    for (const auto& [id, controller] : image.controllers) {
      HostPort address{controller.host, controller.port};
      auto known = peers.find(id);
      if (known != peers.end() && known->second.host == address.host &&
          known->second.port == address.port) {
        continue;
      }
      peers[id] = address;
      if (id != options.node_id) {
        runtime->transport().set_peer({id, address.host, address.port});
      }
    }
  }

  void notify() {
    std::function<void()> copy;
    {
      std::lock_guard lock(listener_mutex);
      copy = listener;
    }
    if (copy) copy();
  }

  // Applies one committed entry to the state machine (runtime thread).
  void apply(const raft::Entry& entry) {
    if (entry.type == raft::EntryType::kLeaderChange) {
      applied_leader_change_term = entry.term;
      refresh_state();
      return;
    }
    if (entry.type != raft::EntryType::kData || entry.data == nullptr) return;
    auto applied =
        records::for_each_record(records::Bytes(*entry.data), scratch, kMaxBatchRecordsBytes,
                                 [&](const records::Record& record) -> Status {
                                   if (!record.value) return {};
                                   auto view = metadata::parse_metadata_record(*record.value);
                                   if (!view) return view.error();
                                   return machine.apply(entry.offset + record.offset_delta, *view);
                                 });
    // Every node applies the same committed log; one that cannot is broken and
    // must not serve a different image.
    if (!applied.ok()) {
      const std::string why = fmt::format("metadata entry at offset {} cannot be applied: {}",
                                          entry.offset, applied.error().message);
      FJORD_CHECK(applied.ok(), why.c_str());
    }
    machine.publish();
    learn_addresses(*machine.image());
    notify();
    bytes_since_snapshot += static_cast<int64_t>(entry.data->size());
    if (bytes_since_snapshot >= options.snapshot_after_bytes) start_snapshot(entry);
  }

  // Writes a snapshot of the image as of `entry` (just applied and published)
  // on a thread of its own; the runtime then records it, which drops the log
  // below it. A snapshot always ends after a data entry, so its image's last
  // applied offset is end_offset - 1.
  void start_snapshot(const raft::Entry& entry) {
    if (snapshot_running.exchange(true)) return;  // the next entry tries again
    if (snapshot_writer.joinable()) snapshot_writer.join();
    bytes_since_snapshot = 0;
    snapshot_writer = std::thread([this, image = machine.image(), end = entry.end_offset(),
                                   term = static_cast<int32_t>(entry.term)] {
      auto data =
          std::make_shared<const raft::Bytes>(metadata::write_snapshot(*image, term, now_ms()));
      runtime->post([this, end, data] {
        // A newer snapshot installed from the leader meanwhile makes this one a no-op.
        Status taken = runtime->with_raft(kMetadataGroup, [&](raft::Raft& raft) -> Status {
          raft.snapshot_taken(end, data);
          return {};
        });
        (void)taken;  // only fails once the group is gone (shutting down)
        snapshot_running.store(false);
      });
    });
  }

  // Replaces the image with a snapshot: the newest one in storage at start-up,
  // or one the leader sent because our log was too far behind.
  void restore(const raft::SnapshotMeta& meta, const std::shared_ptr<const raft::Bytes>& data) {
    FJORD_CHECK(data != nullptr, "a metadata snapshot without data");
    auto image = metadata::load_snapshot(*data, meta.end_offset, options.cluster_id);
    if (!image.ok()) {
      const std::string why =
          fmt::format("the metadata snapshot ending at offset {} cannot be loaded: {}",
                      meta.end_offset, image.error().message);
      FJORD_CHECK(image.ok(), why.c_str());
    }
    fmt::print(stderr,
               "fjord: metadata: loaded the snapshot ending at offset {} ({} topics, {} brokers)\n",
               meta.end_offset, (*image)->topics.size(), (*image)->brokers.size());
    machine.reset(std::move(*image));
    learn_addresses(*machine.image());
    // Every leader's first entry is its LeaderChange, so the snapshot holds the
    // LeaderChange of every term up to its last entry's.
    applied_leader_change_term = std::max(applied_leader_change_term, meta.last_term);
    bytes_since_snapshot = 0;
    notify();
  }

  // Leader, epoch and whether this node is the active controller (runtime thread).
  void refresh_state() {
    auto status = runtime->status(kMetadataGroup);
    if (!status.ok()) return;
    const bool leading = status->role == raft::Role::kLeader;
    const int32_t leader_now = leading ? options.node_id : status->leader;
    const bool current_term_applied = applied_leader_change_term == status->term;
    const bool active_now = leading && current_term_applied;
    if (current_term_applied && status->leader != raft::kNoNode &&
        status->applied_offset >= status->high_watermark) {
      caught_up.store(true);  // stays true: later images only add what is newer
    }
    // Followers report the leader they follow; a leader is reported only once
    // active, so no client is sent to a controller that would refuse it.
    const int32_t reported = leading && !active_now ? -1 : leader_now;
    const bool changed = leader.exchange(reported) != reported ||
                         epoch.exchange(status->term) != status->term ||
                         active.exchange(active_now) != active_now;
    if (changed) notify();
  }

  void schedule_poll() {
    poll_timer.expires_after(std::chrono::milliseconds(options.tick_interval_ms));
    poll_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      refresh_state();
      schedule_poll();
    });
  }
};

MetadataQuorum::MetadataQuorum(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetadataQuorum::~MetadataQuorum() { stop(); }

Result<std::unique_ptr<MetadataQuorum>> MetadataQuorum::start(
    const MetadataQuorumOptions& options, metadata::MetadataStateMachine& machine) {
  auto impl = std::make_unique<Impl>(options, machine);
  auto opened = raft::LogStorage::open(options.data_dir / metadata_dir_name());
  if (!opened) return opened.error();
  impl->storage = std::shared_ptr<raft::LogStorage>(std::move(*opened));
  raft::Storage& storage = *impl->storage;
  const bool brand_new = storage.end_offset() == 0 && storage.snapshot_meta().config.voters.empty();
  const bool initial_voter =
      std::any_of(options.voters.begin(), options.voters.end(),
                  [&](const QuorumPeer& peer) { return peer.id == options.node_id; });
  if (brand_new && initial_voter) {
    raft::Raft::bootstrap(storage, initial_config(options));
    storage.sync();
  } else if (brand_new) {
    // A joining node must not invent a configuration of its own: it learns
    // the cluster's from the leader once it is added.
    fmt::print(stderr,
               "fjord: node {} is not among controller.quorum.voters: it waits to be added "
               "to the metadata quorum (fjord cluster add-voter --id {} --endpoint {}:{})\n",
               options.node_id, options.node_id, options.listener.host, options.listener.port);
  }

  raft::transport::TransportOptions transport;
  transport.self = options.node_id;
  transport.cluster_id = options.cluster_id;
  transport.listen_host = options.listener.host;
  transport.listen_port = options.listener.port;
  raft::RuntimeOptions runtime;
  runtime.tick_interval_ms = options.tick_interval_ms;
  runtime.election_ticks = std::max(2, options.election_timeout_ms / options.tick_interval_ms);
  runtime.heartbeat_ticks = std::max(1, runtime.election_ticks / 10);
  runtime.proposal_timeout_ms = options.request_timeout_ms;
  impl->runtime = std::make_unique<raft::RaftRuntime>(impl->io, transport, runtime);
  {
    std::lock_guard lock(impl->peers_mutex);
    impl->peers[options.node_id] = options.listener;
    for (const QuorumPeer& peer : options.voters) {
      if (peer.id == options.node_id) continue;
      impl->peers[peer.id] = peer.address;
      impl->runtime->transport().set_peer({peer.id, peer.address.host, peer.address.port});
    }
  }
  Impl* raw = impl.get();
  raft::GroupSpec spec;
  spec.group = kMetadataGroup;
  spec.storage = impl->storage;
  spec.callbacks.apply = [raw](const raft::Entry& entry) { raw->apply(entry); };
  spec.callbacks.restore = [raw](const raft::SnapshotMeta& meta,
                                 const std::shared_ptr<const raft::Bytes>& data) {
    raw->restore(meta, data);
  };
  if (Status added = impl->runtime->add_group(std::move(spec)); !added) return added.error();
  if (Status started = impl->runtime->start(); !started) {
    return Error{started.error().code,
                 fmt::format("cannot start the Raft transport on {}:{}: {}", options.listener.host,
                             options.listener.port, started.error().message)};
  }
  impl->schedule_poll();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<MetadataQuorum>(new MetadataQuorum(std::move(impl)));
}

void MetadataQuorum::set_listener(std::function<void()> listener) {
  std::lock_guard lock(impl_->listener_mutex);
  impl_->listener = std::move(listener);
}

std::vector<QuorumPeer> MetadataQuorum::addresses() const {
  std::lock_guard lock(impl_->peers_mutex);
  std::vector<QuorumPeer> out;
  for (const auto& [id, address] : impl_->peers) out.push_back({id, address});
  return out;
}

QuorumState MetadataQuorum::state() const {
  return QuorumState{impl_->leader.load(), impl_->epoch.load()};
}

bool MetadataQuorum::is_active_controller() const { return impl_->active.load(); }

bool MetadataQuorum::caught_up() const { return impl_->caught_up.load(); }

Result<int64_t> MetadataQuorum::commit(const std::vector<std::vector<uint8_t>>& records,
                                       int64_t now_ms) {
  if (!is_active_controller()) {
    return Error{ErrorCode::kNotController,
                 fmt::format("node {} is not the active controller (the controller is {})",
                             impl_->options.node_id, impl_->leader.load())};
  }
  auto batch = build_batch(records, now_ms);
  if (!batch) return batch.error();
  const auto count = static_cast<int32_t>(records.size());
  auto promise = std::make_shared<std::promise<Result<raft::Offset>>>();
  auto future = promise->get_future();
  raft::RaftRuntime* runtime = impl_->runtime.get();
  runtime->post([runtime, promise, count, data = std::move(*batch)]() mutable {
    runtime->propose(
        kMetadataGroup, std::move(data),
        [promise](Result<raft::Offset> result) { promise->set_value(std::move(result)); }, count);
  });
  // The runtime fails a proposal after request_timeout_ms itself; the margin
  // only guards against a stopped runtime.
  const auto limit = std::chrono::milliseconds(impl_->options.request_timeout_ms + 5000);
  if (future.wait_for(limit) != std::future_status::ready) {
    return Error{ErrorCode::kRequestTimedOut, "the metadata quorum did not answer"};
  }
  Result<raft::Offset> offset = future.get();
  if (!offset.ok()) {
    if (offset.code() == ErrorCode::kNotLeaderOrFollower) {
      return Error{ErrorCode::kNotController, "leadership of the metadata quorum moved"};
    }
    return offset.error();
  }
  return *offset + count - 1;
}

Result<QuorumReport> MetadataQuorum::report() const {
  auto promise = std::make_shared<std::promise<Result<QuorumReport>>>();
  auto future = promise->get_future();
  raft::RaftRuntime* runtime = impl_->runtime.get();
  const int tick_interval_ms = impl_->options.tick_interval_ms;
  runtime->post([runtime, promise, tick_interval_ms] {
    auto status = runtime->status(kMetadataGroup);
    if (!status) {
      promise->set_value(status.error());
      return;
    }
    promise->set_value(QuorumReport{
        std::move(*status), static_cast<int64_t>(runtime->stats().ticks), tick_interval_ms});
  });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return Error{ErrorCode::kRequestTimedOut, "the metadata quorum did not answer"};
  }
  return future.get();
}

// Runs `change` on the runtime's thread; the config entry's offset.
Result<raft::Offset> MetadataQuorum::propose_change(const raft::ConfigChange& change,
                                                    const std::optional<HostPort>& address) {
  auto promise = std::make_shared<std::promise<Result<raft::Offset>>>();
  auto future = promise->get_future();
  raft::RaftRuntime* runtime = impl_->runtime.get();
  runtime->post([runtime, promise, change, address] {
    if (address) runtime->transport().set_peer({change.node, address->host, address->port});
    Result<raft::Offset> offset = Error{ErrorCode::kNotLeaderOrFollower, "not the leader"};
    Status ran = runtime->with_raft(kMetadataGroup, [&](raft::Raft& raft) -> Status {
      offset = raft.change_config(change);
      return offset.ok() ? Status{} : Status{offset.error()};
    });
    promise->set_value(ran.ok() ? std::move(offset) : Result<raft::Offset>(ran.error()));
  });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    return Error{ErrorCode::kRequestTimedOut, "the metadata quorum did not answer"};
  }
  return future.get();
}

// Polls until `done(report)` holds; fails if time runs out or, when
// `leader_only`, as soon as this node no longer leads.
Status MetadataQuorum::wait_for(const std::function<bool(const QuorumReport&)>& done,
                                std::chrono::steady_clock::time_point deadline, const char* what,
                                bool leader_only) {
  for (;;) {
    auto report = this->report();
    if (!report) return report.error();
    if (leader_only && report->raft.role != raft::Role::kLeader) {
      return Error{ErrorCode::kNotLeaderOrFollower, "leadership moved during the change"};
    }
    if (done(*report)) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{ErrorCode::kRequestTimedOut, std::string("timed out waiting until ") + what};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Commits the voter's Raft address unless the image already has it.
Status MetadataQuorum::register_address(int32_t id, const HostPort& address) {
  const auto image = impl_->machine.image();
  auto known = image->controllers.find(id);
  if (known != image->controllers.end() && known->second.host == address.host &&
      known->second.port == address.port) {
    return {};
  }
  auto committed =
      commit({metadata::framed_register_controller({id, address.host, address.port})}, now_ms());
  if (!committed) return committed.error();
  return {};
}

Status MetadataQuorum::add_voter(int32_t id, const HostPort& address, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto current = report();
  if (!current) return current.error();
  const raft::Config& config = current->raft.config;
  if (std::find(config.voters.begin(), config.voters.end(), id) != config.voters.end()) {
    return Error{ErrorCode::kDuplicateVoter, fmt::format("node {} is already a voter", id)};
  }
  if (Status registered = register_address(id, address); !registered) return registered;
  const auto committed = [](raft::Offset offset) {
    return [offset](const QuorumReport& r) { return r.raft.high_watermark > offset; };
  };
  const bool learner =
      std::find(config.learners.begin(), config.learners.end(), id) != config.learners.end();
  if (!learner) {
    auto added = propose_change({raft::ConfigChangeType::kAddLearner, id}, address);
    if (!added) return added.error();
    if (Status s = wait_for(committed(*added), deadline, "the learner is added"); !s) return s;
  }
  // Promote only a learner that has caught up, so the new majority can commit.
  const auto caught_up = [id](const QuorumReport& r) {
    for (const raft::ReplicaProgress& progress : r.raft.replicas) {
      if (progress.node == id) return progress.match_end_offset >= r.raft.high_watermark;
    }
    return false;
  };
  if (Status s = wait_for(caught_up, deadline, "the new voter caught up"); !s) return s;
  auto promoted = propose_change({raft::ConfigChangeType::kAddVoter, id}, address);
  if (!promoted) return promoted.error();
  return wait_for(committed(*promoted), deadline, "the new voter is committed");
}

Status MetadataQuorum::remove_voter(int32_t id, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto current = report();
  if (!current) return current.error();
  const raft::Config& config = current->raft.config;
  if (std::find(config.voters.begin(), config.voters.end(), id) == config.voters.end()) {
    return Error{ErrorCode::kVoterNotFound, fmt::format("node {} is not a voter", id)};
  }
  auto removed = propose_change({raft::ConfigChangeType::kRemoveVoter, id}, std::nullopt);
  if (!removed) return removed.error();
  const raft::Offset offset = *removed;
  // A leader removing itself steps down once the change commits, so it waits
  // for the commit whatever its role.
  const bool leader_only = id != impl_->options.node_id;
  return wait_for([offset](const QuorumReport& r) { return r.raft.high_watermark > offset; },
                  deadline, "the removal is committed", leader_only);
}

void MetadataQuorum::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  Impl* raw = impl_.get();
  boost::asio::post(raw->io, [raw] {
    raw->poll_timer.cancel();
    raw->runtime->stop();
  });
  raw->work.reset();
  raw->thread.join();
  // Its post() to the stopped runtime is dropped: the snapshot is not recorded.
  if (raw->snapshot_writer.joinable()) raw->snapshot_writer.join();
  if (Status closed = raw->storage->close(); !closed) {
    fmt::print(stderr, "fjord: closing the metadata log: {}\n", closed.error().message);
  }
}

}  // namespace fjord::cluster
