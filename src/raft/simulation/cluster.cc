#include "raft/simulation/cluster.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace fjord::raft::sim {
namespace {

constexpr GroupId kGroup = 1;
constexpr size_t kMaxEvents = 200'000;            // messages beyond this are dropped
constexpr size_t kMaxInbox = 4096;                // messages that wait for a node's sync
constexpr int kMaxPendingTicks = 1000;            // ticks that wait for a node's sync
constexpr size_t kTraceTail = 40;                 // events kept for a failure report
constexpr int kMaxReadyRounds = 10'000;           // a Ready loop longer than this never settles
constexpr int64_t kLivenessBoundUs = 20'000'000;  // quiet phase: progress within 20 s
constexpr int64_t kProbeIntervalUs = 20'000;
constexpr int64_t kProbeRetryUs = 500'000;

// A client payload: its id (8 bytes) then padding, so sizes vary.
std::shared_ptr<const Bytes> payload_bytes(uint64_t id, size_t padding) {
  auto bytes = std::make_shared<Bytes>(8 + padding, static_cast<uint8_t>(id));
  for (int i = 0; i < 8; ++i) (*bytes)[i] = static_cast<uint8_t>(id >> (8 * i));
  return bytes;
}

uint64_t payload_id(const Entry& entry) {
  if (entry.type != EntryType::kData || !entry.data || entry.data->size() < 8) return 0;
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id |= static_cast<uint64_t>((*entry.data)[i]) << (8 * i);
  return id;
}

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
    case Role::kLearner:
      return "learner";
  }
  return "?";
}

