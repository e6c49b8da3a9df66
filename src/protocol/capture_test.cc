// Frames captured from real clients (see testdata/capture.py) decode to the
// values those clients meant.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "protocol/frame.h"
#include "protocol/generated/api_versions_request.h"
#include "protocol/generated/api_visit.h"
#include "protocol/generated/metadata_request.h"

namespace fjord::protocol {
namespace {

std::vector<uint8_t> read_fixture(const std::string& name) {
  std::ifstream in(std::string(FJORD_PROTOCOL_TESTDATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

template <typename Message>
Message decode_frame(const std::vector<uint8_t>& frame, const RequestHeaderView& header) {
  Reader r(std::span<const uint8_t>(frame).subspan(header.body_offset));
  Message message;
  message.decode(r, header.api_version);
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.remaining(), 0u);
  return message;
}

TEST(Capture, KcatListStartsWithApiVersionsV3) {
  const auto frame = read_fixture("kcat_metadata-0.bin");
  auto header = parse_request_header(frame);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->api_key, 18);
  EXPECT_EQ(header->api_version, 3);
  EXPECT_EQ(header->header_version, 2);
  EXPECT_EQ(header->correlation_id, 1);
  EXPECT_EQ(header->client_id, "rdkafka");
  const auto body = decode_frame<ApiVersionsRequest>(frame, *header);
  EXPECT_EQ(body.client_software_name, "librdkafka");
  EXPECT_EQ(body.client_software_version, "2.0.2");
}

TEST(Capture, KafkaPythonBootstrapsWithApiVersionsV0ThenMetadataV0) {
  const auto first = read_fixture("kafka_python_bootstrap-0.bin");
  auto api_versions = parse_request_header(first);
  ASSERT_TRUE(api_versions.ok());
  EXPECT_EQ(api_versions->api_key, 18);
  EXPECT_EQ(api_versions->api_version, 0);
  EXPECT_EQ(api_versions->header_version, 1);
  EXPECT_EQ(api_versions->client_id, "kafka-python-2.0.2");
  const auto api_body = decode_frame<ApiVersionsRequest>(first, *api_versions);
  EXPECT_EQ(api_body.client_software_name, "");

  const auto second = read_fixture("kafka_python_bootstrap-1.bin");
  auto metadata = parse_request_header(second);
  ASSERT_TRUE(metadata.ok());
  EXPECT_EQ(metadata->api_key, 3);
  EXPECT_EQ(metadata->api_version, 0);
  EXPECT_EQ(metadata->correlation_id, 2);
  const auto metadata_body = decode_frame<MetadataRequest>(second, *metadata);
  ASSERT_TRUE(metadata_body.topics.has_value());
  EXPECT_TRUE(metadata_body.topics->empty());  // v0: empty list = all topics
}

// The fuzz seeds are meant to be valid frames, so the fuzzer starts deep.
TEST(Capture, FuzzSeedsDecodeCompletely) {
  size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FJORD_FUZZ_SEEDS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<uint8_t> frame(std::istreambuf_iterator<char>(in), {});
    SCOPED_TRACE(entry.path().filename().string());
    auto header = parse_request_header(frame);
    ASSERT_TRUE(header.ok());
    ASSERT_TRUE(header->known);
    const bool visited = visit_request(
        header->api_key, [&](auto message) { decode_frame<decltype(message)>(frame, *header); });
    EXPECT_TRUE(visited);
    ++seeds;
  }
  EXPECT_GE(seeds, 4u);
}

}  // namespace
}  // namespace fjord::protocol
