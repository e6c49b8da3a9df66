// A fixture for in-process tests of the API handlers: a real controller, shards
// and storage in a temporary directory, the group and transaction coordinators
// wired as node.cc wires them, requests encoded with the generated code and
// passed to Broker::handle as frames, no sockets.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "protocol/generated/api_messages.h"
#include "protocol/generated/request_header.h"

namespace fjord::broker {

class InProcessBrokerTest : public ::testing::Test {
 protected:
  // A fresh directory under the system's temporary one; TearDown removes it.
  void use_temp_dir(const std::string& prefix) {
    dir_ =
        std::filesystem::temp_directory_path() / (prefix + std::to_string(std::random_device{}()));
    config_.data_dir = dir_.string();
  }

  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  // Opens what dir_ holds, with config_ and txn_config_; tests restart to check recovery.
  void start() {
    metadata::ControllerOptions options;
    options.data_dir = dir_;
    options.default_partitions = config_.num_partitions;
    auto controller = metadata::Controller::open(options, wall_clock_ms());
    ASSERT_TRUE(controller.ok());
    controller_ = std::move(*controller);
    pool_ = std::make_unique<runtime::ShardPool>(2);
    partitions_ = std::make_unique<PartitionManager>(*pool_, dir_, config_.topic_defaults);
    pool_->start();
    ASSERT_TRUE(partitions_->open_all(*controller_->image()).ok());
    GroupCoordinatorConfig group_config;
    group_config.limits = config_.group_limits;
    group_config.offsets_partitions = config_.offsets_topic_partitions;
    groups_ = std::make_unique<GroupCoordinator>(group_config, *partitions_);
    partitions_->set_txn_marker_listener(groups_->marker_listener());  // as node.cc does
    ASSERT_TRUE(groups_->load_all(*controller_->image()).ok());
    txns_ = std::make_unique<TxnCoordinator>(txn_config_, *partitions_, *controller_);
    ASSERT_TRUE(txns_->load_all(*controller_->image()).ok());
    quorum_ = make_single_node_quorum(config_, *controller_);
    broker_ =
        std::make_unique<Broker>(config_, *controller_, *partitions_, *groups_, *txns_, *quorum_);
    broker_->set_advertised_port(9092);
  }

  void stop() {
    if (!pool_) return;
    groups_->unload_all();
    partitions_->close_all();
    (void)controller_->close();
    pool_->stop_and_join();
    broker_.reset();
    quorum_.reset();
    txns_.reset();
    groups_.reset();
    partitions_.reset();
    pool_.reset();
    controller_.reset();
  }

  std::vector<uint8_t> frame_of(int16_t api_key, int16_t version, const auto& request) {
    OutboundMessage out;
    protocol::Writer w(out);
    protocol::RequestHeader header;
    header.request_api_key = api_key;
    header.request_api_version = version;
    header.correlation_id = 42;
    header.client_id = "in-process-test";
    header.encode(w, protocol::request_header_version(api_key, version));
    request.encode(w, version);
    return out.bytes;
  }

  net::HandlerResult send(std::vector<uint8_t> frame) {
    return boost::asio::co_spawn(pool_->executor(0), broker_->handle(std::move(frame), connection_),
                                 boost::asio::use_future)
        .get();
  }

  // The response bytes with spliced file ranges read back in.
  static std::vector<uint8_t> materialize(const OutboundMessage& message) {
    std::vector<uint8_t> bytes;
    size_t at = 0;
    for (const auto& splice : message.splices) {
      bytes.insert(bytes.end(), message.bytes.begin() + at, message.bytes.begin() + splice.at);
      at = splice.at;
      std::vector<uint8_t> file(splice.range.length);
      EXPECT_EQ(::pread(splice.range.fd, file.data(), file.size(),
                        static_cast<off_t>(splice.range.offset)),
                static_cast<ssize_t>(file.size()));
      bytes.insert(bytes.end(), file.begin(), file.end());
    }
    bytes.insert(bytes.end(), message.bytes.begin() + at, message.bytes.end());
    return bytes;
  }

  template <typename Response, typename Request>
  Response call(const Request& request, int16_t version) {
    net::HandlerResult result = send(frame_of(Request::kApiKey, version, request));
    EXPECT_EQ(result.kind, net::HandlerResult::Kind::kRespond);
    // Decoded records point into the response bytes: keep them for the test's life.
    const std::vector<uint8_t>& bytes = response_bytes_.emplace_back(materialize(result.response));
    protocol::Reader r(bytes);
    EXPECT_EQ(r.read_int32(), 42);  // correlation id
    if (protocol::response_header_version(Request::kApiKey, version) >= 1) {
      EXPECT_EQ(r.read_uvarint(), 0u);  // no tagged fields
    }
    Response response;
    response.decode(r, version);
    EXPECT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.remaining(), 0u);
    return response;
  }

  std::filesystem::path dir_;
  NodeConfig config_;
  TxnCoordinatorConfig txn_config_;
  std::deque<std::vector<uint8_t>> response_bytes_;
  net::ConnectionInfo connection_{1, "127.0.0.1:1", 0};
  std::unique_ptr<metadata::Controller> controller_;
  std::unique_ptr<runtime::ShardPool> pool_;
  std::unique_ptr<PartitionManager> partitions_;
  std::unique_ptr<GroupCoordinator> groups_;
  std::unique_ptr<TxnCoordinator> txns_;
  std::unique_ptr<Quorum> quorum_;
  std::unique_ptr<Broker> broker_;
};

}  // namespace fjord::broker
