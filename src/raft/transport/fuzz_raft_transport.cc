// Fuzzes the Raft transport's frame decoders with arbitrary frames (what a peer
// or anything reaching the Raft port could send after the size prefix).
#include <cstddef>
#include <cstdint>
#include <span>

#include "raft/transport/codec.h"
#include "raft/transport/snapshot_chunks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> frame(data, size);
  auto type = fjord::raft::transport::frame_type(frame);
  if (!type.ok()) return 0;
  if (*type == fjord::raft::transport::FrameType::kHandshake) {
    (void)fjord::raft::transport::decode_handshake(frame);
  } else {
    auto messages = fjord::raft::transport::decode_batch(frame, 1, 2);
    if (!messages.ok()) return 0;
    // What the receiver does next: put snapshot chunks together (bounded).
    fjord::raft::transport::SnapshotAssembler assembler(1 << 20, 4);
    for (auto& message : *messages) (void)assembler.add(std::move(message));
  }
  return 0;
}
