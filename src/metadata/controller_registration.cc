#include "metadata/controller_registration.h"

#include "metadata/metadata_log.h"

namespace fjord::metadata {

protocol::metadata::RegisterControllerRecord register_controller_record(
    const ControllerInfo& controller) {
  protocol::metadata::RegisterControllerRecord r;
  r.controller_id = controller.id;
  protocol::metadata::RegisterControllerRecord::ControllerEndpoint endpoint;
  endpoint.name = kControllerListenerName;
  endpoint.host = controller.host;
  endpoint.port = controller.port;
  r.end_points.push_back(std::move(endpoint));
  return r;
}

std::vector<uint8_t> framed_register_controller(const ControllerInfo& controller) {
  return frame_metadata_record(register_controller_record(controller), 0);
}

}  // namespace fjord::metadata
