#include "broker/admin_calls.h"

#include "broker/broker.h"

namespace fjord::broker::admin {

int64_t now_ms() { return wall_clock_ms(); }

}  // namespace fjord::broker::admin
