#include "cli/server_config.h"

#include <gtest/gtest.h>

namespace fjord::cli {
namespace {

Result<ServerConfigBuild> build_from(std::string_view text) {
  auto settings = parse_properties(text, "server.properties");
  EXPECT_TRUE(settings.ok());
  return build_node_config(*settings);
}

TEST(ParseHostPort, AcceptsHostAndPortIncludingEphemeralZero) {
  auto address = parse_host_port("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(address->host, "127.0.0.1");
  EXPECT_EQ(address->port, 0);
  auto v6 = parse_host_port("[::1]:9092");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9092);
}

TEST(ParseHostPort, RejectsMissingOrBadPort) {
  EXPECT_FALSE(parse_host_port("localhost").ok());
  EXPECT_FALSE(parse_host_port("localhost:").ok());
  EXPECT_FALSE(parse_host_port(":9092").ok());
  EXPECT_FALSE(parse_host_port("localhost:65536").ok());
  EXPECT_FALSE(parse_host_port("localhost:90x").ok());
  EXPECT_FALSE(parse_host_port("::1:9092").ok());
}

TEST(ParseProperties, ReadsJavaPropertiesSyntax) {
  auto settings = parse_properties(
      "# comment\n"
      "! also a comment\n"
      "\n"
      "a=1\n"
      "  b : two words  \n"
      "c 3\n"
      "d=first \\\n"
      "   second\n"
      "e\\=x=y\n"
      "f=crlf\r\n"
      "last=no newline",
      "f.properties");
  ASSERT_TRUE(settings.ok());
  ASSERT_EQ(settings->size(), 7u);
  EXPECT_EQ((*settings)[0].key, "a");
  EXPECT_EQ((*settings)[0].value, "1");
  EXPECT_EQ((*settings)[0].origin, "f.properties:4");
  EXPECT_EQ((*settings)[1].key, "b");
  EXPECT_EQ((*settings)[1].value, "two words");
  EXPECT_EQ((*settings)[2].value, "3");
  EXPECT_EQ((*settings)[3].key, "d");
  EXPECT_EQ((*settings)[3].value, "first second");
  EXPECT_EQ((*settings)[4].key, "e=x");
  EXPECT_EQ((*settings)[4].value, "y");
  EXPECT_EQ((*settings)[5].value, "crlf");
  EXPECT_EQ((*settings)[6].value, "no newline");
}

TEST(BuildNodeConfig, MapsBrokerKeys) {
  auto build = build_from(
      "node.id=7\n"
      "log.dirs=/var/lib/fjord\n"
      "listeners=PLAINTEXT://0.0.0.0:19092\n"
      "advertised.listeners=PLAINTEXT://broker.example:29092\n"
      "num.partitions=6\n"
      "auto.create.topics.enable=FALSE\n"
      "default.replication.factor=3\n"
      "socket.request.max.bytes=1048576\n"
      "connections.max.idle.ms=1000\n"
      "log.retention.check.interval.ms=5000\n"
      "metadata.log.max.record.bytes.between.snapshots=4096\n");
  ASSERT_TRUE(build.ok()) << build.error().message;
  const broker::NodeConfig& config = build->config;
  EXPECT_EQ(config.node_id, 7);
  EXPECT_EQ(config.data_dir, "/var/lib/fjord");
  EXPECT_EQ(config.listen_host, "0.0.0.0");
  EXPECT_EQ(config.listen_port, 19092);
  EXPECT_EQ(config.advertised_host, "broker.example");
  EXPECT_EQ(config.advertised_port, 29092);  // behind a proxy or NAT
  EXPECT_EQ(config.num_partitions, 6);
  EXPECT_FALSE(config.auto_create_topics);
  EXPECT_EQ(config.default_replication_factor, 3);
  EXPECT_EQ(config.max_request_bytes, 1048576);
  EXPECT_EQ(config.connections_max_idle_ms, 1000);
  EXPECT_EQ(config.log_retention_check_interval_ms, 5000);
  EXPECT_EQ(config.metadata_snapshot_after_bytes, 4096);
  EXPECT_TRUE(build->warnings.empty());
}

TEST(BuildNodeConfig, MapsTopicDefaultsToTopicLevelNames) {
  auto build = build_from(
      "log.retention.bytes=-1\n"
      "log.segment.bytes=1073741824\n"
      "log.roll.ms=3600000\n"
      "log.cleanup.policy=compact, delete\n"
      "log.flush.interval.messages=1000\n"
      "log.flush.interval.ms=50\n"
      "message.max.bytes=2000000\n"
      "log.cleaner.delete.retention.ms=86400000\n"
      "min.insync.replicas=2\n");
  ASSERT_TRUE(build.ok()) << build.error().message;
  const auto& defaults = build->config.topic_defaults;
  EXPECT_EQ(defaults.at("retention.bytes"), "-1");
  EXPECT_EQ(defaults.at("segment.bytes"), "1073741824");
  EXPECT_EQ(defaults.at("segment.ms"), "3600000");
  EXPECT_EQ(defaults.at("cleanup.policy"), "compact,delete");
  EXPECT_EQ(defaults.at("flush.messages"), "1000");
  EXPECT_EQ(defaults.at("flush.ms"), "50");
  EXPECT_EQ(defaults.at("max.message.bytes"), "2000000");
  EXPECT_EQ(defaults.at("delete.retention.ms"), "86400000");
  EXPECT_EQ(defaults.at("min.insync.replicas"), "2");
}

TEST(BuildNodeConfig, RetentionHoursConvertToMilliseconds) {
  auto build = build_from("log.retention.hours=168\n");
  ASSERT_TRUE(build.ok());
  EXPECT_EQ(build->config.topic_defaults.at("retention.ms"), "604800000");
}

TEST(BuildNodeConfig, RetentionMsWinsOverHoursWhateverTheOrder) {
  auto ms_first = build_from("log.retention.ms=1000\nlog.retention.hours=1\n");
  ASSERT_TRUE(ms_first.ok());
  EXPECT_EQ(ms_first->config.topic_defaults.at("retention.ms"), "1000");
  auto hours_first = build_from("log.retention.hours=1\nlog.retention.ms=1000\n");
  ASSERT_TRUE(hours_first.ok());
  EXPECT_EQ(hours_first->config.topic_defaults.at("retention.ms"), "1000");
}

TEST(BuildNodeConfig, InfiniteRetentionStaysMinusOne) {
  auto build = build_from("log.retention.hours=-1\n");
  ASSERT_TRUE(build.ok());
  EXPECT_EQ(build->config.topic_defaults.at("retention.ms"), "-1");
}

TEST(BuildNodeConfig, UnknownKeyIsAWarningNamingTheKey) {
  auto build = build_from("num.network.threads=3\n");
  ASSERT_TRUE(build.ok());
  ASSERT_EQ(build->warnings.size(), 1u);
  EXPECT_NE(build->warnings[0].find("num.network.threads"), std::string::npos);
  EXPECT_NE(build->warnings[0].find("server.properties:1"), std::string::npos);
}

TEST(BuildNodeConfig, InvalidValueNamesKeyValueAndExpectation) {
  auto build = build_from("\nnum.partitions=many\n");
  ASSERT_FALSE(build.ok());
  EXPECT_EQ(build.code(), ErrorCode::kInvalidConfig);
  const std::string& message = build.error().message;
  EXPECT_NE(message.find("num.partitions"), std::string::npos) << message;
  EXPECT_NE(message.find("'many'"), std::string::npos) << message;
  EXPECT_NE(message.find("server.properties:2"), std::string::npos) << message;
  EXPECT_NE(message.find("expected an integer from 1 to 2147483647"), std::string::npos) << message;
}

TEST(BuildNodeConfig, RejectsOutOfRangeAndMalformedValues) {
  EXPECT_FALSE(build_from("num.partitions=0").ok());
  EXPECT_FALSE(build_from("node.id=-1").ok());
  EXPECT_FALSE(build_from("node.id=99999999999").ok());
  EXPECT_FALSE(build_from("auto.create.topics.enable=yes").ok());
  EXPECT_FALSE(build_from("log.cleanup.policy=forever").ok());
  EXPECT_FALSE(build_from("log.segment.bytes=10").ok());
  EXPECT_FALSE(build_from("listeners=127.0.0.1:9092").ok());
  EXPECT_FALSE(build_from("listeners=SSL://127.0.0.1:9093").ok());
  EXPECT_FALSE(build_from("listeners=PLAINTEXT://a:1,PLAINTEXT://b:2").ok());
  EXPECT_FALSE(build_from("log.dirs=/a,/b").ok());
  EXPECT_FALSE(build_from("default.replication.factor=40000").ok());
}

TEST(BuildNodeConfig, EmptyListenerHostMeansEveryInterface) {
  auto build = build_from("listeners=PLAINTEXT://:9092");
  ASSERT_TRUE(build.ok());
  EXPECT_EQ(build->config.listen_host, "0.0.0.0");
  EXPECT_EQ(build->config.listen_port, 9092);
}

TEST(BuildNodeConfig, LaterSettingsOverrideEarlierOnes) {
  auto file = parse_properties("listeners=PLAINTEXT://127.0.0.1:9092\nnode.id=1\n", "f");
  ASSERT_TRUE(file.ok());
  auto overrides = parse_setting_argument("node.id=5", "--set");
  ASSERT_TRUE(overrides.ok());
  file->push_back(*overrides);
  file->push_back(ConfigSetting{"listeners", "PLAINTEXT://127.0.0.1:0", "--listen"});
  auto build = build_node_config(*file);
  ASSERT_TRUE(build.ok());
  EXPECT_EQ(build->config.node_id, 5);
  EXPECT_EQ(build->config.listen_port, 0);
}

TEST(BuildNodeConfig, KeepsBaseValuesForUnsetKeys) {
  broker::NodeConfig base;
  base.data_dir = "/base";
  auto build = build_node_config({}, base);
  ASSERT_TRUE(build.ok());
  EXPECT_EQ(build->config.data_dir, "/base");
  EXPECT_EQ(build->config.listen_port, 9092);
}

TEST(ParseSettingArgument, RequiresKeyEqualsValue) {
  EXPECT_FALSE(parse_setting_argument("novalue", "--set").ok());
  EXPECT_FALSE(parse_setting_argument("=x", "--set").ok());
  auto setting = parse_setting_argument("a.b = c=d", "--set");
  ASSERT_TRUE(setting.ok());
  EXPECT_EQ(setting->key, "a.b");
  EXPECT_EQ(setting->value, "c=d");
}

}  // namespace
}  // namespace fjord::cli
