#include "raft/log_storage/log_storage.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <system_error>

#include "raft/log_storage/entry_codec.h"
#include "raft/log_storage/quorum_state.h"
#include "raft/log_storage/snapshot_file.h"
#include "records/batch.h"

namespace fjord::raft {
namespace {

// Batches handed to PartitionLog::append at once; bounds the copy buffer.
constexpr size_t kAppendChunkBytes = 1 << 20;
// Bytes read per step when the term index is rebuilt at open.
constexpr size_t kScanChunkBytes = 1 << 20;
constexpr size_t kSnapshotsKept = 2;

// Segment roll times and producer idle times only; Raft never reads the clock.
int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

[[noreturn]] void fatal(const std::filesystem::path& dir, std::string_view what) {
  fmt::print(stderr, "fjord: raft log {}: {}\n", dir.string(), what);
  std::abort();
}

void check(const std::filesystem::path& dir, const Status& status, std::string_view what) {
  if (!status.ok()) fatal(dir, fmt::format("{}: {}", what, status.error().message));
}

// The bytes of the batches a read returned, in order.
Result<std::vector<uint8_t>> read_bytes(const storage::ReadResult& read) {
  std::vector<uint8_t> bytes(read.bytes);
  size_t at = 0;
  for (const auto& range : read.ranges) {
    size_t done = 0;
    while (done < range.length) {
      const ssize_t n = ::pread(range.fd, bytes.data() + at + done, range.length - done,
                                static_cast<off_t>(range.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return Error{ErrorCode::kKafkaStorageError,
                     fmt::format("read of the log failed: {}",
                                 n < 0 ? std::strerror(errno) : "unexpected end of file")};
      }
      done += static_cast<size_t>(n);
    }
    at += range.length;
  }
  return bytes;
}

}  // namespace

storage::LogConfig LogStorageOptions::default_log_config() {
  storage::LogConfig config;
  config.segment_bytes = 64 << 20;
  config.segment_ms = INT64_MAX;  // rolls by size only
  config.retention_ms = -1;
  config.retention_bytes = -1;
  config.cleanup_policy = storage::CleanupPolicy::kDelete;
  config.max_message_bytes = INT32_MAX;  // the leader bounds entries; a follower takes them
  config.flush_messages = INT64_MAX;     // the Raft driver decides when to sync
  return config;
}

LogStorage::LogStorage(std::filesystem::path dir, std::unique_ptr<storage::PartitionLog> log)
    : dir_(std::move(dir)), log_(std::move(log)) {}

LogStorage::~LogStorage() = default;

Result<std::unique_ptr<LogStorage>> LogStorage::open(const std::filesystem::path& dir,
                                                     const LogStorageOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return storage::io_error("create directory", dir, ec.value());
  auto hard_state = read_quorum_state(dir);
  if (!hard_state.ok()) return hard_state.error();
  auto snapshot = load_newest_snapshot(dir);
  if (!snapshot.ok()) return snapshot.error();
  auto log = storage::PartitionLog::open(dir, options.log, wall_clock_ms());
  if (!log.ok()) return log.error();
  std::unique_ptr<LogStorage> opened(new LogStorage(dir, std::move(log).value()));
  opened->hard_state_ = opened->durable_hard_state_ = *hard_state;
  if (snapshot->has_value()) {
    opened->snapshot_ = (*snapshot)->meta;
    opened->snapshot_data_ = (*snapshot)->data;
  }
  if (auto st = opened->load_terms(); !st.ok()) return st.error();
  if (auto st = opened->reconcile_with_snapshot(); !st.ok()) return st.error();
  return opened;
}

// Reads every batch header from the log start: the term index, and a check
// that the log is a Raft log. A gap between batches can follow a crash that
// persisted a new segment but not the end of the one before (unsynced, so
// never acknowledged): the log is cut (durably) at the gap. A term going back
// or a control batch that is not ours never comes from a crash: that is damage
// or the wrong directory, an error rather than data destroyed.
Status LogStorage::load_terms() {
  Offset at = log_->log_start_offset();
  std::optional<Offset> expected;
  while (at < log_->log_end_offset()) {
    auto read = log_->read(at, kScanChunkBytes, INT64_MAX);
    if (!read.ok()) return read.error();
    auto bytes = read_bytes(*read);
    if (!bytes.ok()) return bytes.error();
    if (bytes->empty()) break;
    for (size_t pos = 0; pos < bytes->size();) {
      const auto header = records::read_header(std::span(*bytes).subspan(pos));
      const auto batch = std::span(*bytes).subspan(pos, header.size_bytes());
      pos += header.size_bytes();
      if (expected && header.base_offset != *expected) return cut_at_gap(*expected);
      const Term term = header.partition_leader_epoch;
      if (term < terms_.last_term().value_or(0) ||
          (header.is_control() && !decode_entry(batch).ok())) {
        return Error{
            ErrorCode::kCorruptMessage,
            fmt::format("raft log {}: the batch at offset {} (term {}) does not continue "
                        "the Raft log (terms so far up to {})",
                        dir_.string(), header.base_offset, term, terms_.last_term().value_or(0))};
      }
      terms_.note_entry(header.base_offset, term);
      expected = header.last_offset() + 1;
    }
    if (expected) at = *expected;
  }
  return {};
}

Status LogStorage::cut_at_gap(Offset offset) {
  fmt::print(stderr,
             "fjord: raft log {}: a gap after offset {} (an unsynced write lost in a "
             "crash); truncating the log there\n",
             dir_.string(), offset);
  terms_.truncate(offset);
  return log_->truncate_to(offset, wall_clock_ms());
}

Status LogStorage::reconcile_with_snapshot() {
  const Offset start = log_->log_start_offset();
  if (start > snapshot_.end_offset) {
    return Error{ErrorCode::kCorruptMessage,
                 fmt::format("raft log {}: the log starts at {} but the newest valid snapshot "
                             "ends at {}: the entries between are lost",
                             dir_.string(), start, snapshot_.end_offset)};
  }
  if (start == snapshot_.end_offset) return {};
  // A crash came between the snapshot and the log start moving.
  return move_log_start(snapshot_);
}

// Drops the log below the snapshot's end if the log holds the entry that ends
// there with the snapshot's term, else the whole log (Raft's InstallSnapshot).
Status LogStorage::move_log_start(const SnapshotMeta& meta) {
  const Offset end = meta.end_offset;
  const bool matches = end == 0 || (end <= end_offset() && term_at(end - 1) == meta.last_term);
  if (!matches) {
    terms_.clear();
    return log_->reset_to(end, wall_clock_ms());
  }
  if (end > log_->log_start_offset()) {
    auto moved = log_->delete_records_before(end);
    if (!moved.ok()) return moved.error();
  }
  terms_.drop_before(end);
  return {};
}

std::optional<Term> LogStorage::term_at(Offset offset) const {
  const Offset start = start_offset();
  if (offset < 0 || offset < start - 1 || offset >= end_offset()) return std::nullopt;
  if (offset == start - 1) return snapshot_.last_term;
  return terms_.term_at(offset);
}

std::vector<Entry> LogStorage::entries(Offset from, Offset to, size_t max_bytes) const {
  std::vector<Entry> out;
  to = std::min(to, end_offset());
  if (from >= to) return out;
  if (from < start_offset()) {
    fatal(dir_, fmt::format("entries from {} below the log start {}", from, start_offset()));
  }
  auto read = log_->read(from, max_bytes, to);
  if (!read.ok()) fatal(dir_, read.error().message);
  auto bytes = read_bytes(*read);
  if (!bytes.ok()) fatal(dir_, bytes.error().message);
  for (size_t pos = 0; pos < bytes->size();) {
    const auto header = records::read_header(std::span(*bytes).subspan(pos));
    auto entry = decode_entry(std::span(*bytes).subspan(pos, header.size_bytes()));
    if (!entry.ok()) fatal(dir_, entry.error().message);
    const Offset expected = out.empty() ? from : out.back().end_offset();
    if (entry->offset != expected) {
      fatal(dir_, fmt::format("entry at {} where {} was expected", entry->offset, expected));
    }
    out.push_back(std::move(entry).value());
    pos += header.size_bytes();
  }
  return out;
}

void LogStorage::save_hard_state(const HardState& state) { hard_state_ = state; }

void LogStorage::append(std::span<const Entry> entries) {
  if (entries.empty()) return;
  const Offset first = entries.front().offset;
  if (first < start_offset() || first > end_offset()) {
    fatal(dir_, fmt::format("append at {} outside [{}, {}]", first, start_offset(), end_offset()));
  }
  Offset next = first;
  for (const Entry& entry : entries) {
    check(dir_, check_entry(entry), "append");
    if (entry.offset != next) {
      fatal(dir_, fmt::format("entry at {} where {} was expected", entry.offset, next));
    }
    next = entry.end_offset();
  }
  if (first < end_offset()) {
    check(dir_, log_->truncate_to(first, wall_clock_ms()), "truncate");
    terms_.truncate(first);
  }
  append_buffer_.clear();
  Offset chunk_base = first;
  for (const Entry& entry : entries) {
    append_entry_batch(entry, append_buffer_);
    terms_.note_entry(entry.offset, entry.term);
    if (append_buffer_.size() >= kAppendChunkBytes) {
      check(dir_, append_batches(append_buffer_, chunk_base), "append");
      append_buffer_.clear();
      chunk_base = entry.end_offset();
    }
  }
  if (!append_buffer_.empty()) check(dir_, append_batches(append_buffer_, chunk_base), "append");
  // Keep the buffer's capacity for the next append, up to a bound.
  if (append_buffer_.capacity() > 2 * kAppendChunkBytes) append_buffer_ = {};
}

Status LogStorage::append_batches(std::span<uint8_t> batches, Offset expected_base) {
  auto appended = log_->append(batches, wall_clock_ms(), storage::AppendOrigin::kReplication);
  if (!appended.ok()) return appended.error();
  if (appended->base_offset != expected_base || appended->duplicate) {
    return Error{ErrorCode::kUnknownServerError, fmt::format("batches went to {} instead of {}",
                                                             appended->base_offset, expected_base)};
  }
  return {};
}

void LogStorage::save_snapshot(const SnapshotMeta& meta, std::shared_ptr<const Bytes> data) {
  if (meta.end_offset < snapshot_.end_offset) return;  // older than the one we have
  if (!data) data = std::make_shared<const Bytes>();
  // Durable before any of the log goes: a crash must leave the snapshot or the log.
  check(dir_, write_snapshot_file(dir_, meta, *data), "snapshot");
  check(dir_, move_log_start(meta), "moving the log start");
  snapshot_ = meta;
  snapshot_data_ = std::move(data);
  delete_old_snapshots(dir_, kSnapshotsKept);
}

void LogStorage::sync() {
  check(dir_, log_->sync_now(), "sync");
  if (hard_state_ != durable_hard_state_) {
    check(dir_, write_quorum_state(dir_, hard_state_), "quorum-state");
    durable_hard_state_ = hard_state_;
  }
}

Status LogStorage::close() {
  sync();
  return log_->close();
}

}  // namespace fjord::raft
