#include "cli/quorum_config.h"

#include <gtest/gtest.h>

#include "cli/server_config.h"

namespace fjord::cli {
namespace {

constexpr const char* kThreeVoters = "1@127.0.0.1:19092,2@127.0.0.1:19093,3@127.0.0.1:19094";

Result<ServerConfigBuild> build_from(const std::string& text) {
  auto settings = parse_properties(text, "server.properties");
  EXPECT_TRUE(settings.ok());
  return build_node_config(*settings);
}

bool mentions(const Result<ServerConfigBuild>& build, std::string_view text) {
  return !build.ok() && build.error().message.find(text) != std::string::npos;
}

TEST(ParseQuorumVoters, ReadsKafkaFormatSortedById) {
  auto voters = parse_quorum_voters("3@c:19094, 1@127.0.0.1:19092,2@[::1]:19093");
  ASSERT_TRUE(voters.ok()) << voters.error().message;
  ASSERT_EQ(voters->size(), 3u);
  EXPECT_EQ((*voters)[0], (broker::QuorumVoter{1, "127.0.0.1", 19092}));
  EXPECT_EQ((*voters)[1], (broker::QuorumVoter{2, "::1", 19093}));
  EXPECT_EQ((*voters)[2], (broker::QuorumVoter{3, "c", 19094}));
  EXPECT_EQ(format_quorum_voters(*voters), "1@127.0.0.1:19092,2@[::1]:19093,3@c:19094");
}

TEST(ParseQuorumVoters, EmptyMeansNoVoters) {
  auto voters = parse_quorum_voters("  ");
  ASSERT_TRUE(voters.ok());
  EXPECT_TRUE(voters->empty());
}

TEST(ParseQuorumVoters, RejectsBadEntriesNamingThem) {
  const char* bad[] = {"1-127.0.0.1:19092",
                       "x@127.0.0.1:19092",
                       "-1@127.0.0.1:19092",
                       "1@127.0.0.1",
                       "1@127.0.0.1:99999",
                       "1@a:1,,2@b:2",
                       "1@a:1,",
                       "1@a:0",
                       "99999999999@a:1"};
  for (const char* text : bad) {
    auto voters = parse_quorum_voters(text);
    ASSERT_FALSE(voters.ok()) << text;
    EXPECT_EQ(voters.code(), ErrorCode::kInvalidConfig);
    EXPECT_NE(voters.error().message.find("ID@HOST:PORT"), std::string::npos)
        << voters.error().message;
  }
}

TEST(ParseQuorumVoters, RejectsDuplicateIdsAndAddresses) {
  auto ids = parse_quorum_voters("1@a:1,1@b:2");
  ASSERT_FALSE(ids.ok());
  EXPECT_NE(ids.error().message.find("node id 1 is listed twice"), std::string::npos);
  auto addresses = parse_quorum_voters("1@a:1,2@a:1");
  ASSERT_FALSE(addresses.ok());
  EXPECT_NE(addresses.error().message.find("same address"), std::string::npos);
}

TEST(ClusterSettings, DefaultsAreKafkas) {
  auto build = build_from("");
  ASSERT_TRUE(build.ok());
  EXPECT_TRUE(build->config.quorum_voters.empty());
  EXPECT_EQ(build->config.broker_heartbeat_interval_ms, 2000);
  EXPECT_EQ(build->config.broker_session_timeout_ms, 9000);
  EXPECT_EQ(build->config.quorum_election_timeout_ms, 1000);
  EXPECT_EQ(build->config.own_voter(), nullptr);
}

TEST(ClusterSettings, MapsClusterKeys) {
  auto build = build_from(std::string("node.id=2\ncontroller.quorum.voters=") + kThreeVoters +
                          "\nbroker.heartbeat.interval.ms=500\nbroker.session.timeout.ms=3000\n"
                          "controller.quorum.election.timeout.ms=1500\n"
                          "controller.quorum.request.timeout.ms=4000\n"
                          "process.roles=broker, controller\n");
  ASSERT_TRUE(build.ok()) << build.error().message;
  const broker::NodeConfig& config = build->config;
  ASSERT_EQ(config.quorum_voters.size(), 3u);
  ASSERT_NE(config.own_voter(), nullptr);
  EXPECT_EQ(config.own_voter()->port, 19093);
  EXPECT_EQ(config.broker_heartbeat_interval_ms, 500);
  EXPECT_EQ(config.broker_session_timeout_ms, 3000);
  EXPECT_EQ(config.quorum_election_timeout_ms, 1500);
  EXPECT_EQ(config.quorum_request_timeout_ms, 4000);
  EXPECT_TRUE(build->warnings.empty());
}

TEST(ClusterSettings, NodeIdMustBeAVoterWhateverTheOrderOfKeys) {
  auto build =
      build_from(std::string("controller.quorum.voters=") + kThreeVoters + "\nnode.id=4\n");
  EXPECT_TRUE(mentions(build, "node.id 4 is not among controller.quorum.voters")) << build.ok();
  EXPECT_TRUE(mentions(build, "server.properties:1"));
  EXPECT_TRUE(mentions(build, "CONTROLLER://HOST:PORT and then run fjord cluster add-voter"));
  auto fixed = build_from(std::string("node.id=4\ncontroller.quorum.voters=") + kThreeVoters +
                          ",4@127.0.0.1:19095\n");
  EXPECT_TRUE(fixed.ok());
}

TEST(ClusterSettings, ANodeOutsideTheVotersJoinsOnItsControllerListener) {
  auto build = build_from(std::string("node.id=4\ncontroller.quorum.voters=") + kThreeVoters +
                          "\nlisteners=PLAINTEXT://127.0.0.1:9095,CONTROLLER://127.0.0.1:19095\n");
  ASSERT_TRUE(build.ok()) << build.error().message;
  EXPECT_EQ(build->config.own_voter(), nullptr);
  ASSERT_TRUE(build->config.raft_address().has_value());
  EXPECT_EQ(build->config.raft_address()->host, "127.0.0.1");
  EXPECT_EQ(build->config.raft_address()->port, 19095);
  EXPECT_TRUE(build->warnings.empty());

  // --listen replaces the Kafka listener only.
  std::vector<ConfigSetting> settings{
      {"node.id", "4", "--set"},
      {"controller.quorum.voters", kThreeVoters, "--set"},
      {"listeners", "PLAINTEXT://127.0.0.1:9095,CONTROLLER://127.0.0.1:19095", "--set"},
      {"listeners", "PLAINTEXT://127.0.0.1:9096", kListenFlagOrigin}};
  auto flagged = build_node_config(settings);
  ASSERT_TRUE(flagged.ok()) << flagged.error().message;
  EXPECT_EQ(flagged->config.listen_port, 9096);
  ASSERT_TRUE(flagged->config.raft_address().has_value());
  EXPECT_EQ(flagged->config.raft_address()->port, 19095);

  auto taken = build_from(std::string("node.id=4\ncontroller.quorum.voters=") + kThreeVoters +
                          "\nlisteners=PLAINTEXT://127.0.0.1:9095,CONTROLLER://127.0.0.1:19093\n");
  EXPECT_TRUE(mentions(taken, "is voter 2's address"));

  auto ephemeral = build_from(std::string("node.id=4\ncontroller.quorum.voters=") + kThreeVoters +
                              "\nlisteners=PLAINTEXT://127.0.0.1:9095,CONTROLLER://127.0.0.1:0\n");
  EXPECT_TRUE(mentions(ephemeral, "needs a fixed port, not 0"));
}

TEST(ClusterSettings, BadVotersValueNamesWhereItCameFrom) {
  auto build = build_from("\ncontroller.quorum.voters=1@127.0.0.1:19092,1@127.0.0.1:19093\n");
  EXPECT_TRUE(mentions(build, "listed twice"));
  EXPECT_TRUE(mentions(build, "server.properties:2"));
}

TEST(ClusterSettings, RaftAddressMustNotBeTheKafkaListener) {
  auto build = build_from(
      "node.id=1\nlisteners=PLAINTEXT://0.0.0.0:9092\ncontroller.quorum.voters=1@127.0.0.1:9092");
  EXPECT_TRUE(mentions(build, "is also its Kafka listener"));
}

TEST(ClusterSettings, HeartbeatMustBeShorterThanSession) {
  auto build = build_from("broker.heartbeat.interval.ms=9000\n");
  EXPECT_TRUE(mentions(build, "must be less than broker.session.timeout.ms (9000)"));
  EXPECT_FALSE(build_from("broker.session.timeout.ms=0").ok());
  EXPECT_FALSE(build_from("controller.quorum.election.timeout.ms=5").ok());
}

TEST(ClusterSettings, ProcessRolesMustBeCombined) {
  EXPECT_TRUE(mentions(build_from("process.roles=broker"), "both a broker and a controller"));
  EXPECT_TRUE(mentions(build_from("process.roles=controller"), "both a broker and a controller"));
  EXPECT_TRUE(build_from("process.roles=controller,broker").ok());
}

TEST(ClusterSettings, KafkaCombinedListenersAreAccepted) {
  auto build = build_from(
      "node.id=1\nprocess.roles=broker,controller\n"
      "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:19092\n"
      "controller.listener.names=CONTROLLER\n"
      "controller.quorum.voters=1@127.0.0.1:19092,2@127.0.0.1:19093\n");
  ASSERT_TRUE(build.ok()) << build.error().message;
  EXPECT_EQ(build->config.listen_port, 9092);
  EXPECT_TRUE(build->warnings.empty());
}

TEST(ClusterSettings, ControllerListenerMustMatchOwnVoterPort) {
  auto build = build_from(
      "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:29092\n"
      "controller.quorum.voters=1@127.0.0.1:19092\n");
  EXPECT_TRUE(mentions(build, "name different ports"));
}

TEST(ClusterSettings, UnknownListenerNameIsRefused) {
  auto build = build_from("listeners=PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:9093\n");
  EXPECT_TRUE(mentions(build, "neither PLAINTEXT nor the controller listener"));
  auto renamed = build_from(
      "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:9092,INTERNAL://127.0.0.1:19092\n"
      "controller.listener.names=INTERNAL\ncontroller.quorum.voters=1@127.0.0.1:19092\n");
  EXPECT_TRUE(renamed.ok());
  EXPECT_FALSE(build_from("listeners=CONTROLLER://127.0.0.1:19092").ok());  // no Kafka listener
}

TEST(ClusterSettings, ControllerListenerWithoutVotersIsAWarning) {
  auto build = build_from("listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:19092\n");
  ASSERT_TRUE(build.ok());
  ASSERT_EQ(build->warnings.size(), 1u);
  EXPECT_NE(build->warnings[0].find("single-node quorum"), std::string::npos);
}

}  // namespace
}  // namespace fjord::cli
