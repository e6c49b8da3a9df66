// `fjord cluster status|add-voter|remove-voter`, like kafka-metadata-quorum.sh.
#include <fmt/core.h>

#include <chrono>

#include "cli/cluster_admin.h"
#include "cli/commands.h"
#include "cli/exit_code.h"

namespace fjord::cli {
namespace {

int fail_with(const Error& error) {
  return fail(error.code == ErrorCode::kInvalidConfig ? kExitUsage : kExitFailure, error.message);
}

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int cluster_status(const ClientOptions& client, const ClusterStatusOptions& options) {
  auto cluster = describe_cluster(client);
  if (!cluster.ok()) return fail_with(cluster.error());
  if (options.json) {
    fmt::print("{}", format_cluster_status_json(*cluster));
  } else {
    fmt::print("{}", format_cluster_status(*cluster, wall_clock_ms()));
  }
  return kExitOk;
}

int cluster_add_voter(const ClientOptions& client, const ClusterVoterOptions& options) {
  auto endpoint = parse_host_port(options.endpoint);
  if (!endpoint.ok() || endpoint->port == 0) {
    return fail(kExitUsage, fmt::format("invalid --endpoint '{}': expected HOST:PORT, the address "
                                        "of node {}'s Raft transport (its controller.quorum.voters "
                                        "entry)",
                                        options.endpoint, options.node_id));
  }
  Status added = add_voter(client, options.node_id, *endpoint);
  if (!added.ok()) return fail_with(added.error());
  fmt::print("node {} is a voter now (Raft address {})\n", options.node_id, options.endpoint);
  return kExitOk;
}

int cluster_remove_voter(const ClientOptions& client, const ClusterVoterOptions& options) {
  Status removed = remove_voter(client, options.node_id);
  if (!removed.ok()) return fail_with(removed.error());
  fmt::print("node {} is no longer a voter\n", options.node_id);
  return kExitOk;
}

}  // namespace fjord::cli