const char* message_name(MessageType type) {
  switch (type) {
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResponse";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResponse";
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResponse";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kSnapshotResponse:
      return "SnapshotResponse";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "?";
}

bool contains(const std::vector<NodeId>& nodes, NodeId node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

}  // namespace

struct Cluster::Node {
  NodeId id = kNoNode;
  uint64_t incarnation = 0;
  bool up = false;
  SimDisk disk;
  std::unique_ptr<Raft> raft;
  std::optional<Ready> waiting_for_sync;  // a Ready whose sync is in progress
  std::deque<Message> inbox;              // arrived during that sync
  int pending_ticks = 0;
  int64_t tick_us = 10'000;
  // The state machine: everything below applied_end, as a chain digest.
  Offset applied_end = 0;
  uint64_t digest = 0;
  Offset last_high_watermark = 0;    // within this incarnation, never goes back
  Role last_role = Role::kFollower;  // for the trace
  Term last_term = 0;
};

struct Cluster::Event {
  int64_t time_us = 0;
  uint64_t seq = 0;
  EventKind kind = EventKind::kTick;
  NodeId node = kNoNode;
  uint64_t incarnation = 0;
  Message message{};
};

namespace {
struct LaterEvent {
  template <typename E>
  bool operator()(const E& a, const E& b) const {
    return a.time_us != b.time_us ? a.time_us > b.time_us : a.seq > b.seq;
  }
};
}  // namespace

Cluster::Cluster(const SimOptions& options) : options_(options), rng_(options.seed) {}
Cluster::~Cluster() = default;

// ---- Setup -----------------------------------------------------------------

void Cluster::choose_scenario() {
  const int voters = rng_.chance(0.7) ? 3 : 5;
  const int spares = static_cast<int>(rng_.below(3));  // nodes outside the first config
  NetworkFaults faults;
  const double losses[] = {0, 0.01, 0.05, 0.2};
  const double duplicates[] = {0, 0.01, 0.1};
  const double slows[] = {0, 0.01, 0.05};
  faults.loss = losses[rng_.below(4)];
  faults.duplicate = duplicates[rng_.below(3)];
  faults.slow = slows[rng_.below(3)];
  // Mostly a fast network; sometimes latencies near the election timeout.
  faults.max_delay_us = rng_.chance(0.8) ? rng_.between(500, 5'000) : rng_.between(10'000, 60'000);
  network_ = std::make_unique<Network>(rng_, faults);
  // Weights against 40 for a client proposal (see chaos()).
  const double crash_weights[] = {0, 0.5, 1, 2, 4};
  crash_weight_ = crash_weights[rng_.below(5)];
  const double partition_weights[] = {0, 0.5, 1, 2, 4};
  partition_weight_ = partition_weights[rng_.below(5)];
  config_weight_ = (spares > 0 || rng_.chance(0.3)) ? static_cast<double>(rng_.between(1, 4)) : 0;
  torn_write_chance_ = rng_.chance(0.5) ? 0.5 : 0;
  new_leader_crash_chance_ = crash_weight_ > 0 && rng_.chance(0.5) ? 0.3 : 0;
  slow_sync_chance_ = rng_.chance(0.5) ? 0.05 : 0;
  chaos_interval_us_ = rng_.between(3'000, 20'000);
  // Safety must not depend on the options: short timeouts make elections
  // collide, and pre-vote and check-quorum only protect liveness.
  const int election_ticks[] = {3, 5, 10, 10};
  election_ticks_ = election_ticks[rng_.below(4)];
  pre_vote_ = rng_.chance(0.8);
  check_quorum_ = rng_.chance(0.8);
  // Sometimes one entry per Append, so that old-term entries and a new
  // leader's LeaderChange entry travel (and are acknowledged) separately.
  max_append_bytes_ = rng_.chance(0.3) ? 1 : static_cast<size_t>(rng_.between(64, 1024));
  max_inflight_appends_ = static_cast<int>(rng_.between(1, 8));
  // Raft allows step/tick/propose between ready() and advance(): some drivers
  // keep stepping while the fsync runs, others queue until it ends.
  step_while_syncing_ = rng_.chance(0.5);
  if (options_.driver != DriverMode::kFromSeed) {
    step_while_syncing_ = options_.driver == DriverMode::kStepWhileSyncing;
  }

  Config config;
  for (int i = 1; i <= voters; ++i) config.voters.push_back(i);
  const bool with_learner = spares > 0 && rng_.chance(0.5);
  for (int i = 1; i <= voters + spares; ++i) {
    auto node = std::make_unique<Node>();
    node->id = i;
    node->tick_us = tick_us_ + rng_.between(-1000, 1000);  // clocks drift apart
    nodes_.push_back(std::move(node));
  }
  if (with_learner) config.learners.push_back(voters + 1);
  for (auto& node : nodes_) {
    const bool member = contains(config.voters, node->id) || contains(config.learners, node->id);
    if (member) Raft::bootstrap(node->disk, config);
    node->disk.sync();
    node->disk.take_new_entries();
  }
  trace(fmt::format(
      "scenario: {} voters, {} spares{}, loss {} dup {} slow {} max delay {} us, "
      "crash {} partition {} config {} torn {} slow-sync {}, election ticks {}, "
      "pre-vote {}, check-quorum {}, append bytes {}, inflight {}, step while syncing {}",
      voters, spares, with_learner ? " (one a learner)" : "", faults.loss, faults.duplicate,
      faults.slow, faults.max_delay_us, crash_weight_, partition_weight_, config_weight_,
      torn_write_chance_, slow_sync_chance_, election_ticks_, pre_vote_, check_quorum_,
      max_append_bytes_, max_inflight_appends_, step_while_syncing_));
}

RaftOptions Cluster::raft_options(const Node& node) const {
  RaftOptions raft;
  raft.self = node.id;
  raft.group = kGroup;
  raft.election_ticks = election_ticks_;
  raft.heartbeat_ticks = 1;
  raft.pre_vote = pre_vote_;
  raft.check_quorum = check_quorum_;
  raft.max_append_bytes = max_append_bytes_;  // small, so catching up takes several appends
  raft.max_inflight_appends = max_inflight_appends_;
  raft.max_uncommitted_bytes = 16 << 10;
  raft.random_seed =
      mix_hash(mix_hash(options_.seed, static_cast<uint64_t>(node.id)), node.incarnation);
  raft.planted_bug = options_.planted_bug;
  return raft;
}

void Cluster::start(Node& node) {
  ++node.incarnation;
  node.up = true;
  node.waiting_for_sync.reset();
  node.inbox.clear();
  node.pending_ticks = 0;
  node.last_high_watermark = 0;
  node.raft = std::make_unique<Raft>(raft_options(node), node.disk);
  load_snapshot_state(node);
  schedule(rng_.between(0, node.tick_us),
           Event{.kind = EventKind::kTick, .node = node.id, .incarnation = node.incarnation});
  trace(fmt::format("node {} starts (incarnation {}), log [{}, {})", node.id, node.incarnation,
                    node.disk.start_offset(), node.disk.end_offset()));
}

// ---- Events ----------------------------------------------------------------

void Cluster::schedule(int64_t delay_us, Event event) {
  if (event.kind == EventKind::kDeliver && events_.size() >= kMaxEvents) return;  // a lost message
  event.time_us = now_us_ + delay_us;
  event.seq = next_seq_++;
  events_.push_back(std::move(event));
  std::push_heap(events_.begin(), events_.end(), LaterEvent{});
}

void Cluster::process(Event& event) {
  now_us_ = event.time_us;
  ++events_processed_;
  history_hash_ = mix_hash(history_hash_, static_cast<uint64_t>(event.time_us));
  history_hash_ = mix_hash(history_hash_, static_cast<uint64_t>(event.kind));
  history_hash_ = mix_hash(history_hash_, static_cast<uint64_t>(event.node));
  Node* node = node_by_id(event.node);
  switch (event.kind) {
    case EventKind::kDeliver:
      if (node != nullptr && node->up) deliver(*node, event.message);
      break;
    case EventKind::kTick:
      if (node != nullptr && node->up && node->incarnation == event.incarnation) {
        tick(*node);
        schedule(
            node->tick_us,
            Event{.kind = EventKind::kTick, .node = node->id, .incarnation = node->incarnation});
      }
      break;
    case EventKind::kSyncDone:
      if (node != nullptr && node->up && node->incarnation == event.incarnation) sync_done(*node);
      break;
    case EventKind::kCrash:
      if (!quiet_ && node != nullptr && node->up && node->incarnation == event.incarnation) {
        crash(*node);
      }
      break;
    case EventKind::kRestart:
      if (node != nullptr && !node->up && node->incarnation == event.incarnation) start(*node);
      break;
    case EventKind::kChaos:
      if (!quiet_) {
        chaos();
        schedule(rng_.between(1, 2 * chaos_interval_us_), Event{.kind = EventKind::kChaos});
      }
      break;
    case EventKind::kProbe:
      probe();
      schedule(kProbeIntervalUs, Event{.kind = EventKind::kProbe});
      break;
  }
  check_step();
}

void Cluster::deliver(Node& node, const Message& message) {
  const Message& m = message;
  history_hash_ = mix_hash(history_hash_, static_cast<uint64_t>(m.type));
  history_hash_ = mix_hash(history_hash_, static_cast<uint64_t>(m.term));
  if (options_.trace) {
    trace(fmt::format(
        "{} -> {}: {} term {} prev ({}, {}) entries {} hw {} success {} match {} read {}", m.from,
        m.to, message_name(m.type), m.term, m.prev_end_offset, m.prev_term, m.entries.size(),
        m.high_watermark, m.success, m.match_end_offset, m.read_context));
  }
  if (node.waiting_for_sync && !step_while_syncing_) {
    if (node.inbox.size() < kMaxInbox) node.inbox.push_back(message);
    return;
  }
  node.raft->step(message);
  drive(node);
}

void Cluster::tick(Node& node) {
  if (node.waiting_for_sync && !step_while_syncing_) {
    node.pending_ticks = std::min(node.pending_ticks + 1, kMaxPendingTicks);
    return;
  }
  node.raft->tick();
  drive(node);
}

// The node's fsync finished: what it waited for may now be sent and applied;
// then it takes in what arrived meanwhile, as one batch.
void Cluster::sync_done(Node& node) {
  if (!node.waiting_for_sync) return;
  node.disk.sync();
  Ready ready = std::move(*node.waiting_for_sync);
  node.waiting_for_sync.reset();
  finish_ready(node, ready);
  while (!node.inbox.empty()) {
    Message message = std::move(node.inbox.front());
    node.inbox.pop_front();
    node.raft->step(message);
  }
  for (; node.pending_ticks > 0; --node.pending_ticks) node.raft->tick();
  drive(node);
}

void Cluster::drive(Node& node) {
  for (int round = 0; !node.waiting_for_sync && node.raft->has_ready(); ++round) {
    if (round == kMaxReadyRounds) {
      checker_.fail(fmt::format("node {}: ready() never runs dry", node.id));
      return;
    }
    Ready ready = node.raft->ready();
    if (ready.must_sync) {
      node.waiting_for_sync = std::move(ready);
      const int64_t sync_us =
          rng_.chance(slow_sync_chance_) ? rng_.between(20'000, 200'000) : rng_.between(50, 2'000);
      schedule(
          sync_us,
          Event{.kind = EventKind::kSyncDone, .node = node.id, .incarnation = node.incarnation});
      return;
    }
    finish_ready(node, ready);
  }
}

void Cluster::finish_ready(Node& node, Ready& ready) {
  if (!ready.messages.empty() && node.disk.has_unsynced_raft_state()) {
    checker_.fail(
        fmt::format("node {}: messages sent before the term, vote or log they depend on "
                    "were synced (Ready::must_sync not set)",
                    node.id));
  }
  for (const Message& message : ready.messages) send(message);
  stats_.messages_sent += ready.messages.size();
  if (ready.snapshot) {
    ++stats_.snapshots_installed;
    load_snapshot_state(node);
    if (node.applied_end != ready.snapshot->end_offset) {
      checker_.fail(fmt::format("node {}: Ready::snapshot ends at {} but storage's at {}", node.id,
                                ready.snapshot->end_offset, node.applied_end));
    }
  }
  for (const Entry& entry : ready.committed) apply(node, entry);
  for (const ReadState& read : ready.reads) {
    checker_.read_ready(node.id, read.context, read.read_offset);
    ++stats_.reads;
  }
  node.raft->advance(ready);
}

void Cluster::apply(Node& node, const Entry& entry) {
  if (entry.offset != node.applied_end) {
    checker_.fail(fmt::format("node {}: applied the entry at offset {} after offset {}", node.id,
                              entry.offset, node.applied_end));
    return;
  }
  LoggedEntry logged{.offset = entry.offset,
                     .count = entry.count,
                     .term = entry.term,
                     .identity = entry_identity(entry)};
  node.digest = chain_next(node.digest, logged.identity);
  logged.chain = node.digest;
  node.applied_end = entry.end_offset();
  const uint64_t payload = payload_id(entry);
  checker_.entry_applied(node.id, logged, node.raft->term(), payload);
  if (probe_payload_ && payload == *probe_payload_) probe_end_offset_ = entry.end_offset();
  if (options_.trace) {
    trace(fmt::format("node {} applies [{}, {}) term {} payload {}", node.id, entry.offset,
                      entry.end_offset(), entry.term, payload));
  }
}

// The state machine takes the snapshot in storage (a restart or an install).
void Cluster::load_snapshot_state(Node& node) {
  auto [end, digest] = decode_state(node.disk.snapshot_data());
  if (end != node.disk.snapshot_meta().end_offset) {
    checker_.fail(fmt::format("node {}: snapshot data for offset {} stored as the snapshot at {}",
                              node.id, end, node.disk.snapshot_meta().end_offset));
  }
  node.applied_end = end;
  node.digest = digest;
  checker_.state_loaded(node.id, end, digest);
}

void Cluster::send(const Message& message) {
  if (node_by_id(message.to) == nullptr || message.to == message.from) {
    checker_.fail(fmt::format("node {} sent a {} to node {}", message.from,
                              message_name(message.type), message.to));
    return;
  }
  for (int64_t delay_us : network_->delivery_delays_us(message)) {
    schedule(delay_us, Event{.kind = EventKind::kDeliver, .node = message.to, .message = message});
  }
}

void Cluster::crash(Node& node) {
  const bool torn = rng_.chance(torn_write_chance_);
  trace(fmt::format("node {} crashes{}", node.id, torn ? " (torn write)" : ""));
  node.up = false;
  node.raft.reset();
  node.waiting_for_sync.reset();
  node.inbox.clear();
  node.disk.crash(rng_, torn);
  ++node.incarnation;
  ++stats_.crashes;
  if (torn) ++stats_.torn_crashes;
  schedule(rng_.between(1'000, 500'000),
           Event{.kind = EventKind::kRestart, .node = node.id, .incarnation = node.incarnation});
}

// ---- Faults and clients ----------------------------------------------------

void Cluster::chaos() {
  const double propose = 40, snapshot = 8, read = 8, transfer = 2;
  const double weights[] = {propose,       snapshot,         read, transfer, config_weight_,
                            crash_weight_, partition_weight_};
  double total = 0;
  for (double w : weights) total += w;
  double pick = static_cast<double>(rng_.below(1'000'000)) / 1'000'000 * total;
  int action = 0;
  for (; action < 6 && pick >= weights[action]; ++action) pick -= weights[action];
  history_hash_ = mix_hash(history_hash_, 100 + static_cast<uint64_t>(action));
  switch (action) {
    case 0:
      client_propose();
      break;
    case 1:
      take_snapshot();
      break;
    case 2:
      read_index();
      break;
    case 3:
      transfer_leadership();
      break;
    case 4:
      change_config();
      break;
    case 5:
      crash_someone();
      break;
    default:
      change_partitions();
      break;
  }
}

void Cluster::client_propose() {
  Node* leader = random_node(true);
  if (leader == nullptr) return;
  const uint64_t id = next_payload_++;
  const auto count = static_cast<int32_t>(rng_.between(1, 3));
  auto result = leader->raft->propose(*payload_bytes(id, rng_.below(48)), count);
  if (result.ok()) ++stats_.proposals;
  if (options_.trace) {
    trace(fmt::format("client proposes {} at node {}: {}", id, leader->id,
                      result.ok() ? fmt::format("offset {}", *result) : result.error().message));
  }
  drive(*leader);
}

void Cluster::take_snapshot() {
  Node* node = random_node(false);
  if (node == nullptr || node->applied_end <= node->disk.start_offset()) return;
  trace(fmt::format("node {} snapshots at {}", node->id, node->applied_end));
  auto data = encode_state(node->applied_end, node->digest);
  node->disk.expect_local_snapshot(data);
  node->raft->snapshot_taken(node->applied_end, data);
  ++stats_.snapshots_taken;
  drive(*node);
}

void Cluster::read_index() {
  Node* leader = random_node(true);
  if (leader == nullptr) return;
  const uint64_t context = next_read_++;
  checker_.read_issued(context);
  Status status = leader->raft->read_index(context);
  if (options_.trace)
    trace(fmt::format("read {} at node {}: {}", context, leader->id, status.ok()));
  drive(*leader);
}

void Cluster::transfer_leadership() {
  Node* leader = random_node(true);
  if (leader == nullptr) return;
  const Config config = leader->raft->status().config;
  if (config.voters.size() < 2) return;
  const NodeId target = config.voters[rng_.below(config.voters.size())];
  if (target == leader->id) return;
  Status status = leader->raft->transfer_leadership(target);
  if (status.ok()) ++stats_.transfers;
  trace(fmt::format("node {} transfers leadership to {}: {}", leader->id, target, status.ok()));
  drive(*leader);
}

// One membership change at a random leader: add or remove a voter or a learner,
// or promote a learner. Keeps at least two voters.
void Cluster::change_config() {
  Node* leader = random_node(true);
  if (leader == nullptr) return;
  const Config config = leader->raft->status().config;
  const NodeId node = static_cast<NodeId>(1 + rng_.below(nodes_.size()));
  ConfigChange change{.node = node};
  if (contains(config.voters, node)) {
    if (config.voters.size() <= 2) return;
    change.type = rng_.chance(0.5) ? ConfigChangeType::kRemoveVoter : ConfigChangeType::kAddLearner;
    if (change.type == ConfigChangeType::kAddLearner) return;  // demotion is not an operation
  } else if (contains(config.learners, node)) {
    change.type = rng_.chance(0.6) ? ConfigChangeType::kAddVoter : ConfigChangeType::kRemoveLearner;
  } else {
    if (config.voters.size() >= 5) return;
    change.type = rng_.chance(0.6) ? ConfigChangeType::kAddLearner : ConfigChangeType::kAddVoter;
  }
  auto result = leader->raft->change_config(change);
  if (result.ok()) ++stats_.config_changes;
  trace(fmt::format("node {} config change {} node {}: {}", leader->id,
                    static_cast<int>(change.type), node,
                    result.ok() ? fmt::format("offset {}", *result) : result.error().message));
  drive(*leader);
}

// Half of the crashes hit a leader: leader changes are where Raft's subtle
// cases (figure 8, lost acknowledgements) live.
void Cluster::crash_someone() {
  Node* node = rng_.chance(0.5) ? random_node(true) : nullptr;
  if (node == nullptr) node = random_node(false);
  if (node != nullptr) crash(*node);
}

void Cluster::change_partitions() {
  const uint64_t kind = rng_.below(4);
  if (kind == 0 || (network_->cut_links() > 0 && rng_.chance(0.5))) {
    network_->heal();
    trace("network heals");
  } else if (kind == 1) {
    const NodeId from = static_cast<NodeId>(1 + rng_.below(nodes_.size()));
    const NodeId to = static_cast<NodeId>(1 + rng_.below(nodes_.size()));
    if (from != to) network_->cut(from, to);
    trace(fmt::format("network cuts {} -> {}", from, to));
  } else {
    std::vector<NodeId> side_a, side_b;
    for (auto& node : nodes_) (rng_.chance(0.5) ? side_a : side_b).push_back(node->id);
    network_->partition(side_a, side_b);
    trace(
        fmt::format("network partitions {} | {}", fmt::join(side_a, ","), fmt::join(side_b, ",")));
  }
}

// ---- Quiet phase -----------------------------------------------------------

void Cluster::quiet_phase() {
  quiet_ = true;
  network_->calm();
  slow_sync_chance_ = 0;
  trace("quiet phase: the network heals and every node comes back");
  for (auto& node : nodes_) {
    if (!node->up) start(*node);
  }
  schedule(0, Event{.kind = EventKind::kProbe});
  const int64_t deadline_us = now_us_ + kLivenessBoundUs;
  while (checker_.ok() && !probe_done()) {
    if (now_us_ > deadline_us || events_.empty()) {
      checker_.fail(
          fmt::format("liveness: no proposal committed on every member within {} ms of healing; {}",
                      kLivenessBoundUs / 1000, describe_nodes()));
      return;
    }
    std::pop_heap(events_.begin(), events_.end(), LaterEvent{});
    Event event = std::move(events_.back());
    events_.pop_back();
    process(event);
  }
}

// Proposes a probe entry at the leader, again after kProbeRetryUs if it did not
// commit (a leader change may have dropped it).
void Cluster::probe() {
  if (probe_end_offset_) return;
  Node* leader = random_node(true);
  if (leader == nullptr) return;
  if (probe_payload_ && now_us_ - probe_proposed_us_ < kProbeRetryUs) return;
  const uint64_t id = next_payload_++;
  if (leader->raft->propose(*payload_bytes(id, 0), 1).ok()) {
    probe_payload_ = id;
    probe_proposed_us_ = now_us_;
    trace(fmt::format("probe {} proposed at node {}", id, leader->id));
  }
  drive(*leader);
}

// The probe is applied by every member of the leader's configuration.
bool Cluster::probe_done() const {
  if (!probe_end_offset_) return false;
  for (const auto& node : nodes_) {
    if (node->up && node->raft->role() == Role::kLeader) {
      const Config config = node->raft->status().config;
      for (const auto& member : nodes_) {
        const bool in_config =
            contains(config.voters, member->id) || contains(config.learners, member->id);
        if (in_config && member->applied_end < *probe_end_offset_) return false;
      }
      return true;
    }
  }
  return false;
}

std::string Cluster::describe_nodes() const {
  std::string out;
  for (const auto& node : nodes_) {
    if (!node->up) {
      out += fmt::format("node {} down; ", node->id);
      continue;
    }
    const RaftStatus status = node->raft->status();
    out += fmt::format("node {} {} term {} leader {} log [{}, {}) hw {} applied {} voters {}; ",
                       node->id, role_name(status.role), status.term, status.leader,
                       status.log_start_offset, status.log_end_offset, status.high_watermark,
                       node->applied_end, fmt::join(status.config.voters, ","));
  }
  return out;
}

// ---- Checks ----------------------------------------------------------------

void Cluster::check_step() {
  for (auto& node : nodes_) {
    for (const LoggedEntry& entry : node->disk.take_new_entries()) {
      checker_.entry_logged(node->id, entry);
    }
    if (!node->up) continue;
    const Term term = node->raft->term();
    const Role role = node->raft->role();
    if (role != node->last_role || term != node->last_term) {
      trace(fmt::format("node {} is {} in term {}", node->id, role_name(role), term));
      if (role == Role::kLeader && !quiet_ && rng_.chance(new_leader_crash_chance_)) {
        schedule(
            rng_.between(0, 3 * tick_us_),
            Event{.kind = EventKind::kCrash, .node = node->id, .incarnation = node->incarnation});
      }
      node->last_role = role;
      node->last_term = term;
    }
    if (role == Role::kLeader) checker_.leader_seen(node->id, term, node->disk.log());
    const Offset high_watermark = node->raft->high_watermark();
    if (high_watermark < node->last_high_watermark) {
      checker_.fail(fmt::format("node {}: high watermark went back from {} to {}", node->id,
                                node->last_high_watermark, high_watermark));
    }
    node->last_high_watermark = high_watermark;
  }
}

// ---- Helpers ---------------------------------------------------------------

Cluster::Node* Cluster::node_by_id(NodeId id) {
  if (id < 1 || static_cast<size_t>(id) > nodes_.size()) return nullptr;
  return nodes_[static_cast<size_t>(id - 1)].get();
}

// A random up node that takes calls now (not waiting for a sync, unless the
// driver steps during syncs); with `leader`, one that believes it leads
// (possibly a stale leader).
Cluster::Node* Cluster::random_node(bool leader) {
  std::vector<Node*> candidates;
  for (auto& node : nodes_) {
    if (!node->up || (node->waiting_for_sync && !step_while_syncing_)) continue;
    if (leader && node->raft->role() != Role::kLeader) continue;
    candidates.push_back(node.get());
  }
  if (candidates.empty()) return nullptr;
  return candidates[rng_.below(candidates.size())];
}

void Cluster::trace(const std::string& line) {
  std::string stamped = fmt::format("[{:>10.3f} ms] {}", static_cast<double>(now_us_) / 1000, line);
  if (options_.trace) std::fprintf(stderr, "%s\n", stamped.c_str());
  last_events_.push_back(std::move(stamped));
  if (last_events_.size() > kTraceTail) last_events_.pop_front();
}

SimResult Cluster::run() {
  choose_scenario();
  for (auto& node : nodes_) start(*node);
  schedule(chaos_interval_us_, Event{.kind = EventKind::kChaos});
  while (checker_.ok() && events_processed_ < options_.steps && !events_.empty()) {
    std::pop_heap(events_.begin(), events_.end(), LaterEvent{});
    Event event = std::move(events_.back());
    events_.pop_back();
    process(event);
  }
  if (checker_.ok()) quiet_phase();

  SimResult result;
  result.ok = checker_.ok();
  result.violation = checker_.violation();
  result.history_hash = mix_hash(history_hash_, checker_.committed_entries());
  result.events = events_processed_;
  result.sim_time_us = now_us_;
  result.nodes = nodes_.size();
  result.committed_entries = checker_.committed_entries();
  result.leaders = checker_.leaders_seen();
  result.stats = stats_;
  if (!result.ok) result.last_events.assign(last_events_.begin(), last_events_.end());
  return result;
}

// ---- Entry points ----------------------------------------------------------

void SimStats::add(const SimStats& other) {
  proposals += other.proposals;
  reads += other.reads;
  snapshots_taken += other.snapshots_taken;
  snapshots_installed += other.snapshots_installed;
  config_changes += other.config_changes;
  transfers += other.transfers;
  crashes += other.crashes;
  torn_crashes += other.torn_crashes;
  messages_sent += other.messages_sent;
}

std::string SimStats::to_string() const {
  return fmt::format(
      "{} proposals, {} reads, {} snapshots taken, {} installed, {} config changes, {} "
      "transfers, {} crashes ({} torn), {} messages",
      proposals, reads, snapshots_taken, snapshots_installed, config_changes, transfers, crashes,
      torn_crashes, messages_sent);
}

SimResult run_simulation(const SimOptions& options) {
  Cluster cluster(options);
  return cluster.run();
}

const char* planted_bug_name(PlantedBug bug) {
  switch (bug) {
    case PlantedBug::kNone:
      return "none";
    case PlantedBug::kCommitWithoutMajority:
      return "commit-without-majority";
    case PlantedBug::kGrantEveryVote:
      return "grant-every-vote";
  }
  return "?";
}

std::optional<PlantedBug> planted_bug_from_name(const std::string& name) {
  for (PlantedBug bug :
       {PlantedBug::kNone, PlantedBug::kCommitWithoutMajority, PlantedBug::kGrantEveryVote}) {
    if (name == planted_bug_name(bug)) return bug;
  }
  return std::nullopt;
}

std::string replay_command(const std::string& raft_sim_path, const SimOptions& options) {
  std::string command =
      fmt::format("{} --seed {} --steps {}", raft_sim_path, options.seed, options.steps);
  if (options.planted_bug != PlantedBug::kNone) {
    command += fmt::format(" --planted-bug {}", planted_bug_name(options.planted_bug));
  }
  if (options.driver == DriverMode::kQueueWhileSyncing) command += " --driver queue";
  if (options.driver == DriverMode::kStepWhileSyncing) command += " --driver step";
  return command;
}

}  // namespace fjord::raft::sim
