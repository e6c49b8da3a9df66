#include "raft/transport/codec.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>

#include "protocol/generated/raft_transport/raft_handshake.h"
#include "protocol/generated/raft_transport/raft_message_batch.h"
#include "protocol/wire.h"

namespace fjord::raft::transport {
namespace {

namespace wire = protocol::raft_transport;
using WireMessage = wire::RaftMessageBatch::RaftMessage;
using WireEntry = wire::RaftMessageBatch::RaftEntry;
using WireSnapshot = wire::RaftMessageBatch::RaftSnapshot;

constexpr int16_t kVersion = 0;
constexpr int8_t kMaxMessageType = static_cast<int8_t>(MessageType::kTimeoutNow);
constexpr int8_t kMaxEntryType = static_cast<int8_t>(EntryType::kConfig);

Error invalid(std::string message) {
  return Error{ErrorCode::kInvalidRequest, "raft transport: " + std::move(message)};
}

// Writes the size prefix and frame header, then `body`, then patches the size.
template <typename Body>
void encode_frame(FrameType type, const Body& body, OutboundMessage& out) {
  protocol::Writer w(out);
  const size_t size_at = out.bytes.size();
  w.write_int32(0);
  w.write_int16(static_cast<int16_t>(type));
  w.write_int16(kVersion);
  body.encode(w, kVersion);
  const size_t size = out.bytes.size() - size_at - kFrameSizeBytes;
  w.patch_int32(size_at, static_cast<int32_t>(size));
}

protocol::Records records_of(const std::shared_ptr<const Bytes>& data) {
  if (!data) return protocol::Records{};
  return protocol::Records::from_bytes(*data);
}

std::shared_ptr<const Bytes> bytes_of(const protocol::Records& records) {
  if (records.is_null) return nullptr;
  return std::make_shared<const Bytes>(records.bytes.begin(), records.bytes.end());
}

WireEntry to_wire(const Entry& entry) {
  WireEntry out;
  out.offset = entry.offset;
  out.count = entry.count;
  out.term = entry.term;
  out.type = static_cast<int8_t>(entry.type);
  out.voters = entry.config.voters;
  out.learners = entry.config.learners;
  out.data = records_of(entry.data);
  return out;
}

WireMessage to_wire(const Message& message) {
  WireMessage out;
  out.type = static_cast<int8_t>(message.type);
  out.group_id = message.group;
  out.term = message.term;
  out.prev_end_offset = message.prev_end_offset;
  out.prev_term = message.prev_term;
  out.high_watermark = message.high_watermark;
  out.success = message.success;
  out.match_end_offset = message.match_end_offset;
  out.entries.reserve(message.entries.size());
  for (const Entry& entry : message.entries) out.entries.push_back(to_wire(entry));
  out.read_context = static_cast<int64_t>(message.read_context);
  out.conflict_term = message.conflict_term;
  out.conflict_start_offset = message.conflict_start_offset;
  out.leadership_transfer = message.leadership_transfer;
  if (message.type == MessageType::kSnapshot) {
    out.snapshot = WireSnapshot{};
    out.snapshot->end_offset = message.snapshot.end_offset;
    out.snapshot->last_term = message.snapshot.last_term;
    out.snapshot->voters = message.snapshot.config.voters;
    out.snapshot->learners = message.snapshot.config.learners;
    out.snapshot_data = records_of(message.snapshot_data);
    out.snapshot_chunk_offset = message.snapshot_chunk_offset;
    out.snapshot_total_bytes = message.snapshot_total_bytes;
  }
  return out;
}

// Sorted without duplicates, as raft::Config requires.
bool valid_node_list(const std::vector<int32_t>& nodes) {
  for (size_t i = 1; i < nodes.size(); ++i) {
    if (nodes[i - 1] >= nodes[i]) return false;
  }
  return true;
}

Result<Config> config_of(std::vector<int32_t> voters, std::vector<int32_t> learners) {
  if (!valid_node_list(voters) || !valid_node_list(learners)) {
    return invalid("a configuration's node lists must be sorted without duplicates");
  }
  return Config{.voters = std::move(voters), .learners = std::move(learners)};
}

Result<Entry> from_wire(WireEntry& in) {
  if (in.type < 0 || in.type > kMaxEntryType) return invalid("unknown entry type");
  if (in.offset < 0 || in.count < 1 || in.term < 0 ||
      in.offset > std::numeric_limits<Offset>::max() - in.count) {
    return invalid("entry offset, count or term out of range");
  }
  Entry entry;
  entry.offset = in.offset;
  entry.count = in.count;
  entry.term = in.term;
  entry.type = static_cast<EntryType>(in.type);
  auto config = config_of(std::move(in.voters), std::move(in.learners));
  if (!config.ok()) return config.error();
  entry.config = std::move(config).value();
  entry.data = bytes_of(in.data);
  return entry;
}

Result<Message> from_wire(WireMessage& in, NodeId from, NodeId to) {
  if (in.type < 0 || in.type > kMaxMessageType) return invalid("unknown message type");
  if (in.term < 0 || in.prev_end_offset < 0 || in.prev_term < 0 || in.high_watermark < 0 ||
      in.match_end_offset < 0 || in.conflict_term < 0 || in.conflict_start_offset < 0) {
    return invalid("negative term or offset");
  }
  Message message;
  message.type = static_cast<MessageType>(in.type);
  message.group = in.group_id;
  message.from = from;
  message.to = to;
  message.term = in.term;
  message.prev_end_offset = in.prev_end_offset;
  message.prev_term = in.prev_term;
  message.high_watermark = in.high_watermark;
  message.success = in.success;
  message.match_end_offset = in.match_end_offset;
  message.read_context = static_cast<uint64_t>(in.read_context);
  message.conflict_term = in.conflict_term;
  message.conflict_start_offset = in.conflict_start_offset;
  message.leadership_transfer = in.leadership_transfer;
  message.entries.reserve(in.entries.size());
  for (WireEntry& wire_entry : in.entries) {
    auto entry = from_wire(wire_entry);
    if (!entry.ok()) return entry.error();
    message.entries.push_back(std::move(entry).value());
  }
  if (message.type == MessageType::kSnapshot) {
    if (!in.snapshot) return invalid("a snapshot message without its snapshot");
    if (in.snapshot->end_offset < 0 || in.snapshot->last_term < 0) {
      return invalid("negative snapshot offset or term");
    }
    auto config = config_of(std::move(in.snapshot->voters), std::move(in.snapshot->learners));
    if (!config.ok()) return config.error();
    message.snapshot = SnapshotMeta{.end_offset = in.snapshot->end_offset,
                                    .last_term = in.snapshot->last_term,
                                    .config = std::move(config).value()};
    message.snapshot_data = bytes_of(in.snapshot_data);
    const int64_t data_bytes =
        message.snapshot_data ? static_cast<int64_t>(message.snapshot_data->size()) : 0;
    if (in.snapshot_total_bytes < -1 || in.snapshot_chunk_offset < 0 ||
        (in.snapshot_total_bytes == -1 && in.snapshot_chunk_offset != 0) ||
        (in.snapshot_total_bytes >= 0 &&
         in.snapshot_chunk_offset > in.snapshot_total_bytes - data_bytes)) {
      return invalid("a snapshot chunk outside its snapshot");
    }
    message.snapshot_chunk_offset = in.snapshot_chunk_offset;
    message.snapshot_total_bytes = in.snapshot_total_bytes;
  }
  return message;
}

// Checks the frame header and returns a Reader positioned at the body.
Result<protocol::Reader> body_reader(std::span<const uint8_t> frame, FrameType expected) {
  auto type = frame_type(frame);
  if (!type.ok()) return type.error();
  if (*type != expected) return invalid("unexpected frame type");
  protocol::Reader reader(frame);
  reader.read_int16();
  if (reader.read_int16() != kVersion) return invalid("unsupported frame version");
  return reader;
}

template <typename Body>
Status decode_body(protocol::Reader& reader, Body& body) {
  body.decode(reader, kVersion);
  if (!reader.ok()) return invalid(reader.error());
  if (reader.remaining() != 0) return invalid("trailing bytes after the frame body");
  return {};
}

}  // namespace

void encode_handshake(const Handshake& handshake, OutboundMessage& out) {
  wire::RaftHandshake body;
  body.cluster_id = handshake.cluster_id;
  body.node_id = handshake.from;
  body.to_node_id = handshake.to;
  encode_frame(FrameType::kHandshake, body, out);
}

void encode_batch(std::span<const Message> messages, OutboundMessage& out) {
  wire::RaftMessageBatch body;
  body.messages.reserve(messages.size());
  for (const Message& message : messages) body.messages.push_back(to_wire(message));
  encode_frame(FrameType::kBatch, body, out);
}

size_t estimated_encoded_bytes(const Message& message) {
  constexpr size_t kFixedBytes = 96;
  constexpr size_t kEntryBytes = 40;
  size_t total = kFixedBytes;
  for (const Entry& entry : message.entries) {
    total += kEntryBytes + (entry.data ? entry.data->size() : 0) +
             4 * (entry.config.voters.size() + entry.config.learners.size());
  }
  if (message.snapshot_data) total += message.snapshot_data->size();
  return total;
}

Result<FrameType> frame_type(std::span<const uint8_t> frame) {
  protocol::Reader reader(frame);
  const int16_t type = reader.read_int16();
  if (!reader.ok()) return invalid("frame shorter than its header");
  if (type != static_cast<int16_t>(FrameType::kHandshake) &&
      type != static_cast<int16_t>(FrameType::kBatch)) {
    return invalid("unknown frame type");
  }
  return static_cast<FrameType>(type);
}

Result<Handshake> decode_handshake(std::span<const uint8_t> frame) {
  auto reader = body_reader(frame, FrameType::kHandshake);
  if (!reader.ok()) return reader.error();
  wire::RaftHandshake body;
  auto status = decode_body(*reader, body);
  if (!status.ok()) return status.error();
  if (body.node_id < 0) return invalid("negative node id in the handshake");
  return Handshake{
      .cluster_id = std::move(body.cluster_id), .from = body.node_id, .to = body.to_node_id};
}

Result<std::vector<Message>> decode_batch(std::span<const uint8_t> frame, NodeId from, NodeId to) {
  auto reader = body_reader(frame, FrameType::kBatch);
  if (!reader.ok()) return reader.error();
  wire::RaftMessageBatch body;
  auto status = decode_body(*reader, body);
  if (!status.ok()) return status.error();
  std::vector<Message> messages;
  messages.reserve(body.messages.size());
  for (WireMessage& wire_message : body.messages) {
    auto message = from_wire(wire_message, from, to);
    if (!message.ok()) return message.error();
    messages.push_back(std::move(message).value());
  }
  return messages;
}

}  // namespace fjord::raft::transport
