#include "cli/group_report.h"

#include <fmt/core.h>

#include <algorithm>

namespace fjord::cli {
namespace {

constexpr char kColumnGap[] = "  ";

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

std::vector<std::string> member_row(const GroupMember& member) {
  return {member.member_id, or_dash(member.instance_id), or_dash(member.client_id),
          or_dash(member.host),
          member.assignment.empty() ? "-" : format_partitions(member.assignment)};
}

std::vector<std::string> lag_row(const PartitionLag& lag) {
  return {lag.partition.topic,
          std::to_string(lag.partition.partition),
          offset_cell(lag.committed),
          offset_cell(lag.log_end),
          offset_cell(partition_lag(lag.committed, lag.log_end)),
          or_dash(lag.member_id)};
}

}  // namespace

std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) widths[c] = headers[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string out;
  auto append_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < widths.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      if (c > 0) line += kColumnGap;
      line += cell;
      if (c + 1 < widths.size()) line.append(widths[c] - cell.size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  append_row(headers);
  for (const auto& row : rows) append_row(row);
  return out;
}

std::optional<int64_t> partition_lag(std::optional<int64_t> committed,
                                     std::optional<int64_t> log_end) {
  if (!committed || !log_end) return std::nullopt;
  return *log_end - *committed;
}

std::string offset_cell(std::optional<int64_t> value) {
  return value ? std::to_string(*value) : std::string("-");
}

std::string format_partitions(std::vector<TopicPartitionId> partitions) {
  std::sort(partitions.begin(), partitions.end());
  std::string out;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const bool same_topic = i > 0 && partitions[i].topic == partitions[i - 1].topic;
    if (same_topic) {
      out += ',';
    } else {
      if (i > 0) out += ' ';
      out += partitions[i].topic;
      out += ':';
    }
    out += std::to_string(partitions[i].partition);
  }
  return out;
}

std::vector<PartitionLag> partition_lags(const GroupDescription& group, const OffsetMap& committed,
                                         const OffsetMap& log_ends) {
  std::map<TopicPartitionId, PartitionLag> rows;
  auto row = [&](const TopicPartitionId& id) -> PartitionLag& {
    PartitionLag& lag = rows[id];
    lag.partition = id;
    return lag;
  };
  for (const auto& [id, offset] : committed) row(id).committed = offset;
  for (const GroupMember& member : group.members) {
    for (const TopicPartitionId& id : member.assignment) row(id).member_id = member.member_id;
  }
  std::vector<PartitionLag> out;
  for (auto& [id, lag] : rows) {
    auto end = log_ends.find(id);
    if (end != log_ends.end()) lag.log_end = end->second;
    out.push_back(std::move(lag));
  }
  return out;
}

int64_t total_lag(const std::vector<PartitionLag>& lags) {
  int64_t total = 0;
  for (const PartitionLag& lag : lags)
    total += partition_lag(lag.committed, lag.log_end).value_or(0);
  return total;
}

std::string format_group_list(const std::vector<GroupListing>& groups) {
  std::vector<std::vector<std::string>> rows;
  for (const GroupListing& group : groups) {
    rows.push_back({group.name, group.state, or_dash(group.protocol_type)});
  }
  return format_table({"GROUP", "STATE", "PROTOCOL-TYPE"}, rows);
}

std::string format_group_description(const GroupDescription& group,
                                     const std::vector<PartitionLag>& lags) {
  const std::string protocol =
      group.protocol.empty() ? or_dash(group.protocol_type)
                             : fmt::format("{}/{}", or_dash(group.protocol_type), group.protocol);
  std::string out = fmt::format(
      "Group: {}  State: {}  Protocol: {}  Members: {}  Coordinator: {}  Total lag: {}\n",
      group.name, group.state, protocol, group.members.size(),
      group.coordinator < 0 ? std::string("-") : std::to_string(group.coordinator),
      total_lag(lags));
  out += '\n';
  if (group.members.empty()) {
    out += "(no active members)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const GroupMember& member : group.members) rows.push_back(member_row(member));
    out += format_table({"MEMBER-ID", "INSTANCE-ID", "CLIENT-ID", "HOST", "PARTITIONS"}, rows);
  }
  out += '\n';
  if (lags.empty()) {
    out += "(no committed offsets and no assigned partitions)\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const PartitionLag& lag : lags) rows.push_back(lag_row(lag));
    out += format_table(
        {"TOPIC", "PARTITION", "COMMITTED-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID"}, rows);
  }
  return out;
}

}  // namespace fjord::cli
