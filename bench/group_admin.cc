#include "group_admin.h"

#include <fmt/core.h>

namespace fjord::bench {

Result<GroupDescription> describe_group(rd_kafka_t* handle, const std::string& group_id,
                                        int timeout_ms) {
  const rd_kafka_group_list* groups = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_list_groups(handle, group_id.c_str(), &groups, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(err, "DescribeGroups " + group_id);
  Result<GroupDescription> result(ErrorCode::kGroupIdNotFound, "no group " + group_id);
  for (int i = 0; i < groups->group_cnt; ++i) {
    const rd_kafka_group_info& group = groups->groups[i];
    if (group_id != group.group) continue;
    if (group.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = kafka_error(group.err, "DescribeGroups " + group_id);
    } else {
      result = GroupDescription{group.state, static_cast<size_t>(group.member_cnt)};
    }
  }
  rd_kafka_group_list_destroy(groups);
  return result;
}

}  // namespace fjord::bench
