#include "raft/transport/peers.h"

#include <gtest/gtest.h>

namespace fjord::raft::transport {
namespace {

TEST(QuorumVoters, ParsesKafkasSyntax) {
  auto peers = parse_quorum_voters("1@127.0.0.1:9192,2@localhost:9193,3@[::1]:9194");
  ASSERT_TRUE(peers.ok()) << peers.error().message;
  ASSERT_EQ(peers->size(), 3u);
  EXPECT_EQ((*peers)[0], (PeerAddress{.node = 1, .host = "127.0.0.1", .port = 9192}));
  EXPECT_EQ((*peers)[1], (PeerAddress{.node = 2, .host = "localhost", .port = 9193}));
  EXPECT_EQ((*peers)[2], (PeerAddress{.node = 3, .host = "::1", .port = 9194}));
}

TEST(QuorumVoters, RejectsBadEntriesNamingThem) {
  for (const char* text : {"", "1@h", "x@h:1", "-1@h:1", "1@:1", "1@h:0", "1@h:65536", "1@h:1,",
                           "1@h:1,1@g:2", "1h:1", "1@h:1x"}) {
    auto peers = parse_quorum_voters(text);
    ASSERT_FALSE(peers.ok()) << text;
    EXPECT_EQ(peers.error().code, ErrorCode::kInvalidConfig);
    EXPECT_NE(peers.error().message.find("controller.quorum.voters"), std::string::npos);
  }
}

}  // namespace
}  // namespace fjord::raft::transport
