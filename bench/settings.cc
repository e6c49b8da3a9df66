#include "settings.h"

#include <string>

namespace fjord::bench {
namespace {

void append(Settings& settings, const Settings& more) {
  settings.insert(settings.end(), more.begin(), more.end());
}

Settings common_settings(const LoadOptions& options) {
  return {
      {"bootstrap.servers", options.bootstrap},
      {"client.id", "fjord-load"},
      {"socket.nagle.disable", "true"},
      // Ask for ApiVersions so the newest message formats are used.
      {"api.version.request", "true"},
  };
}

}  // namespace

Settings producer_settings(const LoadOptions& options, Mode mode) {
  Settings settings = common_settings(options);
  const bool latency = mode == Mode::kLatency;
  append(settings, {
                       {"acks", options.acks},
                       {"linger.ms", latency ? "1" : "5"},
                       // For the latency mode's keyless messages: switch partition every
                       // 2 linger windows (librdkafka's default ratio).
                       {"partitioner", "consistent_random"},
                       {"sticky.partitioning.linger.ms", latency ? "2" : "10"},
                       {"batch.size", "1000000"},
                       {"batch.num.messages", "10000"},
                       {"compression.type", "none"},
                       {"enable.idempotence", "false"},
                       // Bounded producer queue: 64 MiB or 100k messages.
                       {"queue.buffering.max.kbytes", "65536"},
                       {"queue.buffering.max.messages", "100000"},
                       {"max.in.flight.requests.per.connection", "32"},
                       {"message.timeout.ms", "60000"},
                       {"statistics.interval.ms", "1000"},
                   });
  append(settings, options.overrides);
  return settings;
}

Settings txn_producer_settings(const LoadOptions& options, const std::string& transactional_id) {
  Settings settings = common_settings(options);
  const bool idempotent = options.txn_producer != TxnProducer::kPlain;
  append(settings, {
                       {"acks", "all"},
                       // The commit (or flush) sends what is queued at once, linger or not.
                       {"linger.ms", "5"},
                       {"batch.size", "1000000"},
                       {"batch.num.messages", "10000"},
                       {"compression.type", "none"},
                       {"enable.idempotence", idempotent ? "true" : "false"},
                       {"queue.buffering.max.kbytes", "65536"},
                       {"queue.buffering.max.messages", "100000"},
                       {"max.in.flight.requests.per.connection", "5"},
                       {"message.timeout.ms", "60000"},
                       {"statistics.interval.ms", "1000"},
                   });
  if (options.txn_producer == TxnProducer::kTransactional) {
    append(settings, {
                         {"transactional.id", transactional_id},
                         {"transaction.timeout.ms", "60000"},
                     });
  }
  append(settings, options.overrides);
  return settings;
}

Settings consumer_settings(const LoadOptions& options, Mode mode) {
  Settings settings = common_settings(options);
  const bool latency = mode == Mode::kLatency;
  append(settings, {
                       {"enable.auto.commit", "false"},
                       {"enable.partition.eof", "false"},
                       {"fetch.min.bytes", "1"},
                       {"fetch.wait.max.ms", latency ? "100" : "500"},
                       {"fetch.max.bytes", "52428800"},
                       {"max.partition.fetch.bytes", latency ? "1048576" : "4194304"},
                       {"queued.min.messages", "100000"},
                       // Per partition with queue-based consumption: 6 x 32 MiB at most.
                       {"queued.max.messages.kbytes", "32768"},
                       {"check.crcs", "false"},
                   });
  append(settings, options.overrides);
  return settings;
}

Settings group_consumer_settings(const LoadOptions& options, const std::string& group_id,
                                 Mode mode) {
  Settings settings = {
      {"bootstrap.servers", options.bootstrap},
      {"client.id", "fjord-load"},
      {"group.id", group_id},
  };
  if (mode == Mode::kCommit) {
    append(settings, {
                         {"enable.auto.commit", "false"},
                         {"socket.nagle.disable", "true"},
                     });
  }
  append(settings, options.overrides);
  return settings;
}

}  // namespace fjord::bench
