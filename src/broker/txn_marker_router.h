// Where the markers of a decided transaction go on a cluster node. A partition
// this node hosts gets its marker here; one led by another broker is sent to
// that broker as WriteTxnMarkers, as Kafka's coordinators do. docs/transactions.md.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "broker/partition_manager.h"
#include "client/connection_cache.h"
#include "common/error_code.h"
#include "metadata/image.h"
#include "txn/txn_registry.h"

namespace fjord::broker {

struct MarkerPlan {
  std::vector<size_t> local;                          // indexes of the targets hosted here
  std::map<std::string, std::vector<size_t>> remote;  // the leader's Kafka address: its targets
  // One per target; final for those neither local nor remote:
  // kUnknownTopicOrPartition (the topic is gone: no marker is needed) or
  // kNotLeaderOrFollower (no live leader now: the coordinator retries).
  std::vector<ErrorCode> codes;
};

MarkerPlan plan_markers(const metadata::MetadataImage& image, const PartitionManager& partitions,
                        const std::vector<TxnMarkerTarget>& targets);

// Sends markers to other brokers from a small pool of its own threads, so a
// slow or unreachable broker never blocks a shard.
class RemoteMarkerWriter {
 public:
  explicit RemoteMarkerWriter(int timeout_ms);
  ~RemoteMarkerWriter();
  RemoteMarkerWriter(const RemoteMarkerWriter&) = delete;
  RemoteMarkerWriter& operator=(const RemoteMarkerWriter&) = delete;

  // Any thread. `done` gets one code per target, on a pool thread; all
  // kNotLeaderOrFollower if the broker could not be reached (retried later).
  void write(std::string address, std::vector<TxnMarkerTarget> targets,
             const txn::MarkerRequest& request, std::function<void(std::vector<ErrorCode>)> done);

 private:
  std::vector<ErrorCode> send(const std::string& address,
                              const std::vector<TxnMarkerTarget>& targets,
                              const txn::MarkerRequest& request);

  client::ConnectionCache connections_;
  boost::asio::thread_pool pool_{2};
};

}  // namespace fjord::broker
