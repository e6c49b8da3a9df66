// Fuzzes what `fjord txn` and `fjord cluster status` do with a server's answer: the response
// header, the generated decoder of each response it reads (at every version), the conversion to
// plain structs and the formatting. Input: one byte choosing the response and version, then a
// response frame without its size prefix.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cli/cluster_report.h"
#include "cli/txn_abort.h"
#include "cli/txn_report.h"
#include "cli/txn_responses.h"
#include "client/response_frame.h"
#include "protocol/generated/api_versions_response.h"
#include "protocol/generated/describe_producers_response.h"
#include "protocol/generated/describe_quorum_response.h"
#include "protocol/generated/describe_transactions_response.h"
#include "protocol/generated/find_coordinator_response.h"
#include "protocol/generated/list_transactions_response.h"
#include "protocol/generated/metadata_response.h"

namespace {

namespace p = fjord::protocol;
using namespace fjord::cli;
using fjord::client::response_body_offset;

constexpr int32_t kCorrelationId = 1;
constexpr int64_t kNowMs = 1709294400000;

template <typename Response>
bool decode(std::span<const uint8_t> frame, int16_t version, Response& response) {
  auto body_offset = response_body_offset(frame, Response::kApiKey, version, kCorrelationId);
  if (!body_offset.ok()) return false;
  p::Reader reader(frame.subspan(*body_offset));
  response.decode(reader, version);
  return reader.ok();
}

void describe(std::span<const uint8_t> frame) {
  p::DescribeTransactionsResponse response;
  if (!decode(frame, 0, response)) return;
  for (const auto& state : response.transaction_states) {
    (void)wire_error_text(state.error_code);
    (void)format_transaction_description(description_of(state, 1), kNowMs);
  }
}

// What `fjord txn abort` makes of the producers: choose by start offset and by
// producer id (the first producer's), as a person would from the listing.
void choose_to_abort(const std::vector<PartitionProducers>& partitions) {
  for (const PartitionProducers& partition : partitions) {
    if (partition.producers.empty()) continue;
    const ProducerInfo& first = partition.producers.front();
    AbortSelector by_offset;
    by_offset.start_offset = first.txn_start_offset;
    AbortSelector by_id;
    by_id.producer_id = first.producer_id;
    by_id.producer_epoch = static_cast<int16_t>(first.producer_epoch);
    for (const AbortSelector& selector : {by_offset, by_id}) {
      auto target = choose_transaction_to_abort(partition, selector);
      if (target.ok()) (void)format_abort(*target);
    }
  }
}

// `fjord cluster status`: the quorum of a DescribeQuorum answer (every version),
// printed both ways next to a cluster of one broker.
void cluster_status(std::span<const uint8_t> frame, int16_t selector) {
  const int16_t version =
      static_cast<int16_t>(selector % (p::DescribeQuorumResponse::kMaxVersion + 1));
  p::DescribeQuorumResponse response;
  if (!decode(frame, version, response)) return;
  auto quorum = quorum_of(response);
  if (!quorum.ok()) return;
  ClusterDescription cluster;
  cluster.controller_id = quorum->leader_id;
  cluster.brokers.push_back({quorum->leader_id, "127.0.0.1:9092", ""});
  cluster.quorum = std::move(*quorum);
  for (const QuorumMember& member : cluster.quorum.members) (void)lag_of(cluster.quorum, member);
  (void)format_cluster_status(cluster, kNowMs);
  (void)format_cluster_status_json(cluster);
}

template <typename Response>
void decode_only(std::span<const uint8_t> frame, int16_t selector) {
  const int16_t version = static_cast<int16_t>(selector % (Response::kMaxVersion + 1));
  Response response;
  (void)decode(frame, version, response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const std::span<const uint8_t> frame(data + 1, size - 1);
  switch (selector % 7) {
    case 0: {
      p::ListTransactionsResponse response;
      if (decode(frame, static_cast<int16_t>(selector / 7 % 2), response)) {
        (void)format_transaction_list(listings_of(response));
      }
      break;
    }
    case 1:
      describe(frame);
      break;
    case 2: {
      p::DescribeProducersResponse response;
      if (decode(frame, 0, response)) {
        const std::vector<PartitionProducers> partitions = producers_of(response);
        (void)format_producers(partitions);
        choose_to_abort(partitions);
      }
      break;
    }
    case 3:
      decode_only<p::FindCoordinatorResponse>(frame, selector / 7);
      break;
    case 4: {
      const int16_t version =
          static_cast<int16_t>(selector / 7 % (p::MetadataResponse::kMaxVersion + 1));
      p::MetadataResponse response;
      if (decode(frame, version, response)) (void)cluster_of(response);
      break;
    }
    case 5:
      cluster_status(frame, selector / 7);
      break;
    default:
      decode_only<p::ApiVersionsResponse>(frame, selector / 7);
      break;
  }
  return 0;
}
