// The Raft transport's frames: raft::Message values encoded for TCP with the
// code generated from schemas/*.json (docs/raft-transport.md).
//
// A frame is an int32 size (of what follows), an int16 frame type, an int16
// version, then the generated body. The first frame of a connection is a
// handshake; every later frame is a batch of messages.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/outbound.h"
#include "common/result.h"
#include "raft/message.h"

namespace fjord::raft::transport {

enum class FrameType : int16_t { kHandshake = 0, kBatch = 1 };

inline constexpr size_t kFrameSizeBytes = 4;
inline constexpr size_t kFrameHeaderBytes = 4;  // type and version after the size

struct Handshake {
  std::string cluster_id;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  bool operator==(const Handshake&) const = default;
};

// Appends one whole frame (size prefix included) to `out`.
void encode_handshake(const Handshake& handshake, OutboundMessage& out);
void encode_batch(std::span<const Message> messages, OutboundMessage& out);

// The bytes a message adds to a batch, roughly (its entries' and snapshot's data
// plus a fixed allowance): how the sender splits batches under the frame limit.
size_t estimated_encoded_bytes(const Message& message);

// Decoders take a frame without its size prefix. Errors are kInvalidRequest
// values saying what was wrong; nothing is trusted before it is checked.
Result<FrameType> frame_type(std::span<const uint8_t> frame);
Result<Handshake> decode_handshake(std::span<const uint8_t> frame);
// `from` and `to` are the nodes of the connection (from its handshake). Entry
// and snapshot data are copied out of `frame` (zero copy is a later step).
Result<std::vector<Message>> decode_batch(std::span<const uint8_t> frame, NodeId from, NodeId to);

}  // namespace fjord::raft::transport
