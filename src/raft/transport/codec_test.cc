#include "raft/transport/codec.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/endian.h"

namespace fjord::raft::transport {
namespace {

std::shared_ptr<const Bytes> bytes(std::initializer_list<uint8_t> values) {
  return std::make_shared<const Bytes>(values);
}

// message.h's structs have members without default initializers, so designated
// initializers would trip -Wmissing-field-initializers: build them field by field.
Message make_message(MessageType type, GroupId group, Term term) {
  Message message;
  message.type = type;
  message.group = group;
  message.from = 1;
  message.to = 2;
  message.term = term;
  return message;
}

Entry make_entry(Offset offset, int32_t count, Term term, EntryType type = EntryType::kData) {
  Entry entry;
  entry.offset = offset;
  entry.count = count;
  entry.term = term;
  entry.type = type;
  return entry;
}

// The frame without its size prefix, after checking the prefix.
std::vector<uint8_t> body_of(const OutboundMessage& out) {
  EXPECT_GE(out.bytes.size(), kFrameSizeBytes);
  EXPECT_TRUE(out.splices.empty());
  const auto size = load_be<int32_t>(out.bytes.data());
  EXPECT_EQ(static_cast<size_t>(size), out.bytes.size() - kFrameSizeBytes);
  return std::vector<uint8_t>(out.bytes.begin() + kFrameSizeBytes, out.bytes.end());
}

void expect_same_entry(const Entry& a, const Entry& b) {
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.term, b.term);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.config, b.config);
  ASSERT_EQ(a.data == nullptr, b.data == nullptr);
  if (a.data) {
    EXPECT_EQ(*a.data, *b.data);
  }
}

void expect_same_message(const Message& a, const Message& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.term, b.term);
  EXPECT_EQ(a.prev_end_offset, b.prev_end_offset);
  EXPECT_EQ(a.prev_term, b.prev_term);
  EXPECT_EQ(a.high_watermark, b.high_watermark);
  EXPECT_EQ(a.read_context, b.read_context);
  EXPECT_EQ(a.success, b.success);
  EXPECT_EQ(a.match_end_offset, b.match_end_offset);
  EXPECT_EQ(a.conflict_term, b.conflict_term);
  EXPECT_EQ(a.conflict_start_offset, b.conflict_start_offset);
  EXPECT_EQ(a.leadership_transfer, b.leadership_transfer);
  EXPECT_EQ(a.snapshot.end_offset, b.snapshot.end_offset);
  EXPECT_EQ(a.snapshot.last_term, b.snapshot.last_term);
  EXPECT_EQ(a.snapshot.config, b.snapshot.config);
  ASSERT_EQ(a.snapshot_data == nullptr, b.snapshot_data == nullptr);
  if (a.snapshot_data) {
    EXPECT_EQ(*a.snapshot_data, *b.snapshot_data);
  }
  ASSERT_EQ(a.entries.size(), b.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i) expect_same_entry(a.entries[i], b.entries[i]);
}

std::vector<Message> every_kind_of_message() {
  std::vector<Message> messages;
  Message append = make_message(MessageType::kAppend, 7, 3);
  append.prev_end_offset = 10;
  append.prev_term = 2;
  append.high_watermark = 9;
  append.read_context = ~uint64_t{0} - 5;  // above INT64_MAX: travels as its bits
  append.entries.push_back(make_entry(10, 1, 3, EntryType::kLeaderChange));
  append.entries.push_back(make_entry(11, 1, 3, EntryType::kConfig));
  append.entries.back().config = Config{.voters = {1, 2, 3}, .learners = {4}};
  append.entries.push_back(make_entry(12, 5, 3));
  append.entries.back().data = bytes({1, 2, 3});
  append.entries.push_back(make_entry(17, 1, 3));
  append.entries.back().data = bytes({});
  messages.push_back(append);

  Message response = make_message(MessageType::kAppendResponse, -4, 3);
  response.match_end_offset = 4;
  response.conflict_term = 2;
  response.conflict_start_offset = 3;
  messages.push_back(response);

  Message vote = make_message(MessageType::kPreVote, 1, 8);
  vote.prev_end_offset = 100;
  vote.prev_term = 7;
  vote.leadership_transfer = true;
  messages.push_back(vote);
  Message granted = make_message(MessageType::kVoteResponse, 1, 8);
  granted.success = true;
  messages.push_back(granted);

  Message snapshot = make_message(MessageType::kSnapshot, 2, 5);
  snapshot.snapshot = SnapshotMeta{
      .end_offset = 50, .last_term = 4, .config = Config{.voters = {1, 2}, .learners = {}}};
  snapshot.snapshot_data = bytes({9, 8, 7, 6});
  messages.push_back(snapshot);
  messages.push_back(make_message(MessageType::kTimeoutNow, 2, 5));
  return messages;
}

