// Transports on 127.0.0.1, each on its own io_context thread as in a node.
#include "raft/transport/transport.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace fjord::raft::transport {
namespace {

namespace asio = boost::asio;

// Generous: only a broken transport waits this long (no timing assertions).
constexpr auto kPatience = std::chrono::seconds(30);

class Node {
 public:
  explicit Node(NodeId id, std::string cluster_id = "test-cluster", uint16_t port = 0,
                size_t max_frame_bytes = 64 << 20, size_t max_queued_bytes = 64 << 10) {
    TransportOptions options;
    options.self = id;
    options.cluster_id = std::move(cluster_id);
    options.listen_port = port;
    options.max_frame_bytes = max_frame_bytes;
    options.max_queued_bytes = max_queued_bytes;
    transport_ = std::make_unique<Transport>(io_, options, [this](std::vector<Message>& batch) {
      std::lock_guard lock(mutex_);
      ++frames_;
      for (auto& message : batch) received_.push_back(std::move(message));
      changed_.notify_all();
    });
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Node() { stop(); }

  // Runs `f` on the transport's thread and returns its result.
  template <typename F>
  auto run(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  void stop() {
    if (!thread_.joinable()) return;
    run([this] { transport_->stop(); });
    work_.reset();
    thread_.join();  // every coroutine has ended: run() returned
  }

  Status start() {
    return run([this] { return transport_->start(); });
  }
  uint16_t port() {
    return run([this] { return transport_->port(); });
  }
  void connect_to(NodeId id, uint16_t port) {
    run([&] { transport_->set_peer(PeerAddress{.node = id, .host = "127.0.0.1", .port = port}); });
  }
  Transport& transport() { return *transport_; }  // on the transport's thread only
  TransportStats stats() {
    return run([this] { return transport_->stats(); });
  }
  bool connected(NodeId peer) {
    return run([&] { return transport_->connected(peer); });
  }

  // Sends `count` appends for groups first..first+count-1 to `to`, then flushes.
  void send_appends(NodeId to, int first, int count) {
    run([&] {
      for (int i = first; i < first + count; ++i) {
        Message message;
        message.type = MessageType::kAppend;
        message.group = i;
        message.to = to;
        message.term = 1;
        transport_->send(std::move(message));
      }
      transport_->flush();
    });
  }

  bool wait_for_messages(size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kPatience, [&] { return received_.size() >= count; });
  }
  std::vector<Message> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  int frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<Transport> transport_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Message> received_;
  int frames_ = 0;
};

template <typename Predicate>
bool eventually(Predicate predicate) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(RaftTransport, DeliversInOrderNamingTheSender) {
  Node a(1);
  Node b(2);
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  a.connect_to(2, b.port());
  ASSERT_TRUE(eventually([&] { return a.connected(2); }));
  a.send_appends(2, 0, 3);
  a.send_appends(2, 3, 3);
  ASSERT_TRUE(b.wait_for_messages(6));
  const auto received = b.received();
  for (size_t i = 0; i < received.size(); ++i) {
    EXPECT_EQ(received[i].group, static_cast<GroupId>(i));
    EXPECT_EQ(received[i].from, 1);
    EXPECT_EQ(received[i].to, 2);
  }
}

TEST(RaftTransport, OneFlushIsOneFrameForManyGroups) {
  Node a(1);
  Node b(2);
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  a.connect_to(2, b.port());
  ASSERT_TRUE(eventually([&] { return a.connected(2); }));
  a.send_appends(2, 0, 1000);
  ASSERT_TRUE(b.wait_for_messages(1000));
  EXPECT_EQ(b.frames(), 1);
  // The sender counts a frame once its write completes, which may be after the
  // receiver has it.
  ASSERT_TRUE(eventually([&] { return a.stats().messages_sent == 1000u; }));
  EXPECT_EQ(a.stats().frames_sent, 1u);
}

TEST(RaftTransport, ASnapshotLargerThanAFrameArrivesWholeInChunks) {
  constexpr size_t kFrameBytes = 64 << 10;
  Node a(1, "test-cluster", 0, kFrameBytes, 8 << 20);
  Node b(2, "test-cluster", 0, kFrameBytes, 8 << 20);
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  a.connect_to(2, b.port());
  ASSERT_TRUE(eventually([&] { return a.connected(2); }));
  Bytes data(1 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  a.run([&] {
    Message message;
    message.type = MessageType::kSnapshot;
    message.group = 5;
    message.to = 2;
    message.term = 4;
    message.snapshot = SnapshotMeta{.end_offset = 10, .last_term = 4, .config = {{1, 2}, {}}};
    message.snapshot_data = std::make_shared<const Bytes>(data);
    a.transport().send(std::move(message));
    a.transport().flush();
    return 0;
  });
  ASSERT_TRUE(b.wait_for_messages(1));
  const auto received = b.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].type, MessageType::kSnapshot);
  EXPECT_EQ(received[0].snapshot_total_bytes, -1);
  ASSERT_NE(received[0].snapshot_data, nullptr);
  EXPECT_EQ(*received[0].snapshot_data, data);
  // 1 MiB in chunks of at most 16 KiB (counted once the writes complete).
  EXPECT_TRUE(eventually([&] { return a.stats().frames_sent >= 16u; }));
}

TEST(RaftTransport, AnotherClustersNodeIsRefused) {
  Node a(1, "other-cluster");
  Node b(2);
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  a.connect_to(2, b.port());
  ASSERT_TRUE(eventually([&] { return b.stats().connections_refused >= 1; }));
  a.send_appends(2, 0, 1);
  EXPECT_TRUE(eventually([&] { return b.stats().connections_refused >= 2; }));  // it retries
  EXPECT_TRUE(b.received().empty());
}

TEST(RaftTransport, MessagesForAnUnknownPeerAreDroppedAndCounted) {
  Node a(1);
  ASSERT_TRUE(a.start().ok());
  a.send_appends(9, 0, 5);
  EXPECT_EQ(a.stats().messages_dropped, 5u);
}

TEST(RaftTransport, QueuesForADownPeerAreBoundedAndItIsReachedOnceUp) {
  // Find a free port, then leave it unused until node 2 starts on it.
  uint16_t port = 0;
  {
    Node probe(2);
    ASSERT_TRUE(probe.start().ok());
    port = probe.port();
  }
  Node a(1);
  ASSERT_TRUE(a.start().ok());
  a.connect_to(2, port);
  for (int round = 0; round < 100; ++round) a.send_appends(2, round * 100, 100);
  // 10,000 messages do not fit in 64 KiB of queued frames: the oldest went.
  EXPECT_GT(a.stats().messages_dropped, 0u);
  EXPECT_FALSE(a.connected(2));

  Node b(2, "test-cluster", port);
  ASSERT_TRUE(b.start().ok());
  ASSERT_TRUE(eventually([&] { return a.connected(2); }));
  a.send_appends(2, 1000000, 1);
  ASSERT_TRUE(eventually([&] {
    auto received = b.received();
    return !received.empty() && received.back().group == 1000000;
  }));
  EXPECT_EQ(a.stats().messages_dropped + b.received().size(), 10001u);
}

TEST(RaftTransport, ReconnectsToARestartedPeer) {
  Node a(1);
  ASSERT_TRUE(a.start().ok());
  auto b = std::make_unique<Node>(2);
  ASSERT_TRUE(b->start().ok());
  const uint16_t port = b->port();
  a.connect_to(2, port);
  a.send_appends(2, 0, 1);
  ASSERT_TRUE(b->wait_for_messages(1));

  b.reset();  // stopped: its sockets close
  ASSERT_TRUE(eventually([&] { return !a.connected(2); }));
  b = std::make_unique<Node>(2, "test-cluster", port);
  ASSERT_TRUE(b->start().ok());
  ASSERT_TRUE(eventually([&] { return a.connected(2); }));
  a.send_appends(2, 1, 1);
  ASSERT_TRUE(b->wait_for_messages(1));
  EXPECT_EQ(b->received()[0].group, 1);
}

}  // namespace
}  // namespace fjord::raft::transport
