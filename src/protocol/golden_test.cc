// Generated codecs against bytes built by hand from the protocol spec.
#include <gtest/gtest.h>

#include <vector>

#include "protocol/frame.h"
#include "protocol/generated/api_versions_request.h"
#include "protocol/generated/api_versions_response.h"
#include "protocol/generated/fetch_request.h"
#include "protocol/generated/fetch_response.h"
#include "protocol/generated/metadata_request.h"
#include "protocol/generated/produce_request.h"
#include "protocol/generated/request_header.h"
#include "protocol/wire.h"

namespace fjord::protocol {
namespace {

using Bytes = std::vector<uint8_t>;

void append(Bytes& out, std::initializer_list<uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void append_text(Bytes& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

template <typename Message>
Bytes encode(const Message& message, int16_t version) {
  OutboundMessage out;
  Writer w(out);
  message.encode(w, version);
  EXPECT_TRUE(w.ok());
  return out.bytes;
}

template <typename Message>
Message decode_body(const Bytes& frame, int16_t expected_key, int16_t expected_version) {
  auto header = parse_request_header(frame);
  EXPECT_TRUE(header.ok());
  EXPECT_EQ(header->api_key, expected_key);
  EXPECT_EQ(header->api_version, expected_version);
  Reader r(std::span<const uint8_t>(frame).subspan(header->body_offset));
  Message message;
  message.decode(r, header->api_version);
  EXPECT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.remaining(), 0u);
  return message;
}

// ApiVersions v3 as librdkafka 2.0.2 sends it: request header v2 (client id
// with an int16 length, then an empty tagged section), compact strings, tags.
Bytes api_versions_v3_frame() {
  Bytes frame;
  append(frame, {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01});  // key 18, v3, corr 1
  append(frame, {0x00, 0x07});
  append_text(frame, "rdkafka");
  append(frame, {0x00});  // header tagged fields
  append(frame, {0x0b});  // compact string, 10 bytes
  append_text(frame, "librdkafka");
  append(frame, {0x06});
  append_text(frame, "2.0.2");
  append(frame, {0x00});  // body tagged fields
  return frame;
}

TEST(Golden, ApiVersionsV3RequestFromLibrdkafka) {
  const Bytes frame = api_versions_v3_frame();
  auto header = parse_request_header(frame);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->header_version, 2);
  EXPECT_EQ(header->correlation_id, 1);
  EXPECT_EQ(header->client_id, "rdkafka");
  EXPECT_EQ(header->body_offset, 18u);

  const auto body = decode_body<ApiVersionsRequest>(frame, 18, 3);
  EXPECT_EQ(body.client_software_name, "librdkafka");
  EXPECT_EQ(body.client_software_version, "2.0.2");

  // Re-encode header and body with the generated code: identical bytes.
  RequestHeader request_header;
  request_header.request_api_key = 18;
  request_header.request_api_version = 3;
  request_header.correlation_id = 1;
  request_header.client_id = "rdkafka";
  Bytes rebuilt = encode(request_header, 2);
  const Bytes body_bytes = encode(body, 3);
  rebuilt.insert(rebuilt.end(), body_bytes.begin(), body_bytes.end());
  EXPECT_EQ(rebuilt, frame);
}

TEST(Golden, MetadataV0RequestWithOneTopic) {
  Bytes frame;
  append(frame, {0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a});  // key 3, v0, corr 42
  append(frame, {0xff, 0xff});                                      // null client id
  append(frame, {0x00, 0x00, 0x00, 0x01, 0x00, 0x03});              // 1 topic, "foo"
  append_text(frame, "foo");
  auto header = parse_request_header(frame);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->client_id, std::nullopt);
  EXPECT_EQ(header->correlation_id, 42);

