// A stand-in broker for testing the load tool and bench/run.sh without Fjord:
// librdkafka's in-process mock cluster (one broker, in memory) with the topic
// created up front, listening on a loopback port.
#pragma once

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs rdkafka.h first.
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>

#include "kafka.h"
#include "options.h"

namespace fjord::bench {

class FakeBroker {
 public:
  // Starts the mock cluster and creates options.topic with options.partitions.
  static Result<std::unique_ptr<FakeBroker>> start(const LoadOptions& options);
  ~FakeBroker();

  // "host:port" to bootstrap from.
  std::string bootstrap() const;

 private:
  FakeBroker() = default;

  KafkaPtr owner_;  // the mock cluster lives inside this handle's threads
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// `fjord-load fake-broker`: starts one, prints "ready <bootstrap>" and runs until
// SIGINT or SIGTERM. Returns the exit code.
int serve_fake_broker(const LoadOptions& options);

}  // namespace fjord::bench
