// RegisterControllerRecord: a metadata quorum voter's Raft address, committed
// before the voter is added so that every node can reach it (image.h,
// ControllerInfo).
#pragma once

#include <cstdint>
#include <vector>

#include "metadata/image.h"
#include "protocol/generated/metadata/register_controller_record.h"

namespace fjord::metadata {

// The listener name of a controller's Raft address, as Kafka names it.
inline constexpr const char* kControllerListenerName = "CONTROLLER";

protocol::metadata::RegisterControllerRecord register_controller_record(
    const ControllerInfo& controller);
// The same record framed for the metadata log (frame_metadata_record).
std::vector<uint8_t> framed_register_controller(const ControllerInfo& controller);

}  // namespace fjord::metadata
