// One simulated history: N Raft nodes in one thread, driven by simulated time
// (a queue of events ordered by time), a faulty network, faulty disks, crashes
// and restarts, clients, and the checker after every step. Everything random
// comes from one seeded Rng, so a seed replays the same history exactly.
//
// A history has two phases: `steps` events with faults, then a quiet phase
// (network healed, every node up) in which a leader must emerge and a new
// proposal must commit on every member within a bounded simulated time.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/raft.h"
#include "raft/simulation/checker.h"
#include "raft/simulation/disk.h"
#include "raft/simulation/network.h"
#include "raft/simulation/random.h"

namespace fjord::raft::sim {

// How the driver treats a node whose Ready waits for its fsync: queue what
// arrives until the sync ends, or keep stepping (Raft allows both).
enum class DriverMode : uint8_t { kFromSeed, kQueueWhileSyncing, kStepWhileSyncing };

struct SimOptions {
  uint64_t seed = 1;
  int64_t steps = 3000;  // events of the faulty phase
  PlantedBug planted_bug = PlantedBug::kNone;
  DriverMode driver = DriverMode::kFromSeed;
  bool trace = false;  // print every event to stderr
};

// What a history exercised (to see that faults and features really happen).
struct SimStats {
  size_t proposals = 0;  // accepted by a leader
  size_t reads = 0;      // answered with a ReadState
  size_t snapshots_taken = 0;
  size_t snapshots_installed = 0;  // Ready::snapshot from a leader
  size_t config_changes = 0;       // accepted by a leader
  size_t transfers = 0;            // accepted by a leader
  size_t crashes = 0;
  size_t torn_crashes = 0;
  size_t messages_sent = 0;
  void add(const SimStats& other);
  std::string to_string() const;
};

struct SimResult {
  bool ok = true;
  std::string violation;
  uint64_t history_hash = 0;
  int64_t events = 0;
  int64_t sim_time_us = 0;
  size_t nodes = 0;
  size_t committed_entries = 0;
  size_t leaders = 0;  // terms that had a leader
  SimStats stats;
  std::vector<std::string> last_events;  // the events before a violation
};

SimResult run_simulation(const SimOptions& options);
// The one command line that replays `options` with the raft_sim binary.
std::string replay_command(const std::string& raft_sim_path, const SimOptions& options);
const char* planted_bug_name(PlantedBug bug);
std::optional<PlantedBug> planted_bug_from_name(const std::string& name);

class Cluster {
 public:
  explicit Cluster(const SimOptions& options);
  ~Cluster();
  SimResult run();

 private:
  struct Node;
  struct Event;
  enum class EventKind : uint8_t { kDeliver, kTick, kSyncDone, kRestart, kCrash, kChaos, kProbe };

  // Setup.
  void choose_scenario();
  RaftOptions raft_options(const Node& node) const;
  void start(Node& node);

  // Events.
  void schedule(int64_t delay_us, Event event);
  void process(Event& event);
  void deliver(Node& node, const Message& message);
  void tick(Node& node);
  void sync_done(Node& node);
  void drive(Node& node);
  void finish_ready(Node& node, Ready& ready);
  void apply(Node& node, const Entry& entry);
  void load_snapshot_state(Node& node);
  void send(const Message& message);
  void crash(Node& node);

  // Faults and clients.
  void chaos();
  void client_propose();
  void change_partitions();
  void take_snapshot();
  void transfer_leadership();
  void change_config();
  void read_index();
  void crash_someone();

  // Quiet phase.
  void quiet_phase();
  void probe();
  bool probe_done() const;
  std::string describe_nodes() const;

  // Checks after every step.
  void check_step();

  Node* node_by_id(NodeId id);
  Node* random_node(bool leader);
  void trace(const std::string& line);

  SimOptions options_;
  Rng rng_;
  Checker checker_;
  std::unique_ptr<Network> network_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Event> events_;  // a min-heap on (time, seq); bounded by kMaxEvents
  uint64_t next_seq_ = 0;
  int64_t now_us_ = 0;
  int64_t events_processed_ = 0;
  uint64_t history_hash_ = 0;
  bool quiet_ = false;

  // Scenario, drawn from the seed.
  int64_t tick_us_ = 10'000;
  double crash_weight_ = 0;
  double partition_weight_ = 0;
  double config_weight_ = 0;
  double torn_write_chance_ = 0;
  double new_leader_crash_chance_ = 0;  // a new leader crashes within a few ms
  double slow_sync_chance_ = 0;
  int election_ticks_ = 10;
  bool pre_vote_ = true;
  bool check_quorum_ = true;
  size_t max_append_bytes_ = 256;
  int max_inflight_appends_ = 4;
  bool step_while_syncing_ = false;
  int64_t chaos_interval_us_ = 10'000;

  // Clients.
  uint64_t next_payload_ = 1;
  uint64_t next_read_ = 1;
  std::optional<uint64_t> probe_payload_;
  std::optional<Offset> probe_end_offset_;
  int64_t probe_proposed_us_ = 0;
  SimStats stats_;
  std::deque<std::string> last_events_;  // bounded: kTraceTail
};

}  // namespace fjord::raft::sim