  const auto body = decode_body<MetadataRequest>(frame, 3, 0);
  ASSERT_TRUE(body.topics.has_value());
  ASSERT_EQ(body.topics->size(), 1u);
  EXPECT_EQ((*body.topics)[0].name, "foo");
  // Fields that v0 does not carry keep their defaults.
  EXPECT_TRUE(body.allow_auto_topic_creation);
  EXPECT_EQ(encode(body, 0), Bytes(frame.begin() + header->body_offset, frame.end()));
}

TEST(Golden, MetadataV1NullTopicsMeansAllTopics) {
  const Bytes body = {0xff, 0xff, 0xff, 0xff};
  Reader r(body);
  MetadataRequest request;
  request.decode(r, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(request.topics.has_value());
  // v0 cannot carry null: it is written as an empty list (v0's "all topics").
  EXPECT_EQ(encode(request, 0), (Bytes{0, 0, 0, 0}));
}

// A 70-byte stand-in for a record batch: the codec treats records as opaque.
Bytes fake_batch() {
  Bytes batch(70);
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<uint8_t>(i);
  return batch;
}

TEST(Golden, ProduceV7RequestWithOneBatch) {
  const Bytes batch = fake_batch();
  Bytes frame;
  append(frame, {0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x05});  // key 0, v7, corr 5
  append(frame, {0x00, 0x01, 'p'});                                 // client id "p"
  append(frame, {0xff, 0xff});                                      // transactional id null
  append(frame, {0xff, 0xff});                                      // acks -1
  append(frame, {0x00, 0x00, 0x75, 0x30});                          // timeout 30000 ms
  append(frame, {0x00, 0x00, 0x00, 0x01, 0x00, 0x05});              // 1 topic, "topic"
  append_text(frame, "topic");
  append(frame, {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03});  // 1 partition, index 3
  append(frame, {0x00, 0x00, 0x00, 0x46});                          // 70 bytes of records
  frame.insert(frame.end(), batch.begin(), batch.end());

  const auto body = decode_body<ProduceRequest>(frame, 0, 7);
  EXPECT_EQ(body.transactional_id, std::nullopt);
  EXPECT_EQ(body.acks, -1);
  EXPECT_EQ(body.timeout_ms, 30000);
  ASSERT_EQ(body.topic_data.size(), 1u);
  EXPECT_EQ(body.topic_data[0].name, "topic");
  ASSERT_EQ(body.topic_data[0].partition_data.size(), 1u);
  const auto& partition = body.topic_data[0].partition_data[0];
  EXPECT_EQ(partition.index, 3);
  EXPECT_FALSE(partition.records.is_null);
  // Zero copy: the records view points at the batch inside the frame.
  EXPECT_EQ(partition.records.bytes.data(), frame.data() + frame.size() - batch.size());
  EXPECT_EQ(Bytes(partition.records.bytes.begin(), partition.records.bytes.end()), batch);
  EXPECT_EQ(encode(body, 7), Bytes(frame.begin() + 11, frame.end()));
}

TEST(Golden, FetchV4ResponseSplicesFileRanges) {
  FetchResponse response;
  response.throttle_time_ms = 0;
  auto& topic = response.responses.emplace_back();
  topic.topic = "t";
  auto& partition = topic.partitions.emplace_back();
  partition.partition_index = 0;
  partition.high_watermark = 10;
  partition.last_stable_offset = 10;
  partition.records.is_null = false;
  partition.records.file_ranges = {FileRange{9, 4096, 100, nullptr},
                                   FileRange{9, 8192, 28, nullptr}};

  OutboundMessage out;
  Writer w(out);
  write_response_header(w, 1, 4, 77);
  response.encode(w, 4);
  ASSERT_TRUE(w.ok());

  Bytes expected;
  append(expected, {0x00, 0x00, 0x00, 0x4d});                          // correlation id 77
  append(expected, {0x00, 0x00, 0x00, 0x00});                          // throttle
  append(expected, {0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't'});         // 1 topic "t"
  append(expected, {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00});  // 1 partition, 0
  append(expected, {0x00, 0x00});                                      // error
  append(expected, {0, 0, 0, 0, 0, 0, 0, 10});                         // high watermark
  append(expected, {0, 0, 0, 0, 0, 0, 0, 10});                         // last stable offset
  append(expected, {0x00, 0x00, 0x00, 0x00});                          // no aborted txns
  append(expected, {0x00, 0x00, 0x00, 0x80});                          // 128 bytes of records
  EXPECT_EQ(out.bytes, expected);
  ASSERT_EQ(out.splices.size(), 2u);
  EXPECT_EQ(out.splices[0].at, expected.size());
  EXPECT_EQ(out.splices[0].range.offset, 4096u);
  EXPECT_EQ(out.splices[1].at, expected.size());
  EXPECT_EQ(out.splices[1].range.offset, 8192u);
  EXPECT_EQ(out.size(), expected.size() + 128);
}

TEST(Golden, UnknownTaggedFieldsAreSkippedAndKept) {
  Bytes body;
  append(body, {0x04, 'a', 'b', 'c', 0x02, '1'});
  append(body, {0x02});                    // two tagged fields
  append(body, {0x05, 0x02, 0xde, 0xad});  // tag 5, 2 bytes
  append(body, {0x09, 0x00});              // tag 9, empty
  Reader r(body);
  ApiVersionsRequest request;
  request.decode(r, 3);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(request.client_software_name, "abc");
  EXPECT_EQ(request.client_software_version, "1");
  ASSERT_EQ(request.unknown_tagged_fields.size(), 2u);
  EXPECT_EQ(request.unknown_tagged_fields[0].tag, 5u);
  EXPECT_EQ(request.unknown_tagged_fields[0].data, (Bytes{0xde, 0xad}));
  EXPECT_EQ(encode(request, 3), body);
}

TEST(Golden, KnownTaggedFieldDecodesAndDefaultIsOmitted) {
  FetchRequest request;
  request.cluster_id = "cluster";
  const Bytes with_tag = encode(request, 12);
  Reader r(with_tag);
  FetchRequest decoded;
  decoded.decode(r, 12);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(decoded.cluster_id, "cluster");
  EXPECT_TRUE(decoded.unknown_tagged_fields.empty());
  // With the default (null) cluster id the body ends in an empty tag section.
  const Bytes without_tag = encode(FetchRequest{}, 12);
  ASSERT_FALSE(without_tag.empty());
  EXPECT_EQ(without_tag.back(), 0x00);
  EXPECT_EQ(with_tag.size(), without_tag.size() + 1 + 1 + 8);  // tag, size, compact "cluster"
}

TEST(Golden, ApiVersionsV3ResponseTaggedFeaturesAfterBody) {
  ApiVersionsResponse response;
  response.api_keys.push_back({18, 0, 4, {}});
  response.finalized_features_epoch = 3;
  Bytes expected;
  append(expected, {0x00, 0x00});                                      // error
  append(expected, {0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00});  // 1 key + its tags
  append(expected, {0x00, 0x00, 0x00, 0x00});                          // throttle
  append(expected, {0x01, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 3});        // tag 1: epoch 3
  EXPECT_EQ(encode(response, 3), expected);
}

TEST(Golden, ResponseHeaderVersions) {
  OutboundMessage out;
  Writer w(out);
  write_response_header(w, 18, 3, 1);  // ApiVersions: always v0
  EXPECT_EQ(out.bytes, (Bytes{0, 0, 0, 1}));
  out.bytes.clear();
  write_response_header(w, 3, 9, 2);  // Metadata v9 is flexible: header v1
  EXPECT_EQ(out.bytes, (Bytes{0, 0, 0, 2, 0}));
  out.bytes.clear();
  write_response_header(w, 3, 8, 2);
  EXPECT_EQ(out.bytes, (Bytes{0, 0, 0, 2}));
}

}  // namespace
}  // namespace fjord::protocol
