#include "protocol/frame.h"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/generated/api_messages.h"

namespace fjord::protocol {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(ApiTable, CoversEveryKeyOnceWithSchemaRanges) {
  EXPECT_EQ(kApis.size(), 88u);
  for (size_t i = 0; i < kApis.size(); ++i) EXPECT_EQ(kApis[i].api_key, static_cast<int16_t>(i));
  const ApiInfo* produce = find_api(0);
  ASSERT_NE(produce, nullptr);
  EXPECT_EQ(produce->name, "Produce");
  EXPECT_EQ(produce->min_version, 0);
  EXPECT_EQ(produce->max_version, 11);
  EXPECT_EQ(produce->first_flexible_version, 9);
  EXPECT_EQ(find_api(17)->first_flexible_version, -1);  // SaslHandshake: never flexible
  EXPECT_TRUE(find_api(26)->latest_version_unstable);   // EndTxn v5
  EXPECT_FALSE(find_api(18)->latest_version_unstable);
  EXPECT_EQ(find_api(1000), nullptr);
}

TEST(ApiTable, HeaderVersionRules) {
  static_assert(request_header_version(18, 3) == 2);
  static_assert(request_header_version(18, 2) == 1);
  static_assert(response_header_version(18, 3) == 0);  // ApiVersions: always v0
  static_assert(response_header_version(3, 9) == 1);
  static_assert(response_header_version(3, 8) == 0);
  static_assert(request_header_version(7, 0) == 0);  // ControlledShutdown v0
  static_assert(request_header_version(7, 1) == 1);
  static_assert(request_header_version(17, 1) == 1);  // never flexible
  EXPECT_EQ(request_header_version(-5, 0), -1);
  EXPECT_EQ(response_header_version(999, 0), -1);
}

TEST(ParseRequestHeader, FlexibleHeaderSkipsTaggedFields) {
  // Metadata v9 (flexible), corr 7, client id "c", two tagged header fields.
  const Bytes frame = {0, 3, 0, 9, 0, 0, 0, 7, 0, 1, 'c', 2, 1, 1, 0xaa, 4, 0, 0xee};
  auto header = parse_request_header(frame);
  ASSERT_TRUE(header.ok());
  EXPECT_TRUE(header->known);
  EXPECT_EQ(header->header_version, 2);
  EXPECT_EQ(header->client_id, "c");
  EXPECT_EQ(header->body_offset, frame.size() - 1);
}

TEST(ParseRequestHeader, ControlledShutdownV0HasNoClientId) {
  const Bytes frame = {0, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5};
  auto header = parse_request_header(frame);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->header_version, 0);
  EXPECT_EQ(header->client_id, std::nullopt);
  EXPECT_EQ(header->body_offset, 8u);
}

TEST(ParseRequestHeader, UnsupportedVersionStillYieldsKeyVersionAndCorrelationId) {
  // ApiVersions v99: flexible by the rule, but garbage after the fixed part.
  const Bytes frame = {0, 18, 0, 99, 0, 0, 1, 0, 0x7f};
  auto header = parse_request_header(frame);
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(header->known);
  EXPECT_EQ(header->api_key, 18);
  EXPECT_EQ(header->api_version, 99);
  EXPECT_EQ(header->correlation_id, 256);
  EXPECT_EQ(header->body_offset, 8u);
}

TEST(ParseRequestHeader, UnknownKeyIsParsedAsHeaderV1) {
  const Bytes frame = {0x10, 0x00, 0, 0, 0, 0, 0, 9, 0, 2, 'x', 'y', 0xab};
  auto header = parse_request_header(frame);
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(header->known);
  EXPECT_EQ(header->api_key, 0x1000);
  EXPECT_EQ(header->correlation_id, 9);
  EXPECT_EQ(header->client_id, "xy");
  EXPECT_EQ(header->body_offset, 12u);
}

TEST(ParseRequestHeader, TruncatedFixedPartFails) {
  const Bytes frame = {0, 18, 0, 3, 0, 0};
  auto header = parse_request_header(frame);
  EXPECT_FALSE(header.ok());
}

TEST(ParseRequestHeader, KnownVersionWithBrokenClientIdFails) {
  const Bytes frame = {0, 18, 0, 3, 0, 0, 0, 1, 0, 9, 'a'};
  auto header = parse_request_header(frame);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.code(), ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace fjord::protocol
