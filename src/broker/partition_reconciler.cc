#include "broker/partition_reconciler.h"

#include <fmt/core.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>

#include "broker/group_coordinator.h"
#include "broker/partition_manager.h"
#include "broker/txn_coordinator.h"

namespace fjord::broker {
namespace {

constexpr auto kCatchUpPoll = std::chrono::milliseconds(50);

// Runs a PartitionManager coroutine from this (non-shard) thread and waits for it.
template <typename Make>
auto run_blocking(PartitionManager& partitions, Make make) {
  return boost::asio::co_spawn(partitions.shards().executor(0), make(), boost::asio::use_future)
      .get();
}

bool same_partitions(const metadata::TopicInfo& a, const metadata::TopicInfo& b) {
  if (a.partition_count != b.partition_count || a.partitions.size() != b.partitions.size()) {
    return false;
  }
  for (size_t i = 0; i < a.partitions.size(); ++i) {
    if (a.partitions[i].replicas != b.partitions[i].replicas) return false;
  }
  return true;
}

}  // namespace

PartitionReconciler::PartitionReconciler(PartitionManager& partitions, GroupCoordinator& groups,
                                         TxnCoordinator& txns, std::function<bool()> caught_up)
    : partitions_(partitions), groups_(groups), txns_(txns), caught_up_(std::move(caught_up)) {}

PartitionReconciler::~PartitionReconciler() { stop(); }

void PartitionReconciler::start(std::shared_ptr<const metadata::MetadataImage> image) {
  newest_ = std::move(image);
  thread_ = std::thread([this] { run(); });
}

void PartitionReconciler::image_changed(std::shared_ptr<const metadata::MetadataImage> image) {
  {
    std::lock_guard lock(mutex_);
    newest_ = std::move(image);
  }
  wake_.notify_one();
}

bool PartitionReconciler::loaded() const {
  std::lock_guard lock(mutex_);
  return loaded_;
}

void PartitionReconciler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void PartitionReconciler::run() {
  std::shared_ptr<const metadata::MetadataImage> reconciled;
  for (;;) {
    std::shared_ptr<const metadata::MetadataImage> next;
    {
      std::unique_lock lock(mutex_);
      // Before the first load, poll: catching up is not signalled by a new image.
      wake_.wait_for(lock, kCatchUpPoll,
                     [&] { return stopping_ || (reconciled && newest_ != reconciled); });
      if (stopping_) return;
      next = newest_;
    }
    if (next == nullptr || next == reconciled) continue;
    if (reconciled == nullptr) {
      if (!caught_up_() || !first_load(*next)) continue;
      std::lock_guard lock(mutex_);
      loaded_ = true;
    } else {
      apply_changes(*reconciled, *next);
    }
    reconciled = next;
  }
}

bool PartitionReconciler::first_load(const metadata::MetadataImage& image) {
  if (Status opened = partitions_.open_all(image); !opened) {
    fmt::print(stderr, "fjord: cannot open the partitions of this node: {}\n",
               opened.error().message);
    return false;
  }
  if (Status loaded = groups_.load_all(image); !loaded) {
    fmt::print(stderr, "fjord: cannot load the consumer groups: {}\n", loaded.error().message);
  }
  if (Status loaded = txns_.load_all(image); !loaded) {
    fmt::print(stderr, "fjord: cannot load the transactions: {}\n", loaded.error().message);
  }
  activate_coordinators(image);
  return true;
}

void PartitionReconciler::apply_changes(const metadata::MetadataImage& before,
                                        const metadata::MetadataImage& after) {
  for (const auto& [name, old_topic] : before.topics) {
    const metadata::TopicInfo* now = after.find(old_topic->id);
    if (now != nullptr) continue;
    std::shared_ptr<const metadata::TopicInfo> gone = old_topic;
    run_blocking(partitions_, [&] { return partitions_.remove_topic(gone); });
  }
  for (const auto& [name, topic] : after.topics) {
    const metadata::TopicInfo* old_topic = before.find(topic->id);
    std::shared_ptr<const metadata::TopicInfo> current = topic;
    if (old_topic == nullptr || !same_partitions(*old_topic, *topic)) {
      Status opened = run_blocking(partitions_, [&] { return partitions_.open_topic(current); });
      if (!opened) {
        fmt::print(stderr, "fjord: cannot open partitions of {}: {}\n", name,
                   opened.error().message);
      }
    } else if (old_topic->configs != topic->configs) {
      run_blocking(partitions_, [&] { return partitions_.reconfigure_topic(current); });
    }
  }
  activate_coordinators(after);
}

// Internal topics created after start-up (on first use, possibly through
// another node) make this node's coordinators serve the partitions it leads.
void PartitionReconciler::activate_coordinators(const metadata::MetadataImage& image) {
  if (const auto* offsets = image.find(std::string(kOffsetsTopic))) {
    groups_.activate(offsets->partition_count);
  }
  if (const auto* state = image.find(std::string(kTransactionStateTopic))) {
    txns_.activate(state->partition_count);
  }
}

}  // namespace fjord::broker
