// ProducerTracker: everything one partition log knows about idempotent and
// transactional producers, kept in step with the log by PartitionLog: the
// producer state table (sequences, epochs), the open transactions and the last
// stable offset, the `.txnindex` of every segment, and the producer snapshots
// that let a restart skip rereading the log (docs/producer-state.md,
// docs/transactions-storage.md). Not thread-safe: the partition's owner uses it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"
#include "records/batch.h"
#include "storage/file.h"
#include "storage/producer_state.h"
#include "storage/txn_index.h"

namespace fjord::storage {

// Who wrote a batch. Clients' batches carry sequences that are checked; the
// group coordinator writes transactional offset commits with baseSequence -1
// (as Kafka's does), so only their epoch is checked. Replicated batches (a Raft
// follower's log) were checked by the leader: nothing is checked, the state is
// only updated (Kafka's AppendOrigin.REPLICATION).
enum class AppendOrigin { kClient, kCoordinator, kReplication };

// The verdict on the batches of one append, before anything is written.
struct ProducerAppendCheck {
  // Set when the (single) batch is a retry of one already in the log: answer
  // with its offsets and append nothing.
  std::optional<ProducerBatchMetadata> duplicate;
};

class ProducerTracker {
 public:
  ProducerTracker(std::filesystem::path dir, ProducerStateConfig config);

  // --- Opening -------------------------------------------------------------
  // Loads the `.txnindex` of each segment (missing files are empty indexes). A
  // damaged index is deleted and rebuilt by the replay: returns the lowest such
  // segment base (INT64_MAX if none), to pass to restore().
  Result<int64_t> load_indexes(std::span<const int64_t> segment_bases);
  // Restores the newest usable snapshot at or below min(log_end, rebuild_from)
  // and drops those above log_end. Returns the offset from which the log must
  // be replayed (replay()).
  Result<int64_t> restore(int64_t first_segment_base, int64_t log_end, int64_t rebuild_from);
  // Replays one whole batch of the log at or after the restore point, in order.
  // `segment_base`: the base of the segment holding it (for the .txnindex).
  Status replay(std::span<const uint8_t> batch, int64_t segment_base, int64_t now_ms);

  // --- Appending -----------------------------------------------------------
  // Checks the producer batches among `headers` against the state. Errors:
  // kOutOfOrderSequenceNumber, kInvalidProducerEpoch, kInvalidTxnState,
  // kDuplicateSequenceNumber (a retried batch among several), kInvalidRecord
  // (two batches of one producer in one append), kPolicyViolation (too many
  // producers).
  Result<ProducerAppendCheck> check(std::span<const records::BatchHeader> headers,
                                    AppendOrigin origin) const;
  // A batch was appended (offsets assigned in `header`).
  void on_appended(const records::BatchHeader& header, int64_t now_ms);
  // kInvalidProducerEpoch if `epoch` is older than the producer's.
  Status check_marker(int64_t producer_id, int16_t epoch) const;
  // An end marker was appended at marker_offset in the segment based at
  // segment_base. Returns the `.txnindex` file when it was written (to be
  // synced with the data) and whether it was created (the directory too).
  struct MarkerOutcome {
    std::shared_ptr<File> index_file;
    bool created_file = false;
  };
  Result<MarkerOutcome> on_marker(int64_t producer_id, int16_t epoch, bool commit,
                                  int64_t marker_offset, int64_t segment_base, int64_t now_ms);

  // --- Segments and snapshots ---------------------------------------------
  // The segment at `base` was deleted (retention, DeleteRecords, recovery).
  void segment_removed(int64_t base);
  // Drops index entries whose marker is at or above `offset` (torn tail).
  Status truncate_indexes(int64_t offset);
  // Writes the state after every batch below `offset` (a new segment's base,
  // or the log end at close). Not fsynced: a lost or torn snapshot only means
  // a longer replay, and snapshots above the log end are dropped at open.
  Status take_snapshot(int64_t offset);
  // Deletes snapshots below the oldest segment's base.
  void delete_snapshots_before(int64_t offset);

  // --- Reading -------------------------------------------------------------
  int64_t last_stable_offset(int64_t high_watermark) const {
    return ongoing_.last_stable_offset(high_watermark);
  }
  void advance_high_watermark(int64_t high_watermark) {
    ongoing_.advance_high_watermark(high_watermark);
  }
  // Aborted transactions overlapping [from_offset, upper_offset); `from_segment`
  // is the base of the segment holding from_offset.
  std::vector<AbortedRange> aborted(int64_t from_segment, int64_t from_offset,
                                    int64_t upper_offset) const;
  // Every indexed aborted transaction that began below `upper_offset` (compaction).
  std::vector<AbortedTxn> aborted_before(int64_t upper_offset) const;
  const ProducerStateTable& producers() const { return producers_; }
  const OngoingTransactions& ongoing() const { return ongoing_; }
  size_t expire(int64_t now_ms, int64_t expiration_ms) {
    return producers_.expire(now_ms, expiration_ms);
  }

 private:
  Result<TxnIndex*> index_for(int64_t segment_base);
  Status note_marker(int64_t producer_id, int16_t epoch, bool commit, int64_t marker_offset,
                     int64_t segment_base, int64_t now_ms, MarkerOutcome& outcome);

  std::filesystem::path dir_;
  ProducerStateTable producers_;
  OngoingTransactions ongoing_;
  std::map<int64_t, std::unique_ptr<TxnIndex>> indexes_;  // by segment base
  std::vector<uint8_t> scratch_;                          // decompressing control batches
};

}  // namespace fjord::storage
