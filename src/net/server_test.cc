// The network layer against real sockets on 127.0.0.1, with a scripted handler
// (see test_handler.h for what each frame's first byte asks for).
#include "net/server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "net/test_client.h"
#include "net/test_handler.h"
#include "runtime/shards.h"

namespace fjord::net {
namespace {

using testing::connection_refused;
using testing::TestClient;
using testing::TestHandler;
using testing::wait_until;

class ServerTest : public ::testing::Test {
 protected:
  void start_server(ServerConfig config = {}, unsigned shards = 2) {
    config.port = 0;
    pool_ = std::make_unique<runtime::ShardPool>(shards);
    pool_->start();
    server_ = std::make_unique<Server>(*pool_, handler_, config);
    Status started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  void TearDown() override {
    handler_.release_blocked();
    if (server_) server_->shutdown();
    server_.reset();
    if (pool_) pool_->stop_and_join();
  }

  uint16_t port() const { return server_->port(); }

  TestHandler handler_;
  std::unique_ptr<runtime::ShardPool> pool_;
  std::unique_ptr<Server> server_;
};

// A frame for the test handler: the command, then `seq` as 4 raw bytes.
std::string numbered_frame(char command, int seq) {
  std::string frame(1, command);
  frame.append(reinterpret_cast<const char*>(&seq), sizeof(seq));
  return frame;
}

TEST_F(ServerTest, EchoesAFrame) {
  start_server();
  TestClient client(port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_frame("ehello"));
  EXPECT_EQ(client.read_frame(), "ehello");
  EXPECT_TRUE(wait_until([&] { return server_->connection_count() == 1; }));
}

TEST_F(ServerTest, PipelinedResponsesComeInArrivalOrder) {
  start_server();
  TestClient client(port());
  constexpr int kFrames = 1000;
  std::thread sender([&] {
    for (int i = 0; i < kFrames; ++i) ASSERT_TRUE(client.send_frame(numbered_frame('d', i)));
  });
  for (int i = 0; i < kFrames; ++i) {
    auto response = client.read_frame();
    ASSERT_TRUE(response.has_value()) << "response " << i;
    EXPECT_EQ(*response, numbered_frame('d', i));
  }
  sender.join();
  std::vector<int> expected(kFrames);
  for (int i = 0; i < kFrames; ++i) expected[i] = i;
  EXPECT_EQ(handler_.start_order(), expected);
}

TEST_F(ServerTest, NoResponseWritesNothingAndKeepsTheOrderOfOthers) {
  start_server();
  TestClient client(port());
  for (const char* frame : {"e1", "n2", "d3", "n4", "e5"}) ASSERT_TRUE(client.send_frame(frame));
  EXPECT_EQ(client.read_frame(), "e1");
  EXPECT_EQ(client.read_frame(), "d3");
  EXPECT_EQ(client.read_frame(), "e5");
  ASSERT_TRUE(client.send_frame("e6"));
  EXPECT_EQ(client.read_frame(), "e6");
  EXPECT_EQ(handler_.calls, 6);
}

TEST_F(ServerTest, CloseResultClosesAfterEarlierResponses) {
  start_server();
  TestClient client(port());
  for (const char* frame : {"d1", "e2", "c3", "e4"}) ASSERT_TRUE(client.send_frame(frame));
  EXPECT_EQ(client.read_frame(), "d1");
  EXPECT_EQ(client.read_frame(), "e2");
  EXPECT_TRUE(client.read_eof());
  EXPECT_TRUE(wait_until([&] { return server_->connection_count() == 0; }));
}

TEST_F(ServerTest, OversizedSizeFieldClosesOnlyThatConnection) {
  start_server();
  TestClient oversized(port());
  TestClient negative(port());
  TestClient healthy(port());
  ASSERT_TRUE(oversized.send_size_field(0x7fffffff));  // 2 GiB: must not be allocated
  ASSERT_TRUE(negative.send_size_field(-5));
  EXPECT_TRUE(oversized.read_eof());
  EXPECT_TRUE(negative.read_eof());
  ASSERT_TRUE(healthy.send_frame("estill here"));
  EXPECT_EQ(healthy.read_frame(), "estill here");
  EXPECT_EQ(handler_.calls, 1);
}

TEST_F(ServerTest, FrameAtTheLimitPassesAndOneByteMoreCloses) {
  ServerConfig config;
  config.max_frame_bytes = 100;
  start_server(config);
  TestClient client(port());
  std::string at_limit = "e" + std::string(99, 'x');
  ASSERT_TRUE(client.send_frame(at_limit));
  EXPECT_EQ(client.read_frame(), at_limit);
  ASSERT_TRUE(client.send_frame(at_limit + "y"));
  EXPECT_TRUE(client.read_eof());
}

TEST_F(ServerTest, TruncatedFrameIsNotHandledAndTheConnectionCloses) {
  start_server();
  TestClient client(port());
  ASSERT_TRUE(client.send_frame("d-complete"));
  ASSERT_TRUE(client.send_size_field(100));
  ASSERT_TRUE(client.send_bytes("eonly ten."));
  client.shutdown_send();
  EXPECT_EQ(client.read_frame(), "d-complete");
  EXPECT_TRUE(client.read_eof());
  EXPECT_EQ(handler_.calls, 1);
}

TEST_F(ServerTest, FramesLargerThanTheReadBufferArriveWhole) {
  ServerConfig config;
  config.read_buffer_bytes = 64;
  start_server(config);
  TestClient client(port());
  std::vector<std::string> frames;
  for (size_t size : {1u, 20u, 31u, 33u, 63u, 64u, 65u, 1000u, 1u << 20, (3u << 20) + 7, 5u}) {
    std::string frame = "e";
    for (size_t i = 1; i < size; ++i) frame.push_back(static_cast<char>('a' + i % 26));
    frames.push_back(frame);
  }
  std::thread sender([&] {
    for (const auto& frame : frames) ASSERT_TRUE(client.send_frame(frame));
  });
  for (const auto& frame : frames) EXPECT_EQ(client.read_frame(), frame);
  sender.join();
}

TEST_F(ServerTest, IdleConnectionIsClosed) {
  ServerConfig config;
  config.idle_timeout_ms = 100;
  start_server(config);
  TestClient client(port());
  ASSERT_TRUE(client.send_frame("eactive"));
  EXPECT_EQ(client.read_frame(), "eactive");
  EXPECT_TRUE(client.read_eof());
  EXPECT_TRUE(wait_until([&] { return server_->connection_count() == 0; }));
}

TEST_F(ServerTest, ConnectionWaitingOnAHandlerIsNotIdle) {
  ServerConfig config;
  config.idle_timeout_ms = 50;
  start_server(config);
  TestClient client(port());
  ASSERT_TRUE(client.send_frame("bslow"));
  ASSERT_TRUE(wait_until([&] { return handler_.calls == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several idle periods
  handler_.release_blocked();
  EXPECT_EQ(client.read_frame(), "bslow");
}

TEST_F(ServerTest, InFlightRequestLimitPausesReading) {
  ServerConfig config;
  config.max_in_flight_requests = 4;
  start_server(config);
  TestClient client(port());
  constexpr int kFrames = 50;
  for (int i = 0; i < kFrames; ++i) ASSERT_TRUE(client.send_frame(numbered_frame('b', i)));
  ASSERT_TRUE(wait_until([&] { return handler_.calls == 4; }));
  // Give a server that ignores the limit time to start more calls.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(handler_.calls, 4);
  handler_.release_blocked();
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(client.read_frame(), numbered_frame('b', i));
  EXPECT_EQ(handler_.calls, kFrames);
  EXPECT_LE(handler_.max_running, 4);
}

TEST_F(ServerTest, InFlightBytesLimitPausesReading) {
  ServerConfig config;
  config.max_in_flight_bytes = 1000;
  start_server(config);
  TestClient client(port());
  std::string frame = "b" + std::string(399, 'x');  // the third one goes over the limit
  constexpr int kFrames = 20;
  for (int i = 0; i < kFrames; ++i) ASSERT_TRUE(client.send_frame(frame));
  ASSERT_TRUE(wait_until([&] { return handler_.calls == 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(handler_.calls, 3);
  handler_.release_blocked();
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(client.read_frame(), frame);
  EXPECT_LE(handler_.max_running, 3);
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char path[] = "/tmp/fjord_net_testXXXXXX";
    fd_ = ::mkstemp(path);
    ::unlink(path);
    EXPECT_EQ(::write(fd_, contents.data(), contents.size()),
              static_cast<ssize_t>(contents.size()));
  }
  ~TempFile() { ::close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

std::string random_bytes(size_t size) {
  std::mt19937 random(42);
  std::string bytes(size, '\0');
  for (auto& byte : bytes) byte = static_cast<char>(random());
  return bytes;
}

TEST_F(ServerTest, FileRangesAreSplicedInByteExact) {
  start_server();
  std::string contents = random_bytes(6 << 20);
  TempFile file(contents);
  // Ranges at the start, in the middle and at the end of the memory bytes; the
  // big one is larger than a socket buffer, so sendfile meets a full socket.
  OutboundMessage message;
  message.bytes = {'h', 'e', 'a', 'd', 't', 'a', 'i', 'l'};
  auto range = [&](uint64_t offset, uint32_t length) {
    return FileRange{file.fd(), offset, length, nullptr};
  };
  message.splices = {{0, range(10, 100)},
                     {4, range(1000, 5 << 20)},
                     {4, range(7, 3)},
                     {8, range((6 << 20) - 50, 50)}};
  handler_.set_file_response(message);
  std::string expected = contents.substr(10, 100) + "head" + contents.substr(1000, 5 << 20) +
                         contents.substr(7, 3) + "tail" + contents.substr((6 << 20) - 50, 50);

  TestClient client(port());
  ASSERT_TRUE(client.send_frame("f"));
  ASSERT_TRUE(client.send_frame("eafter"));
  auto response = client.read_frame();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->size(), expected.size());
  EXPECT_TRUE(*response == expected);  // not EXPECT_EQ: no 5 MiB diff on failure
  EXPECT_EQ(client.read_frame(), "eafter");
  EXPECT_EQ(server_->stats().sendfile_bytes, 100u + (5 << 20) + 3 + 50);
}

TEST_F(ServerTest, FileShorterThanItsRangeClosesTheConnection) {
  start_server();
  TempFile file("0123456789");
  OutboundMessage message;
  message.bytes = {'x'};
  message.splices = {{1, FileRange{file.fd(), 5, 100, nullptr}}};
  handler_.set_file_response(message);
  TestClient client(port());
  ASSERT_TRUE(client.send_frame("f"));
  EXPECT_FALSE(client.read_frame().has_value());  // 106 bytes promised, 6 sent, then EOF
}

TEST_F(ServerTest, HandlerExceptionClosesOnlyItsConnection) {
  start_server();
  TestClient thrower(port());
  TestClient bystander(port());
  ASSERT_TRUE(thrower.send_frame("t"));
  EXPECT_TRUE(thrower.read_eof());
  ASSERT_TRUE(bystander.send_frame("efine"));
  EXPECT_EQ(bystander.read_frame(), "efine");
}

TEST_F(ServerTest, ShutdownWaitsForInFlightRequestsAndDeliversTheirResponses) {
  start_server();
  TestClient client(port());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.send_frame(numbered_frame('b', i)));
  ASSERT_TRUE(wait_until([&] { return handler_.calls == 3; }));

  std::atomic<bool> returned{false};
  std::thread stopper([&] {
    server_->shutdown(20000);
    returned = true;
  });
  ASSERT_TRUE(wait_until([&] { return connection_refused(port()); }));  // accepting stopped
  EXPECT_FALSE(returned);  // the handlers are still blocked
  handler_.release_blocked();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(client.read_frame(), numbered_frame('b', i));
  EXPECT_TRUE(client.read_eof());
  stopper.join();
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(ServerTest, ShutdownClosesConnectionsStillBusyAtTheDrainTimeout) {
  start_server();
  TestClient busy(port());
  TestClient quiet(port());
  ASSERT_TRUE(busy.send_frame("bstuck"));
  ASSERT_TRUE(wait_until([&] { return handler_.calls == 1; }));
  server_->shutdown(50);
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_TRUE(busy.read_eof());
  EXPECT_TRUE(quiet.read_eof());
}

TEST_F(ServerTest, ShutdownFromAShardThreadReturns) {
  start_server();
  TestClient client(port());
  ASSERT_TRUE(client.send_frame("eping"));
  EXPECT_EQ(client.read_frame(), "eping");
  std::promise<void> done;
  boost::asio::post(pool_->executor(1), [&] {
    server_->shutdown(1000);
    done.set_value();
  });
  done.get_future().wait();
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_TRUE(client.read_eof());
}

TEST_F(ServerTest, ConcurrentShutdownsBothReturnAfterTheWork) {
  start_server();
  TestClient client(port());
  ASSERT_TRUE(client.send_frame("eping"));
  EXPECT_EQ(client.read_frame(), "eping");
  std::thread first([&] { server_->shutdown(); });
  std::thread second([&] {
    server_->shutdown();
    EXPECT_EQ(server_->connection_count(), 0u);
  });
  first.join();
  second.join();
  EXPECT_TRUE(client.read_eof());
}

TEST_F(ServerTest, ZeroInFlightLimitsStillAdmitOneRequestAtATime) {
  ServerConfig config;
  config.max_in_flight_requests = 0;
  config.max_in_flight_bytes = 0;
  start_server(config);
  TestClient client(port());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client.send_frame(numbered_frame('d', i)));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(client.read_frame(), numbered_frame('d', i));
  EXPECT_EQ(handler_.max_running, 1);
}

TEST_F(ServerTest, ConnectionsAreSpreadEvenlyAcrossShards) {
  constexpr unsigned kShards = 4;
  constexpr int kConnections = 40;
  start_server({}, kShards);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kConnections; ++i) clients.push_back(std::make_unique<TestClient>(port()));
  std::vector<int> per_shard(kShards);
  for (auto& client : clients) ASSERT_TRUE(client->send_frame("s"));
  for (auto& client : clients) {
    auto shard = client->read_frame();
    ASSERT_TRUE(shard.has_value() && shard->size() == 1);
    ASSERT_LT(static_cast<unsigned>((*shard)[0]), kShards);
    ++per_shard[static_cast<unsigned>((*shard)[0])];
  }
  EXPECT_EQ(per_shard, std::vector<int>(kShards, kConnections / kShards));
  EXPECT_EQ(server_->connection_count(), static_cast<size_t>(kConnections));
  EXPECT_EQ(server_->stats().connections_accepted, static_cast<uint64_t>(kConnections));
}

TEST_F(ServerTest, ConnectionsOverTheLimitAreClosed) {
  ServerConfig config;
  config.max_connections = 2;
  start_server(config);
  TestClient first(port());
  TestClient second(port());
  ASSERT_TRUE(wait_until([&] { return server_->connection_count() == 2; }));
  TestClient third(port());
  EXPECT_TRUE(third.read_eof());
  ASSERT_TRUE(first.send_frame("eok"));
  EXPECT_EQ(first.read_frame(), "eok");
  EXPECT_EQ(server_->stats().connections_rejected, 1u);
}

TEST(ServerStartTest, BindFailureNamesTheAddress) {
  runtime::ShardPool pool(1);
  pool.start();
  TestHandler handler;
  ServerConfig config;
  config.port = 0;
  Server first(pool, handler, config);
  ASSERT_TRUE(first.start().ok());
  config.port = first.port();
  Server second(pool, handler, config);
  Status status = second.start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << status.error().message;
  first.shutdown();
  pool.stop_and_join();
}

}  // namespace
}  // namespace fjord::net
