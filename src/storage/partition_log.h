// PartitionLog: the durable, segmented log of one partition (format and crash
// behaviour: docs/storage-format.md). Not thread-safe: one owner thread (a shard)
// uses it; only SyncHandle and CompactionJob travel to other threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/outbound.h"
#include "common/result.h"
#include "storage/compaction.h"
#include "storage/file.h"
#include "storage/log_config.h"
#include "storage/producer_tracker.h"
#include "storage/segment.h"

namespace fjord::storage {

struct AppendResult {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t log_append_time_ms = -1;  // -1 unless log_append_time
  // A retried batch of an idempotent producer: nothing was appended, the
  // offsets are those of the original.
  bool duplicate = false;
};

struct ReadResult {
  std::vector<FileRange> ranges;  // owners keep the segment files open
  size_t bytes = 0;
};

class PartitionLog {
 public:
  // Creates the directory and an empty log, or recovers an existing one.
  static Result<std::unique_ptr<PartitionLog>> open(const std::filesystem::path& dir,
                                                    const LogConfig& config, int64_t now_ms);
  ~PartitionLog();  // without close() this is like a crash: no clean-shutdown marker
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // `batches`: one or more whole, already validated v2 batches, concatenated.
  // Assigns offsets by rewriting baseOffset in place (and maxTimestamp + CRC with
  // log_append_time), rolls if needed, appends, updates the indexes.
  // Batches with a producer id are checked against the producer state first
  // (ProducerTracker::check: sequences, epochs, duplicates).
  // Errors: kCorruptMessage (bad framing), kMessageTooLarge (batch > max.message.bytes),
  // the producer errors of ProducerTracker::check, kKafkaStorageError (I/O; the
  // log is unchanged).
  Result<AppendResult> append(std::span<uint8_t> batches, int64_t now_ms,
                              AppendOrigin origin = AppendOrigin::kClient);
  // Appends a COMMIT or ABORT marker (a control batch) for the producer: ends its
  // open transaction here and, for an abort, records it in the segment's
  // .txnindex. kInvalidProducerEpoch if `producer_epoch` is older than the
  // producer's. A marker without an open transaction is written all the same
  // (the coordinator writes one to every partition of the transaction).
  Result<AppendResult> append_txn_marker(int64_t producer_id, int16_t producer_epoch, bool commit,
                                         int32_t coordinator_epoch, int64_t now_ms);

  // Whole batches from the one containing `offset` on, at most `max_bytes` (the
  // first batch always, KIP-74), none starting at or after max_offset_exclusive.
  // kOffsetOutOfRange if offset < log start or > log end; at log end: no ranges.
  Result<ReadResult> read(int64_t offset, size_t max_bytes, int64_t max_offset_exclusive) const;

  int64_t log_start_offset() const { return log_start_offset_; }
  int64_t log_end_offset() const { return log_end_offset_; }
  int64_t durable_offset() const { return durable_offset_; }

  // Transactions. The last stable offset (what read_committed may read) for the
  // given high watermark; the owner reports each new high watermark so that
  // completed transactions stop counting as unstable.
  int64_t last_stable_offset(int64_t high_watermark) const {
    return producers_.last_stable_offset(high_watermark);
  }
  void advance_high_watermark(int64_t high_watermark) {
    producers_.advance_high_watermark(high_watermark);
  }
  // The aborted transactions a fetch of [from_offset, upper_offset) must list.
  std::vector<AbortedRange> aborted_transactions(int64_t from_offset, int64_t upper_offset) const;
  const ProducerStateTable& producers() const { return producers_.producers(); }
  const OngoingTransactions& open_transactions() const { return producers_.ongoing(); }
  // Forgets producers idle for producer.id.expiration.ms (no open transaction).
  size_t expire_producers(int64_t now_ms, int64_t expiration_ms) {
    return producers_.expire(now_ms, expiration_ms);
  }

  // ListOffsets by time: the timestamp and offset of the first record (in the first
  // batch whose maxTimestamp >= timestamp_ms) with a timestamp >= timestamp_ms, not
  // below the log start; nullopt if there is none.
  std::optional<std::pair<int64_t, int64_t>> offset_for_timestamp(int64_t timestamp_ms) const;
  // ListOffsets MAX_TIMESTAMP: the largest timestamp and the offset of the first
  // record that carries it.
  std::optional<std::pair<int64_t, int64_t>> max_timestamp_and_offset() const;

  // DeleteRecords: advances the log start (durably) and drops whole closed
  // segments below it. kOffsetOutOfRange if offset > log end.
  Result<int64_t> delete_records_before(int64_t offset);
  // Suffix truncation (a Raft follower dropping its divergent entries): removes
  // every batch at or after `offset`, which must be the base offset of a batch,
  // the log end (nothing to do) or the log start (everything goes). Segments
  // above it, their indexes and producer snapshots are deleted, the segment
  // holding it is cut, the producer state is rebuilt. Durable on return (the
  // removal is fsynced), so a crash never brings the old suffix back behind
  // newer appends. kOffsetOutOfRange outside [log start, log end],
  // kInvalidRequest if `offset` is inside a batch.
  Status truncate_to(int64_t offset, int64_t now_ms);
  // Drops every batch and starts an empty log at `offset` (>= the log start;
  // may be beyond the log end): a Raft follower installing a snapshot its log
  // does not match. Durable on return: the segments go first (newest first),
  // then the log start checkpoint is written, so a crash leaves either a prefix
  // of the old log or the empty log at `offset`.
  Status reset_to(int64_t offset, int64_t now_ms);
  void enforce_retention(int64_t now_ms);

