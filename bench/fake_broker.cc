#include "fake_broker.h"

#include <fmt/core.h>

#include <csignal>

namespace fjord::bench {

Result<std::unique_ptr<FakeBroker>> FakeBroker::start(const LoadOptions& options) {
  std::unique_ptr<FakeBroker> broker(new FakeBroker());
  auto owner = make_producer({{"client.id", "fjord-load-fake-broker"}, {"log_level", "3"}}, {});
  if (!owner.ok()) return owner.error();
  broker->owner_ = std::move(owner).value();
  broker->cluster_ = rd_kafka_mock_cluster_new(broker->owner_.get(), 1);
  if (broker->cluster_ == nullptr) {
    return Error{ErrorCode::kUnknownServerError, "rd_kafka_mock_cluster_new failed"};
  }
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(broker->cluster_, options.topic.c_str(), options.partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "mock topic");
  return broker;
}

FakeBroker::~FakeBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

std::string FakeBroker::bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

int serve_fake_broker(const LoadOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // Block before librdkafka's threads start, so only sigwait below sees them.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto broker = FakeBroker::start(options);
  if (!broker.ok()) {
    fmt::print(stderr, "fjord-load fake-broker: {}\n", broker.error().message);
    return 1;
  }
  fmt::print("ready {}\n", (*broker)->bootstrap());
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  return 0;
}

}  // namespace fjord::bench
