// Storage: where one Raft group keeps its term, vote, log and snapshot. Writes
// are buffered: they are readable at once but durable only after sync(), which
// the driver calls when Ready::must_sync says so. A crash loses what was not
// synced (the simulation does exactly that). Implementations: MemoryStorage
// (tests, simulation) and the segmented-log storage of the node.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "raft/message.h"

namespace fjord::raft {

class Storage {
 public:
  virtual ~Storage() = default;

  virtual HardState hard_state() const = 0;
  // The newest snapshot (end_offset 0 and an empty config if there is none).
  virtual SnapshotMeta snapshot_meta() const = 0;
  virtual std::shared_ptr<const Bytes> snapshot_data() const = 0;
  // The log holds the entries [start_offset, end_offset). start_offset equals
  // the snapshot's end_offset, or 0.
  virtual Offset start_offset() const = 0;
  virtual Offset end_offset() const = 0;
  // The term of the entry that contains `offset` (any offset inside a batch).
  // For offset == start_offset - 1 that is the snapshot's last_term; nullopt
  // outside [start_offset - 1, end_offset) or when offset < 0.
  virtual std::optional<Term> term_at(Offset offset) const = 0;
  // Whole entries starting at `from` (an entry boundary) up to `to` (exclusive)
  // and at most `max_bytes` of data, but always at least one entry.
  virtual std::vector<Entry> entries(Offset from, Offset to, size_t max_bytes) const = 0;

  virtual void save_hard_state(const HardState& state) = 0;
  // Removes every entry at or after entries.front().offset (which must be an
  // entry boundary <= end_offset), then appends `entries`.
  virtual void append(std::span<const Entry> entries) = 0;
  // Keeps `meta` and `data` as the newest snapshot and drops the log below
  // meta.end_offset; if the log does not match at the snapshot's end
  // (term_at(end_offset - 1) != last_term), drops the whole log.
  virtual void save_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data) = 0;

  // Makes every write so far durable.
  virtual void sync() = 0;
};

}  // namespace fjord::raft
