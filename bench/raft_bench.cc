// fjord-raft-bench: Raft commit latency and throughput on three nodes of one
// process (bench/run.sh, BENCH_PARTS=raft; docs/benchmarks.md "Raft").
//
//   fjord-raft-bench run --groups 10000 --in-flight 1 --seconds 10 --dir DIR --json FILE
//   fjord-raft-bench limits --dir DIR --json FILE
//
// `run`: three RaftRuntimes, one per thread (runtime-per-thread: the node's
// shape, one io_context thread drives all of its groups), on 127.0.0.1. Every
// group keeps `in-flight` proposals of one record batch going on its leader;
// latency is from propose() on the leader to the entry being committed and
// applied there. Storage (--storage):
//   memory-fsync  raft::MemoryStorage per group, plus one journal file per node
//                 that gets every appended entry's bytes and one fdatasync per
//                 driver pass that wrote: the durability cost of a shared
//                 write-ahead log with group commit, not of a real log format.
//   log           raft::LogStorage (the node's segmented log) per group: one
//                 directory and one fsync per group per pass.
// `limits`: the loopback TCP round trip (64-byte ping-pong) and the latency of
// a 4 KiB append + fdatasync in --dir, for the same run's context.
#include <fcntl.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "histogram.h"
#include "raft/log_storage/log_storage.h"
#include "raft/memory_storage.h"
#include "raft/transport/runtime.h"
#include "records/builder.h"

