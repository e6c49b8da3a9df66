// TxnOffsetCommit (KIP-98, KIP-447): a transactional producer commits its
// consumer's offsets inside its transaction. The group writes them to its
// __consumer_offsets partition as one transactional batch of the producer; they
// count once the transaction coordinator's COMMIT marker follows them there
// (GroupCoordinator::complete_transaction_here), and go with an ABORT.
#include "broker/broker.h"
#include "broker/request_checks.h"
#include "protocol/generated/txn_offset_commit_request.h"
#include "protocol/generated/txn_offset_commit_response.h"

namespace fjord::broker {

namespace p = protocol;
using groups::GroupRegistry;

namespace {

// What the whole request fails with, if anything, before any partition is looked at.
ErrorCode check_txn_commit_request(const p::TxnOffsetCommitRequest& request) {
  if (invalid_group_id(request.group_id)) return ErrorCode::kInvalidGroupId;
  // The batch is written as this producer's: without one there is no transaction.
  if (request.producer_id < 0 || request.producer_epoch < 0) return ErrorCode::kInvalidRequest;
  return ErrorCode::kNone;
}

}  // namespace

boost::asio::awaitable<p::TxnOffsetCommitResponse> Broker::txn_offset_commit(
    const RequestContext& context, p::TxnOffsetCommitRequest& request) {
  const int16_t version = context.api_version;
  const int64_t now_ms = wall_clock_ms();
  const auto& limits = groups_.config().limits;
  auto image = controller_.image();

  ErrorCode request_error = check_txn_commit_request(request);
  if (request_error == ErrorCode::kNone) {
    request_error = co_await ensure_offsets_topic();
  }
  if (request_error == ErrorCode::kNone) request_error = group_coordinator_check(request.group_id);

  groups::TxnCommitRequest commit;
  commit.producer = {request.producer_id, request.producer_epoch};
  if (version >= 3) {
    commit.generation = request.generation_id;
    commit.member_id = request.member_id;
    commit.group_instance_id = request.group_instance_id;
  }
  p::TxnOffsetCommitResponse response;
  // (topic, partition) positions in the response of the offsets sent to the group.
  std::vector<std::pair<size_t, size_t>> sent;
  for (const auto& topic : request.topics) {
    auto& topic_entry = response.topics.emplace_back();
    topic_entry.name = topic.name;
    const metadata::TopicInfo* info = image->find(topic.name);
    for (const auto& partition : topic.partitions) {
      auto& entry = topic_entry.partitions.emplace_back();
      entry.partition_index = partition.partition_index;
      const std::string metadata = partition.committed_metadata.value_or("");
      const ErrorCode error = request_error != ErrorCode::kNone
                                  ? request_error
                                  : offset_commit_error(info, partition.partition_index, metadata,
                                                        limits.max_metadata_bytes);
      if (error != ErrorCode::kNone) {
        entry.error_code = to_wire(error);
      } else {
        groups::CommittedOffset offset;
        offset.offset = partition.committed_offset;
        offset.leader_epoch = version >= 2 ? partition.committed_leader_epoch : -1;
        offset.metadata = metadata;
        offset.commit_timestamp_ms = now_ms;
        commit.offsets.push_back({{topic.name, partition.partition_index}, std::move(offset)});
        sent.emplace_back(response.topics.size() - 1, topic_entry.partitions.size() - 1);
      }
    }
  }
  if (commit.offsets.empty()) {
    co_return response;
  }
  const std::string group_id = request.group_id;
  GroupWork<ErrorCode> work = [group_id, commit = std::move(commit)](GroupRegistry& registry,
                                                                     auto reply) {
    auto group = registry.find(group_id);
    // Kafka creates the group for a producer outside group management (a
    // standalone consumer's offsets); a generation names a group that must exist.
    if (!group && commit.generation >= 0) {
      reply(ErrorCode::kIllegalGeneration);
      return;
    }
    if (!group) group = registry.get_or_create(group_id);
    group->txn_commit(commit, [&registry, group_id, reply](ErrorCode error) {
      if (error != ErrorCode::kNone) registry.forget_if_unused(group_id);
      reply(error);
    });
  };
  const ErrorCode error = co_await groups_.run<ErrorCode>(group_id, work);
  for (const auto& [topic, partition] : sent) {
    response.topics[topic].partitions[partition].error_code = to_wire(error);
  }
  co_return response;
}

}  // namespace fjord::broker
