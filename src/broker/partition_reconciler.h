// PartitionReconciler: on a cluster node the metadata image changes under the
// broker (changes made on the controller arrive through the Raft log), so the
// open partitions follow it: partitions placed on this node are opened,
// partitions of deleted topics are closed and removed, changed configs are
// applied. The coordinators are loaded once, from the first image that has
// caught up with the quorum: before that, an image may lack topics that exist,
// and removing their directories would destroy data.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "metadata/image.h"

namespace fjord::broker {

class PartitionManager;
class GroupCoordinator;
class TxnCoordinator;

class PartitionReconciler {
 public:
  // `caught_up` says whether this node has applied the metadata log up to the
  // quorum's high watermark (polled until it first holds).
  PartitionReconciler(PartitionManager& partitions, GroupCoordinator& groups, TxnCoordinator& txns,
                      std::function<bool()> caught_up);
  ~PartitionReconciler();
  PartitionReconciler(const PartitionReconciler&) = delete;
  PartitionReconciler& operator=(const PartitionReconciler&) = delete;

  void start(std::shared_ptr<const metadata::MetadataImage> image);
  // Any thread: a newer image was published. Coalesced: the reconciler's thread
  // works from the newest one.
  void image_changed(std::shared_ptr<const metadata::MetadataImage> image);
  // True once the first caught-up image was loaded (partitions and coordinators).
  bool loaded() const;
  void stop();

 private:
  void run();
  bool first_load(const metadata::MetadataImage& image);
  void apply_changes(const metadata::MetadataImage& before, const metadata::MetadataImage& after);
  void activate_coordinators(const metadata::MetadataImage& image);

  PartitionManager& partitions_;
  GroupCoordinator& groups_;
  TxnCoordinator& txns_;
  std::function<bool()> caught_up_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<const metadata::MetadataImage> newest_;
  bool stopping_ = false;
  bool loaded_ = false;
  std::thread thread_;
};

}  // namespace fjord::broker