namespace fjord::bench::raft_bench {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using raft::GroupId;
using raft::NodeId;

constexpr int kNodes = 3;

struct Options {
  std::string mode;
  int groups = 1;
  int in_flight = 1;
  int seconds = 10;
  int warmup_seconds = 2;
  int payload_bytes = 100;
  std::string storage = "memory-fsync";
  std::string dir = "/tmp/fjord-raft-bench";
  std::string json;
  int tick_ms = 50;
  int heartbeat_ticks = 2;
  int election_ticks = 20;
};

[[noreturn]] void usage(const std::string& why) {
  fmt::print(stderr,
             "fjord-raft-bench: {}\nusage: fjord-raft-bench run|limits [--groups N] "
             "[--in-flight N] [--seconds N] [--warmup-s N] [--payload-bytes N] "
             "[--storage memory-fsync|log] [--dir DIR] [--json FILE] [--tick-ms N] "
             "[--heartbeat-ticks N] [--election-ticks N]\n",
             why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  if (argc < 2) usage("no mode");
  Options o;
  o.mode = argv[1];
  if (o.mode != "run" && o.mode != "limits") usage("unknown mode " + o.mode);
  std::map<std::string, int*> ints{{"--groups", &o.groups},
                                   {"--in-flight", &o.in_flight},
                                   {"--seconds", &o.seconds},
                                   {"--warmup-s", &o.warmup_seconds},
                                   {"--payload-bytes", &o.payload_bytes},
                                   {"--tick-ms", &o.tick_ms},
                                   {"--heartbeat-ticks", &o.heartbeat_ticks},
                                   {"--election-ticks", &o.election_ticks}};
  std::map<std::string, std::string*> strings{
      {"--storage", &o.storage}, {"--dir", &o.dir}, {"--json", &o.json}};
  for (int i = 2; i + 1 < argc + 1; i += 2) {
    if (i + 1 >= argc) usage(std::string("no value for ") + argv[i]);
    const std::string key = argv[i];
    if (auto it = ints.find(key); it != ints.end()) {
      *it->second = std::stoi(argv[i + 1]);
    } else if (auto it2 = strings.find(key); it2 != strings.end()) {
      *it2->second = argv[i + 1];
    } else {
      usage("unknown option " + key);
    }
  }
  if (o.storage != "memory-fsync" && o.storage != "log") usage("unknown storage " + o.storage);
  if (o.groups < 1 || o.in_flight < 1 || o.seconds < 1) usage("counts must be positive");
  return o;
}

std::string quantiles_json(const LatencyHistogram& h) {
  auto us = [&](double q) { return static_cast<double>(h.value_at_quantile(q)) / 1000.0; };
  return fmt::format(
      "{{\"count\": {}, \"p50_us\": {:.1f}, \"p90_us\": {:.1f}, \"p99_us\": {:.1f}, "
      "\"p999_us\": {:.1f}, \"max_us\": {:.1f}, \"mean_us\": {:.1f}}}",
      h.count(), us(0.5), us(0.9), us(0.99), us(0.999), static_cast<double>(h.max()) / 1000.0,
      h.mean() / 1000.0);
}

void write_json(const Options& options, const std::string& text) {
  fmt::print("{}\n", text);
  if (options.json.empty()) return;
  std::ofstream out(options.json);
  out << text << "\n";
}

// ---------------------------------------------------------------- limits

int64_t elapsed_ns(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

bool full_io(int fd, uint8_t* data, size_t size, bool write_side) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n =
        write_side ? ::write(fd, data + done, size - done) : ::read(fd, data + done, size - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

LatencyHistogram loopback_round_trips(int count) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    usage("cannot listen on 127.0.0.1");
  }
  std::thread echo([listener, count] {
    const int peer = ::accept(listener, nullptr, nullptr);
    uint8_t buffer[64];
    for (int i = 0; i < count && full_io(peer, buffer, sizeof(buffer), false); ++i) {
      full_io(peer, buffer, sizeof(buffer), true);
    }
    ::close(peer);
  });
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    usage("cannot connect to 127.0.0.1");
  }
  LatencyHistogram histogram;
  uint8_t buffer[64] = {};
  for (int i = 0; i < count; ++i) {
    const auto start = Clock::now();
    if (!full_io(client, buffer, sizeof(buffer), true) ||
        !full_io(client, buffer, sizeof(buffer), false)) {
      break;
    }
    histogram.record(elapsed_ns(start));
  }
  ::close(client);
  echo.join();
  ::close(listener);
  return histogram;
}

LatencyHistogram append_fsyncs(const fs::path& dir, int count) {
  fs::create_directories(dir);
  const fs::path path = dir / "fsync-probe";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_APPEND, 0644);
  if (fd < 0) usage("cannot create " + path.string());
  std::vector<uint8_t> block(4096, 0xab);
  LatencyHistogram histogram;
  for (int i = 0; i < count; ++i) {
    const auto start = Clock::now();
    if (!full_io(fd, block.data(), block.size(), true) || ::fdatasync(fd) != 0) break;
    histogram.record(elapsed_ns(start));
  }
  ::close(fd);
  fs::remove(path);
  return histogram;
}

int run_limits(const Options& options) {
  const auto round_trips = loopback_round_trips(20000);
  const auto fsyncs = append_fsyncs(options.dir, 1000);
  write_json(options, fmt::format("{{\"mode\": \"limits\", \"loopback_round_trip\": {}, "
                                  "\"append_4k_fdatasync\": {}}}",
                                  quantiles_json(round_trips), quantiles_json(fsyncs)));
  return 0;
}

// ---------------------------------------------------------------- run

// One node's journal (memory-fsync storage): what its groups appended since the
// last sync, written and fdatasync'ed by the first sync() of a pass; the other
// groups' syncs in that pass find nothing left to do.
class Journal {
 public:
  explicit Journal(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_APPEND, 0644);
    if (fd_ < 0) usage("cannot create " + path.string());
  }
  ~Journal() { ::close(fd_); }
  void add(size_t bytes) {
    pending_.resize(pending_.size() + bytes);
    dirty_ = true;
  }
  void sync() {
    if (!dirty_) return;
    if (!pending_.empty() && !full_io(fd_, pending_.data(), pending_.size(), true)) {
      usage("journal write failed");
    }
    if (::fdatasync(fd_) != 0) usage("journal fdatasync failed");
    pending_.clear();
    dirty_ = false;
    ++syncs_;
  }
  uint64_t syncs() const { return syncs_; }

 private:
  int fd_ = -1;
  std::vector<uint8_t> pending_;
  bool dirty_ = false;
  uint64_t syncs_ = 0;
};

