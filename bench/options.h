// What one fjord-load run does: the command line, parsed.
#pragma once

#include <cstdint>
#include <string>

#include "kafka.h"

namespace fjord::bench {

// How the txn mode's producer makes each batch of --messages-per-txn durable.
enum class TxnProducer {
  kTransactional,  // begin, produce, rd_kafka_commit_transaction
  kIdempotent,     // enable.idempotence=true, produce, rd_kafka_flush: the same load without txns
  kPlain,          // acks=all without idempotence, produce, rd_kafka_flush
};

struct LoadOptions {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "fjord-load";
  int32_t partitions = 6;  // used when the tool creates the topic
  int64_t message_bytes = 1024;
  double duration_s = 20;
  std::string acks = "all";
  double rate_mb_s = 0;   // produce: 0 = as fast as possible; latency: the fixed rate
  double warmup_s = 2;    // latency: messages planned before this are not measured
  double timeout_s = 60;  // bound on a flush, a drain, a whole consume run
  Settings overrides;     // -X key=value, applied after the mode's own settings
  std::string json_path;  // also write the report as JSON here

  // Consumer-group modes (group-join, commit).
  int32_t members = 1;            // group-join: consumers in the group, one handle each
  int32_t rounds = 3;             // group-join: fresh groups formed one after another
  int32_t commit_partitions = 1;  // commit: partitions in each OffsetCommit
  int32_t commits_in_flight = 0;  // commit: 0 = synchronous, else async with this bound

  // Transaction mode (txn).
  TxnProducer txn_producer = TxnProducer::kTransactional;
  int32_t messages_per_txn = 10;
  int64_t transactions = 0;          // stop after this many; 0 = run for duration_s
  bool flush_before_commit = false;  // time the produce acks apart from the commit
};

inline constexpr double kBytesPerMb = 1e6;  // MB/s is decimal, as fio and iperf3 print it

}  // namespace fjord::bench
