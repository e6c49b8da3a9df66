// fjord-metadata-bench: time and memory of the metadata image at a million
// partitions (docs/benchmarks.md, "Metadata"; bench/run.sh BENCH_PARTS=metadata).
//
//   fjord-metadata-bench apply --topics 10000 --partitions 100 --brokers 3
//       --replicas 3 --publish end|each --snapshot FILE --json OUT
//     applies the records of a cluster (brokers registered and unfenced, then one
//     batch per topic: TopicRecord + its PartitionRecords) to a
//     MetadataStateMachine, publishing once at the end (start-up replay, a
//     follower catching up) or after every batch (topics created one by one),
//     then writes the snapshot of the image to FILE (fsynced).
//   fjord-metadata-bench load --snapshot FILE --json OUT
//     loads the snapshot in a fresh process (what a restart does).
// Peak RSS is the process's VmHWM; image RSS is VmRSS after minus before.
#include <fmt/core.h>
#include <fmt/os.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "metadata/snapshot.h"
#include "metadata/state_machine.h"
#include "protocol/generated/metadata/partition_record.h"
#include "protocol/generated/metadata/register_broker_record.h"
#include "protocol/generated/metadata/topic_record.h"
#include "protocol/generated/metadata/unfence_broker_record.h"
#include "storage/file.h"

namespace {

namespace md = fjord::metadata;
namespace pm = fjord::protocol::metadata;
using Clock = std::chrono::steady_clock;
using Records = std::vector<std::vector<uint8_t>>;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// VmRSS or VmHWM from /proc/self/status, in MiB.
double proc_status_mib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) / 1024.0;
  }
  return -1;
}

[[noreturn]] void fail(const std::string& message) {
  fmt::print(stderr, "fjord-metadata-bench: {}\n", message);
  std::exit(1);
}

struct Options {
  std::string mode;
  int topics = 10000;
  int partitions = 100;
  int brokers = 3;
  int replicas = 3;
  bool publish_each = false;
  std::string snapshot;
  std::string json;
};

Options parse(int argc, char** argv) {
  if (argc < 2) fail("usage: fjord-metadata-bench apply|load [options] (see the source)");
  Options o;
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--topics") {
      o.topics = std::stoi(value);
    } else if (key == "--partitions") {
      o.partitions = std::stoi(value);
    } else if (key == "--brokers") {
      o.brokers = std::stoi(value);
    } else if (key == "--replicas") {
      o.replicas = std::stoi(value);
    } else if (key == "--publish") {
      o.publish_each = value == "each";
    } else if (key == "--snapshot") {
      o.snapshot = value;
    } else if (key == "--json") {
      o.json = value;
    } else {
      fail("unknown option " + key);
    }
  }
  if (o.snapshot.empty() || o.json.empty()) fail("--snapshot and --json are required");
  if (o.replicas > o.brokers) fail("--replicas must not exceed --brokers");
  return o;
}

Records broker_records(int brokers) {
  Records records;
  for (int id = 1; id <= brokers; ++id) {
    pm::RegisterBrokerRecord r;
    r.broker_id = id;
    r.incarnation_id = fjord::protocol::Uuid{static_cast<uint64_t>(id), 1};
    r.broker_epoch = id - 1;  // the record's offset below
    pm::RegisterBrokerRecord::BrokerEndpoint e;
    e.name = "PLAINTEXT";
    e.host = "127.0.0.1";
    e.port = static_cast<uint16_t>(9091 + id);
    r.end_points.push_back(e);
    records.push_back(md::frame_metadata_record(r, 2));
  }
  for (int id = 1; id <= brokers; ++id) {
    pm::UnfenceBrokerRecord r;
    r.id = id;
    r.epoch = id - 1;
    records.push_back(md::frame_metadata_record(r, 0));
  }
  return records;
}

// One topic's creation batch, placed as the controller would (striped).
Records topic_records(const Options& o, int t) {
  Records records;
  pm::TopicRecord topic;
  topic.name = fmt::format("topic-{:05d}", t);
  topic.topic_id = fjord::protocol::Uuid{static_cast<uint64_t>(t) + 1, 0x5eed};
  records.push_back(md::frame_metadata_record(topic, 0));
  pm::PartitionRecord p;
  p.topic_id = topic.topic_id;
  p.leader_epoch = 0;
  p.partition_epoch = 0;
  for (int i = 0; i < o.partitions; ++i) {
    p.partition_id = i;
    p.replicas.clear();
    for (int j = 0; j < o.replicas; ++j) p.replicas.push_back(1 + (t + i + j) % o.brokers);
    p.isr = p.replicas;
    p.leader = p.replicas.front();
    records.push_back(md::frame_metadata_record(p, 0));
  }
  return records;
}