TEST(RaftCodec, HandshakeRoundTrip) {
  OutboundMessage out;
  const Handshake handshake{.cluster_id = "fjord-cluster", .from = 3, .to = 1};
  encode_handshake(handshake, out);
  const auto frame = body_of(out);
  ASSERT_EQ(frame_type(frame).value(), FrameType::kHandshake);
  auto decoded = decode_handshake(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, handshake);
}

TEST(RaftCodec, BatchOfEveryMessageTypeRoundTrips) {
  const auto messages = every_kind_of_message();
  OutboundMessage out;
  encode_batch(messages, out);
  const auto frame = body_of(out);
  ASSERT_EQ(frame_type(frame).value(), FrameType::kBatch);
  auto decoded = decode_batch(frame, 1, 2);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE(i);
    expect_same_message((*decoded)[i], messages[i]);
  }
}

TEST(RaftCodec, DecodedMessagesComeFromTheConnectionsNodes) {
  std::vector<Message> messages{make_message(MessageType::kAppend, 0, 0)};
  messages[0].from = 5;
  messages[0].to = 6;
  OutboundMessage out;
  encode_batch(messages, out);
  auto decoded = decode_batch(body_of(out), 1, 2);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ((*decoded)[0].from, 1);  // not 5: the handshake names the sender
  EXPECT_EQ((*decoded)[0].to, 2);
}

TEST(RaftCodec, AHeartbeatIsSmall) {
  // 10,000 groups' heartbeats share one frame per peer: each must stay small.
  std::vector<Message> messages{make_message(MessageType::kAppend, 123456, 3)};
  messages[0].prev_end_offset = 1000;
  messages[0].prev_term = 3;
  messages[0].high_watermark = 1000;
  OutboundMessage out;
  encode_batch(messages, out);
  OutboundMessage empty;
  encode_batch({}, empty);
  EXPECT_LE(out.bytes.size() - empty.bytes.size(), 60u);
}

TEST(RaftCodec, EveryTruncationIsAnError) {
  OutboundMessage out;
  encode_batch(every_kind_of_message(), out);
  const auto frame = body_of(out);
  for (size_t size = 0; size < frame.size(); ++size) {
    auto decoded = decode_batch(std::span(frame).first(size), 1, 2);
    EXPECT_FALSE(decoded.ok()) << size;
  }
}

TEST(RaftCodec, TrailingBytesAreAnError) {
  OutboundMessage out;
  encode_batch(every_kind_of_message(), out);
  auto frame = body_of(out);
  frame.push_back(0);
  EXPECT_FALSE(decode_batch(frame, 1, 2).ok());
}

// Encodes one message, lets `corrupt` change it on the wire, and decodes.
template <typename Corrupt>
Result<std::vector<Message>> decode_corrupted(Message message, Corrupt corrupt) {
  corrupt(message);
  std::vector<Message> messages{message};
  OutboundMessage out;
  encode_batch(messages, out);
  return decode_batch(body_of(out), 1, 2);
}

TEST(RaftCodec, OutOfRangeValuesAreErrors) {
  const Message base = every_kind_of_message()[0];
  EXPECT_TRUE(decode_corrupted(base, [](Message&) {}).ok());
  EXPECT_FALSE(
      decode_corrupted(base, [](Message& m) { m.type = static_cast<MessageType>(9); }).ok());
  EXPECT_FALSE(decode_corrupted(base, [](Message& m) { m.term = -1; }).ok());
  EXPECT_FALSE(decode_corrupted(base, [](Message& m) { m.entries[0].count = 0; }).ok());
  EXPECT_FALSE(decode_corrupted(base, [](Message& m) {
                 m.entries[0].type = static_cast<EntryType>(3);
               }).ok());
  EXPECT_FALSE(decode_corrupted(base, [](Message& m) {
                 m.entries[1].config.voters = {2, 1};
               }).ok());
  EXPECT_FALSE(
      decode_corrupted(base, [](Message& m) { m.entries[2].offset = INT64_MAX - 1; }).ok());
}

TEST(RaftCodec, UnknownFrameTypeOrVersionIsAnError) {
  OutboundMessage out;
  encode_handshake(Handshake{.cluster_id = "c", .from = 1, .to = 2}, out);
  auto frame = body_of(out);
  frame[1] = 7;  // frame type 7
  EXPECT_FALSE(frame_type(frame).ok());
  frame[1] = 0;
  frame[3] = 1;  // version 1
  EXPECT_FALSE(decode_handshake(frame).ok());
  EXPECT_FALSE(decode_batch(body_of(out), 1, 2).ok());  // a handshake is not a batch
}

}  // namespace
}  // namespace fjord::raft::transport