  void update_config(const LogConfig& config) { config_ = config; }
  const LogConfig& config() const { return config_; }
  uint64_t size_bytes() const { return size_bytes_; }
  size_t segment_count() const { return segments_.size(); }
  std::vector<int64_t> segment_base_offsets() const;

  // Group commit. prepare_sync() names every file that may hold unsynced bytes;
  // the handle may be fsynced on any thread (Syncer); then the owner calls
  // mark_durable(handle.target_offset).
  struct SyncHandle {
    std::vector<std::shared_ptr<void>> files;  // keep the files open
    int64_t target_offset = 0;
    std::vector<int> fds;  // what to fsync, parallel to `files`
  };
  SyncHandle prepare_sync();
  void mark_durable(int64_t offset);
  // Synchronous prepare_sync + fsync + mark_durable on the calling thread.
  Status sync_now();
  bool needs_flush_by_policy(int64_t now_ms) const;

  // Compaction: prepare (owner) -> run (any thread) -> install (owner).
  std::unique_ptr<CompactionJob> prepare_compaction(int64_t now_ms);
  Status install_compaction(std::unique_ptr<CompactionJob> job);
  int64_t cleaner_offset() const { return cleaner_offset_; }

  // Releases open file descriptors of closed segments (fetches in flight keep
  // their own references). Called by the owner when it has many partitions.
  void release_idle_files();

  // Flushes, writes indexes and checkpoints, then the clean-shutdown marker.
  Status close();

 private:
  PartitionLog(std::filesystem::path dir, const LogConfig& config);
  using SegmentMap = std::map<int64_t, std::unique_ptr<Segment>>;

  Status load(int64_t now_ms);
  Status load_producer_state(int64_t now_ms);
  Status replay_producers(int64_t from_offset, int64_t now_ms);
  Result<std::vector<records::BatchHeader>> parse_headers(std::span<uint8_t> batches) const;
  Result<AppendResult> write_batches(std::span<uint8_t> batches,
                                     std::vector<records::BatchHeader>& headers, int64_t now_ms);
  Status discover_segments();
  bool try_clean_open();
  Status recover_from(int64_t recovery_point);
  Status create_active_segment(int64_t base_offset, int64_t now_ms);
  Status ensure_active_writable();
  Status maybe_roll(uint64_t incoming_bytes, int64_t incoming_offsets, int64_t now_ms);
  Status roll(int64_t now_ms);
  Segment& active() const { return *segments_.rbegin()->second; }
  // Segment end: the next segment's base, or the log end for the active one.
  int64_t segment_end_offset(SegmentMap::const_iterator it) const;
  Status ensure_indexes(SegmentMap::const_iterator it) const;
  SegmentMap::const_iterator segment_for(int64_t offset) const;
  Status read_segment(SegmentMap::const_iterator it, int64_t offset, size_t max_bytes,
                      int64_t max_offset_exclusive, ReadResult& out, bool& done) const;
  std::optional<std::pair<int64_t, int64_t>> offset_for_timestamp_in(SegmentMap::const_iterator it,
                                                                     int64_t timestamp_ms) const;
  void delete_oldest_segments(size_t count);
  Status delete_newest_segment();
  Result<uint64_t> batch_position(SegmentMap::const_iterator it, int64_t offset) const;
  Status write_log_start_checkpoint(bool durable);
  Status write_recovery_checkpoint();
  void note_pending_sync(int64_t needed_below, std::shared_ptr<File> file);
  void remember_open_file(int64_t base_offset) const;

  std::filesystem::path dir_;
  LogConfig config_;
  SegmentMap segments_;
  ProducerTracker producers_;
  int64_t log_start_offset_ = 0;
  int64_t log_end_offset_ = 0;
  int64_t durable_offset_ = 0;
  int64_t recovery_point_ = 0;
  int64_t cleaner_offset_ = 0;
  uint64_t size_bytes_ = 0;
  bool clean_marker_present_ = false;
  bool closed_ = false;
  int64_t unflushed_messages_ = 0;
  int64_t first_unflushed_ms_ = 0;  // time of the first append not covered by a sync
  int64_t prepared_offset_ = 0;     // target of the latest prepare_sync()
  // Index files and directories that must be fsynced before durable_offset may
  // pass `needed_below` (the offset the write belongs to).
  std::vector<std::pair<int64_t, std::shared_ptr<File>>> pending_sync_;
  // The directory must be fsynced before durable_offset may reach this (-1: no need).
  int64_t dir_sync_needed_below_ = -1;
  std::shared_ptr<File> pending_dir_file_;
  // Where the last read ended: the batch after it starts at `position`.
  struct ReadCursor {
    uint64_t segment_id = 0;
    int64_t offset = 0;
    uint64_t position = 0;
  };
  mutable ReadCursor read_cursor_;
  // Closed segments whose log file is open, oldest first (bounded).
  mutable std::vector<int64_t> open_closed_segments_;
};

}  // namespace fjord::storage
