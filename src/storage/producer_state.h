// Per-partition state of idempotent and transactional producers: duplicate and
// sequence checks, epoch fencing, expiry, a bound, and snapshot files (format and
// semantics: docs/producer-state.md). Not thread-safe: the partition's owner uses it.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "records/validate.h"

namespace fjord::storage {

// What check() and apply() need of one batch that carries a producer id.
struct ProducerBatchInfo {
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int32_t base_sequence = -1;
  int32_t last_sequence = -1;  // wraps to 0 after INT32_MAX
  bool is_transactional = false;
};
ProducerBatchInfo producer_batch_info(const records::ValidatedBatch& batch);

// A batch remembered for duplicate detection.
struct ProducerBatchMetadata {
  int32_t first_sequence = 0;
  int32_t last_sequence = 0;
  int64_t last_offset = 0;
  int64_t timestamp_ms = -1;
  // Offsets of a batch are consecutive and match its sequence span.
  int64_t first_offset() const;
};

struct ProducerEntry {
  static constexpr size_t kMaxBatches = 5;  // Kafka's max.in.flight for idempotence
  int64_t producer_id = -1;
  int16_t epoch = -1;
  int64_t last_timestamp_ms = -1;
  int64_t last_append_ms = -1;
  int64_t current_txn_first_offset = -1;                     // -1: no open transaction
  std::array<ProducerBatchMetadata, kMaxBatches> batches{};  // oldest first
  uint8_t batch_count = 0;

  int32_t last_sequence() const {
    return batch_count ? batches[batch_count - 1].last_sequence : -1;
  }
  int64_t last_offset() const { return batch_count ? batches[batch_count - 1].last_offset : -1; }
  void add_batch(const ProducerBatchMetadata& batch);
};

struct ProducerCheck {
  // kNone and no duplicate: append. A duplicate: do not append, answer NONE with
  // the original batch's offsets. Otherwise: the error code for the partition.
  ErrorCode code = ErrorCode::kNone;
  std::optional<ProducerBatchMetadata> duplicate;
};

struct ProducerStateConfig {
  // At most this many producers per partition; see docs/producer-state.md.
  size_t max_producers = 100000;
};

class ProducerStateTable {
 public:
  explicit ProducerStateTable(ProducerStateConfig config = {}) : config_(config) {}
  ProducerStateTable(ProducerStateTable&&) = default;
  ProducerStateTable& operator=(ProducerStateTable&&) = default;
  ProducerStateTable(const ProducerStateTable&) = delete;
  ProducerStateTable& operator=(const ProducerStateTable&) = delete;

  // Before appending a batch with producer_id >= 0. Does not change the table.
  ProducerCheck check(const ProducerBatchInfo& batch) const;
  // After the batch was appended with offsets [last_offset - span, last_offset].
  // A batch without sequences (base_sequence -1: the coordinator's transactional
  // offset commits) updates the epoch and the transaction, not the sequences.
  // `max_timestamp_ms`: the batch's maxTimestamp; `now_ms`: the broker's clock.
  void apply(const ProducerBatchInfo& batch, int64_t last_offset, int64_t max_timestamp_ms,
             int64_t now_ms);
  // A COMMIT or ABORT marker of `producer_id` at `marker_offset`: closes the open
  // transaction and returns its first offset (nullopt if none was open).
  // kInvalidProducerEpoch if `epoch` is older than the producer's.
  Result<std::optional<int64_t>> end_transaction(int64_t producer_id, int16_t epoch,
                                                 int64_t now_ms);

  // Drops producers without an open transaction idle for >= expiration_ms.
  // Returns how many were dropped.
  size_t expire(int64_t now_ms, int64_t producer_id_expiration_ms);

  const ProducerEntry* find(int64_t producer_id) const;
  // Every producer, in no particular order (DescribeProducers, restoring open transactions).
  std::vector<const ProducerEntry*> entries() const;
  size_t size() const { return entries_.size(); }
  const ProducerStateConfig& config() const { return config_; }

  Result<std::vector<uint8_t>> snapshot_bytes() const;
  static Result<ProducerStateTable> from_snapshot(std::span<const uint8_t> bytes,
                                                  ProducerStateConfig config = {});

 private:
  struct Slot {
    ProducerEntry entry;
    std::list<int64_t>::iterator lru_position;  // lru_: least recently appended first
  };
  void touch(Slot& slot);
  bool evict_one_idle();
  bool has_evictable() const;
  void insert(const ProducerEntry& entry);

  ProducerStateConfig config_;
  std::unordered_map<int64_t, Slot> entries_;
  std::list<int64_t> lru_;
};

// Snapshot files `<20-digit offset>.snapshot` in a partition directory.
std::filesystem::path snapshot_path(const std::filesystem::path& dir, int64_t offset);
// Ascending offsets of the snapshot files in `dir` (unparsable names ignored).
std::vector<int64_t> list_snapshot_offsets(const std::filesystem::path& dir);
// Durable: temp file, fsync, rename, fsync of the directory.
Status write_snapshot(const std::filesystem::path& dir, int64_t offset,
                      const ProducerStateTable& table);

struct LoadedSnapshot {
  int64_t offset = 0;  // the state after every batch below this offset
  ProducerStateTable table;
};
// The newest readable snapshot with offset <= max_offset; damaged ones are deleted.
// nullopt if there is none (replay from the log start).
Result<std::optional<LoadedSnapshot>> load_latest_snapshot(const std::filesystem::path& dir,
                                                           int64_t max_offset,
                                                           ProducerStateConfig config = {});
// Deletes snapshots with offset > `offset` and fsyncs the directory (torn-tail recovery).
Status truncate_snapshots_after(const std::filesystem::path& dir, int64_t offset);
// Deletes snapshots with offset < `offset`.
Status delete_snapshots_before(const std::filesystem::path& dir, int64_t offset);

}  // namespace fjord::storage