int run_apply(const Options& o) {
  const double rss_before_mib = proc_status_mib("VmRSS");
  md::MetadataStateMachine sm(std::make_shared<md::MetadataImage>());
  double encode_s = 0;
  double apply_s = 0;
  int64_t offset = 0;
  int64_t record_bytes = 0;
  auto apply = [&](const Records& records) {
    const auto start = Clock::now();
    if (auto s = sm.apply_batch(offset, records); !s) fail(s.error().message);
    if (o.publish_each) sm.publish();
    apply_s += seconds_since(start);
    offset += static_cast<int64_t>(records.size());
    for (const auto& r : records) record_bytes += static_cast<int64_t>(r.size());
  };
  apply(broker_records(o.brokers));
  for (int t = 0; t < o.topics; ++t) {
    const auto start = Clock::now();
    const Records records = topic_records(o, t);
    encode_s += seconds_since(start);
    apply(records);
  }
  const auto publish_start = Clock::now();
  sm.publish();
  apply_s += seconds_since(publish_start);
  const auto image = sm.image();
  const double rss_image_mib = proc_status_mib("VmRSS") - rss_before_mib;

  auto start = Clock::now();
  const std::vector<uint8_t> bytes = md::write_snapshot(*image, 0, 0);
  const double serialize_s = seconds_since(start);
  start = Clock::now();
  if (auto s = fjord::storage::write_file_atomically(o.snapshot, bytes, true); !s) {
    fail(s.error().message);
  }
  const double write_file_s = seconds_since(start);

  int64_t partitions = 0;
  for (const auto& [name, topic] : image->topics) partitions += topic->partition_count;
  auto out = fmt::output_file(o.json);
  out.print(
      "{{\"mode\": \"apply\", \"topics\": {}, \"partitions\": {}, \"brokers\": {}, "
      "\"replicas\": {}, \"publish\": \"{}\", \"records\": {}, \"record_bytes\": {}, "
      "\"encode_s\": {:.3f}, \"apply_s\": {:.3f}, \"rss_image_mib\": {:.1f}, "
      "\"peak_rss_mib\": {:.1f}, \"snapshot_bytes\": {}, \"snapshot_serialize_s\": {:.3f}, "
      "\"snapshot_write_file_s\": {:.3f}}}\n",
      image->topics.size(), partitions, image->brokers.size(), o.replicas,
      o.publish_each ? "each" : "end", offset, record_bytes, encode_s, apply_s, rss_image_mib,
      proc_status_mib("VmHWM"), bytes.size(), serialize_s, write_file_s);
  return 0;
}

int run_load(const Options& o) {
  const double rss_before_mib = proc_status_mib("VmRSS");
  auto start = Clock::now();
  auto bytes = fjord::storage::read_whole_file(o.snapshot);
  if (!bytes) fail(bytes.error().message);
  const double read_s = seconds_since(start);
  start = Clock::now();
  auto image = md::load_snapshot(*bytes, 1, "bench");
  if (!image) fail(image.error().message);
  const double load_s = seconds_since(start);
  const size_t snapshot_bytes = bytes->size();
  bytes->clear();
  bytes->shrink_to_fit();
  const double rss_image_mib = proc_status_mib("VmRSS") - rss_before_mib;
  int64_t partitions = 0;
  for (const auto& [name, topic] : (*image)->topics) partitions += topic->partition_count;
  auto out = fmt::output_file(o.json);
  out.print(
      "{{\"mode\": \"load\", \"topics\": {}, \"partitions\": {}, \"brokers\": {}, "
      "\"snapshot_bytes\": {}, \"read_file_s\": {:.3f}, \"load_s\": {:.3f}, "
      "\"rss_image_mib\": {:.1f}, \"peak_rss_mib\": {:.1f}}}\n",
      (*image)->topics.size(), partitions, (*image)->brokers.size(), snapshot_bytes, read_s, load_s,
      rss_image_mib, proc_status_mib("VmHWM"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (o.mode == "apply") return run_apply(o);
  if (o.mode == "load") return run_load(o);
  fail("mode must be apply or load");
}