class JournaledMemoryStorage final : public raft::MemoryStorage {
 public:
  explicit JournaledMemoryStorage(Journal& journal) : journal_(journal) {}
  void save_hard_state(const raft::HardState& state) override {
    MemoryStorage::save_hard_state(state);
    journal_.add(16);
  }
  void append(std::span<const raft::Entry> entries) override {
    MemoryStorage::append(entries);
    for (const auto& entry : entries) journal_.add(32 + (entry.data ? entry.data->size() : 0));
  }
  void sync() override { journal_.sync(); }

 private:
  Journal& journal_;
};

struct Counters {
  uint64_t commits = 0;
  uint64_t errors = 0;
  uint64_t syncs = 0;
  uint64_t passes = 0;
  uint64_t frames_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_dropped = 0;
};

class Node {
 public:
  Node(NodeId id, const Options& options, const raft::Bytes& batch)
      : id_(id),
        options_(options),
        batch_(batch),
        dir_(fs::path(options.dir) / fmt::format("node-{}", id)) {
    fs::create_directories(dir_);
    journal_ = std::make_unique<Journal>(dir_ / "journal");
    raft::RuntimeOptions runtime_options;
    runtime_options.tick_interval_ms = options.tick_ms;
    runtime_options.heartbeat_ticks = options.heartbeat_ticks;
    runtime_options.election_ticks = options.election_ticks;
    raft::transport::TransportOptions transport_options;
    transport_options.self = id;
    transport_options.cluster_id = "raft-bench";
    runtime_ = std::make_unique<raft::RaftRuntime>(io_, transport_options, runtime_options);
    thread_ = std::thread([this] { io_.run(); });
  }
  template <typename F>
  auto run(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  ~Node() {
    run([this] { runtime_->stop(); });
    work_.reset();
    thread_.join();
    runtime_.reset();
    if (options_.storage == "log") {
      for (auto& storage : log_storages_) (void)storage->close();
    }
  }

  uint16_t start() {
    return run([this] {
      if (!runtime_->start().ok()) usage("cannot start a runtime");
      return runtime_->transport().port();
    });
  }

  void add_peer(NodeId id, uint16_t port) {
    run([&] { runtime_->transport().set_peer({.node = id, .host = "127.0.0.1", .port = port}); });
  }

  void add_groups(int count) {
    run([&] {
      const raft::Config voters{.voters = {1, 2, 3}, .learners = {}};
      for (GroupId group = 0; group < count; ++group) {
        raft::GroupSpec spec;
        spec.group = group;
        spec.storage = make_storage(group);
        if (spec.storage->snapshot_meta().config.voters.empty() &&
            spec.storage->end_offset() == 0) {
          raft::Raft::bootstrap(*spec.storage, voters);
        }
        if (!runtime_->add_group(std::move(spec)).ok()) usage("cannot add a group");
      }
    });
  }

  // Counters for a failure message.
  std::string describe() {
    return run([&] {
      const auto& runtime = runtime_->stats();
      const auto& transport = runtime_->transport().stats();
      return fmt::format("ticks {} passes {} readies {}; messages sent {} received {} dropped {}",
                         runtime.ticks, runtime.passes, runtime.readies, transport.messages_sent,
                         transport.messages_received, transport.messages_dropped);
    });
  }
  std::vector<GroupId> led(int groups) {
    return run([&] {
      std::vector<GroupId> led;
      for (GroupId group = 0; group < groups; ++group) {
        if (runtime_->leader(group) == id_) led.push_back(group);
      }
      return led;
    });
  }

  // Starts `in_flight` chains of proposals in every group this node leads.
  void start_load(const std::vector<GroupId>& groups) {
    run([&] {
      running_ = true;
      for (GroupId group : groups) {
        for (int i = 0; i < options_.in_flight; ++i) propose(group);
      }
    });
  }
  void start_measuring() {
    run([&] {
      histogram_ = LatencyHistogram{};
      measuring_ = true;
      start_ = counters();
    });
  }
  // Stops measuring; the counters over the measured interval and the latencies.
  std::pair<Counters, LatencyHistogram> stop() {
    return run([&] {
      measuring_ = false;
      running_ = false;
      Counters now = counters();
      Counters d;
      d.commits = now.commits - start_.commits;
      d.errors = now.errors - start_.errors;
      d.syncs = now.syncs - start_.syncs;
      d.passes = now.passes - start_.passes;
      d.frames_sent = now.frames_sent - start_.frames_sent;
      d.bytes_sent = now.bytes_sent - start_.bytes_sent;
      d.messages_sent = now.messages_sent - start_.messages_sent;
      d.messages_dropped = now.messages_dropped - start_.messages_dropped;
      return std::make_pair(d, histogram_);
    });
  }

 private:
  std::shared_ptr<raft::Storage> make_storage(GroupId group) {
    if (options_.storage == "memory-fsync") {
      return std::make_shared<JournaledMemoryStorage>(*journal_);
    }
    auto storage = raft::LogStorage::open(dir_ / fmt::format("group-{}", group));
    if (!storage.ok()) usage("cannot open a LogStorage: " + storage.error().message);
    std::shared_ptr<raft::LogStorage> shared = std::move(storage).value();
    log_storages_.push_back(shared);
    return shared;
  }

  void propose(GroupId group) {
    const auto start = Clock::now();
    runtime_->propose(group, batch_, [this, group, start](Result<raft::Offset> result) {
      if (result.ok()) {
        ++commits_;
        if (measuring_) histogram_.record(elapsed_ns(start));
      } else {
        ++errors_;  // leadership moved: this chain ends
        return;
      }
      if (running_) propose(group);
    });
  }

  Counters counters() const {
    const auto& stats = runtime_->stats();
    const auto& transport = runtime_->transport().stats();
    Counters c;
    c.commits = commits_;
    c.errors = errors_;
    c.syncs = options_.storage == "memory-fsync" ? journal_->syncs() : stats.syncs;
    c.passes = stats.passes;
    c.frames_sent = transport.frames_sent;
    c.bytes_sent = transport.bytes_sent;
    c.messages_sent = transport.messages_sent;
    c.messages_dropped = transport.messages_dropped;
    return c;
  }

  NodeId id_;
  const Options& options_;
  const raft::Bytes& batch_;
  fs::path dir_;
  std::unique_ptr<Journal> journal_;
  std::vector<std::shared_ptr<raft::LogStorage>> log_storages_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<raft::RaftRuntime> runtime_;
  std::thread thread_;
  // Touched only on the node's thread.
  bool running_ = false;
  bool measuring_ = false;
  uint64_t commits_ = 0;
  uint64_t errors_ = 0;
  Counters start_;
  LatencyHistogram histogram_;
};

raft::Bytes one_record_batch(int payload_bytes) {
  records::BatchBuilder builder;
  std::vector<uint8_t> value(static_cast<size_t>(payload_bytes), 'x');
  if (!builder.append(0, std::nullopt, records::Bytes(value)).ok()) usage("batch");
  auto batch = builder.build();
  if (!batch.ok()) usage("batch");
  return raft::Bytes(batch->begin(), batch->end());
}

double process_cpu_seconds() {
  std::ifstream stat("/proc/self/stat");
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 15 && stat >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int run_cluster(const Options& options) {
  fs::remove_all(options.dir);
  const raft::Bytes batch = one_record_batch(options.payload_bytes);
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<uint16_t> ports;
  for (NodeId id = 1; id <= kNodes; ++id) {
    nodes.push_back(std::make_unique<Node>(id, options, batch));
    ports.push_back(nodes.back()->start());
  }
  const auto setup_start = Clock::now();
  for (auto& node : nodes) node->add_groups(options.groups);
  for (NodeId i = 1; i <= kNodes; ++i) {
    for (NodeId j = 1; j <= kNodes; ++j) {
      if (i != j) nodes[i - 1]->add_peer(j, ports[j - 1]);
    }
  }
  // Every group elects a leader before the load starts.
  std::vector<std::vector<GroupId>> led(kNodes);
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  while (true) {
    size_t total = 0;
    for (int i = 0; i < kNodes; ++i) {
      led[i] = nodes[i]->led(options.groups);
      total += led[i].size();
    }
    if (total == static_cast<size_t>(options.groups)) break;
    if (Clock::now() > deadline) {
      for (int i = 0; i < kNodes; ++i)
        fmt::print(stderr, "node {}: {}\n", i + 1, nodes[i]->describe());
      usage(fmt::format("only {} of {} groups have a leader after 300 s", total, options.groups));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double elect_s = static_cast<double>(elapsed_ns(setup_start)) / 1e9;

  for (int i = 0; i < kNodes; ++i) nodes[i]->start_load(led[i]);
  std::this_thread::sleep_for(std::chrono::seconds(options.warmup_seconds));
  const double cpu_before = process_cpu_seconds();
  for (auto& node : nodes) node->start_measuring();
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(options.seconds));
  LatencyHistogram latency;
  Counters total;
  std::vector<Counters> per_node;
  for (auto& node : nodes) {
    auto [counters, histogram] = node->stop();
    latency.merge(histogram);
    total.commits += counters.commits;
    total.errors += counters.errors;
    per_node.push_back(counters);
  }
  const double seconds = static_cast<double>(elapsed_ns(start)) / 1e9;
  const double cpu_seconds = process_cpu_seconds() - cpu_before;
  std::string nodes_json;
  for (size_t i = 0; i < per_node.size(); ++i) {
    const Counters& c = per_node[i];
    nodes_json += fmt::format(
        "{}{{\"node\": {}, \"leads\": {}, \"commits\": {}, \"syncs_per_s\": {:.1f}, "
        "\"passes_per_s\": {:.1f}, \"frames_sent_per_s\": {:.1f}, \"messages_sent_per_s\": "
        "{:.1f}, \"mb_sent_per_s\": {:.2f}, \"messages_dropped\": {}}}",
        i == 0 ? "" : ", ", i + 1, led[i].size(), c.commits, c.syncs / seconds, c.passes / seconds,
        c.frames_sent / seconds, c.messages_sent / seconds, c.bytes_sent / seconds / 1e6,
        c.messages_dropped);
  }
  write_json(
      options,
      fmt::format("{{\"mode\": \"run\", \"groups\": {}, \"in_flight\": {}, \"storage\": "
                  "\"{}\", \"payload_bytes\": {}, \"batch_bytes\": {}, \"tick_ms\": {}, "
                  "\"heartbeat_ticks\": {}, \"election_ticks\": {}, \"seconds\": {:.2f}, "
                  "\"elect_s\": {:.2f}, \"commits\": {}, \"commits_per_s\": {:.1f}, "
                  "\"errors\": {}, \"cpu_cores\": {:.2f}, \"latency\": {}, "
                  "\"nodes\": [{}]}}",
                  options.groups, options.in_flight, options.storage, options.payload_bytes,
                  batch.size(), options.tick_ms, options.heartbeat_ticks, options.election_ticks,
                  seconds, elect_s, total.commits, total.commits / seconds, total.errors,
                  cpu_seconds / seconds, quantiles_json(latency), nodes_json));
  nodes.clear();
  fs::remove_all(options.dir);
  return 0;
}

}  // namespace
}  // namespace fjord::bench::raft_bench

int main(int argc, char** argv) {
  using namespace fjord::bench::raft_bench;
  const Options options = parse(argc, argv);
  return options.mode == "limits" ? run_limits(options) : run_cluster(options);
}
