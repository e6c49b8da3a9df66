#include "storage/partition_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "records/batch.h"
#include "records/codec.h"
#include "records/control.h"
#include "records/record.h"
#include "storage/checkpoint.h"
#include "storage/record_scan.h"

namespace fjord::storage {
namespace {

constexpr const char* kLogStartCheckpoint = "log-start-offset.checkpoint";
constexpr const char* kRecoveryCheckpoint = "recovery-point.checkpoint";
constexpr const char* kCleanerCheckpoint = "cleaner-offset.checkpoint";
constexpr const char* kCleanShutdownMarker = "clean-shutdown";
// Positions in the offset index are u32.
constexpr int64_t kMaxSegmentBytes = INT32_MAX;
// Closed segments per partition whose log file stays open for reads.
constexpr size_t kMaxOpenClosedSegments = 2;

// Header scans of reads go through one buffer per thread (a shard), not one per read.
constexpr size_t kReadScanChunkBytes = 16 * 1024;
std::vector<uint8_t>& read_scan_buffer() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

// Bound on a decompressed records section read for ListOffsets.
constexpr size_t kMaxDecompressedBytes = 256u << 20;

// The timestamp and offset of the first record of `batch` whose timestamp is >=
// timestamp_ms (records are parsed; LogAppendTime batches carry maxTimestamp for
// every record). nullopt if no record qualifies or the batch cannot be parsed.
std::optional<std::pair<int64_t, int64_t>> first_record_at_or_after(const File& file,
                                                                    const BatchInfo& batch,
                                                                    int64_t timestamp_ms) {
  std::vector<uint8_t> bytes(batch.size_bytes);
  auto n = file.read_at(batch.position, bytes);
  if (!n.ok() || *n != bytes.size()) return std::nullopt;
  const records::BatchHeader h = records::read_header(bytes);
  std::vector<uint8_t> scratch;
  auto section = records::records_section(bytes, scratch, kMaxDecompressedBytes);
  if (!section.ok()) return std::nullopt;
  std::vector<RecordView> views;
  if (!scan_records(*section, h.records_count, views)) return std::nullopt;
  const bool append_time = h.attributes & records::attr::kLogAppendTime;
  for (const auto& r : views) {
    const int64_t ts = append_time ? h.max_timestamp : h.base_timestamp + r.timestamp_delta_ms;
    if (ts >= timestamp_ms) return std::make_pair(ts, h.base_offset + r.offset_delta);
  }
  return std::nullopt;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void remove_quietly(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace

PartitionLog::PartitionLog(std::filesystem::path dir, const LogConfig& config)
    : dir_(std::move(dir)), config_(config), producers_(dir_, ProducerStateConfig{}) {}

PartitionLog::~PartitionLog() = default;

Result<std::unique_ptr<PartitionLog>> PartitionLog::open(const std::filesystem::path& dir,
                                                         const LogConfig& config, int64_t now_ms) {
  raise_open_file_limit();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("create directory", dir, ec.value());
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, config));
  if (auto st = log->load(now_ms); !st.ok()) return st.error();
  return log;
}

Status PartitionLog::load(int64_t now_ms) {
  if (auto st = discover_segments(); !st.ok()) return st;
  auto log_start = read_checkpoint(dir_ / kLogStartCheckpoint, 1);
  log_start_offset_ = log_start ? (*log_start)[0] : 0;
  auto cleaner = read_checkpoint(dir_ / kCleanerCheckpoint, 1);
  cleaner_offset_ = cleaner ? (*cleaner)[0] : 0;
  if (segments_.empty()) {
    if (auto st = create_active_segment(std::max<int64_t>(log_start_offset_, 0), now_ms);
        !st.ok()) {
      return st;
    }
    log_end_offset_ = durable_offset_ = recovery_point_ = active().base_offset();
    remove_quietly(dir_ / kCleanShutdownMarker);
  } else if (!try_clean_open()) {
    remove_quietly(dir_ / kCleanShutdownMarker);
    auto recovery = read_checkpoint(dir_ / kRecoveryCheckpoint, 1);
    if (auto st = recover_from(recovery ? (*recovery)[0] : 0); !st.ok()) return st;
  }
  log_start_offset_ = std::max(log_start_offset_, segments_.begin()->first);
  if (log_start_offset_ > log_end_offset_) {
    // A DeleteRecords beyond data that did not survive a crash: start over there.
    delete_oldest_segments(segments_.size());
    if (auto st = create_active_segment(log_start_offset_, now_ms); !st.ok()) return st;
    log_end_offset_ = durable_offset_ = recovery_point_ = log_start_offset_;
  }
  active().set_created_ms(now_ms);
  prepared_offset_ = log_end_offset_;
  return load_producer_state(now_ms);
}

// Producer state after a restart: the newest snapshot, then the batches after
// it (at most the active segment after a clean shutdown or a roll).
Status PartitionLog::load_producer_state(int64_t now_ms) {
  const std::vector<int64_t> bases = segment_base_offsets();
  auto rebuild_from = producers_.load_indexes(bases);
  if (!rebuild_from.ok()) return rebuild_from.error();
  auto replay_from = producers_.restore(segments_.begin()->first, log_end_offset_, *rebuild_from);
  if (!replay_from.ok()) return replay_from.error();
  if (*replay_from >= log_end_offset_) return {};
  return replay_producers(*replay_from, now_ms);
}

Status PartitionLog::replay_producers(int64_t from_offset, int64_t now_ms) {
  for (auto it = segment_for(from_offset); it != segments_.end(); ++it) {
    if (auto st = ensure_indexes(it); !st.ok()) return st;
    Segment& segment = *it->second;
    auto file = segment.file();
    if (!file.ok()) return file.error();
    const uint64_t start = it->first < from_offset ? segment.scan_start_position(from_offset) : 0;
    BatchScanner scanner(**file, start, segment.size_bytes(), /*verify_crc=*/true);
    while (true) {
      auto next = scanner.next();
      if (!next.ok()) return next.error();
      if (!next->has_value()) break;
      if ((*next)->base_offset < from_offset) continue;
      if (auto st = producers_.replay(scanner.last_batch_bytes(), it->first, now_ms); !st.ok()) {
        return st;
      }
    }
    if (std::next(it) != segments_.end()) segment.release_file();
  }
  return {};
}

Status PartitionLog::discover_segments() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (ends_with(name, ".tmp") || ends_with(name, ".cleaned")) {
      remove_quietly(entry.path());
      continue;
    }
    if (!ends_with(name, ".log")) continue;
    auto base = parse_segment_file_stem(entry.path().stem().string());
    if (!base) continue;
    const uint64_t size = entry.file_size(ec);
    if (ec) return io_error("stat", entry.path(), ec.value());
    segments_.emplace(*base, std::make_unique<Segment>(dir_, *base, size));
    size_bytes_ += size;
  }
  if (ec) return io_error("list directory", dir_, ec.value());
  return {};
}

// A clean shutdown left a marker with the log end offset and the last segment's
// base and size; if the files still match, nothing needs scanning.
bool PartitionLog::try_clean_open() {
  auto marker = read_checkpoint(dir_ / kCleanShutdownMarker, 3);
  if (!marker) return false;
  const int64_t log_end = (*marker)[0];
  const Segment& last = active();
  if ((*marker)[1] != last.base_offset() ||
      (*marker)[2] != static_cast<int64_t>(last.size_bytes()) || log_end < last.base_offset()) {
    return false;
  }
  log_end_offset_ = durable_offset_ = recovery_point_ = log_end;
  clean_marker_present_ = true;
  return true;
}

Status PartitionLog::recover_from(int64_t recovery_point) {
  auto it = segments_.upper_bound(recovery_point);
  if (it != segments_.begin()) --it;
  int64_t next_min_base = it->first;
  std::vector<std::shared_ptr<File>> recovered;
  while (it != segments_.end()) {
    Segment& segment = *it->second;
    auto next = std::next(it);
    const int64_t limit = next == segments_.end() ? INT64_MAX : next->first;
    size_bytes_ -= segment.size_bytes();
    auto outcome = segment.recover(next_min_base, limit, config_.index_interval_bytes);
    if (!outcome.ok()) return outcome.error();
    size_bytes_ += segment.size_bytes();
    auto file = segment.file();
    if (!file.ok()) return file.error();
    recovered.push_back(*file);
    if (outcome->last_offset >= 0) next_min_base = outcome->last_offset + 1;
    if (outcome->truncated) {
      // Nothing after a torn or corrupt batch was ever acknowledged.
      while (std::next(it) != segments_.end()) {
        auto victim = std::prev(segments_.end());
        size_bytes_ -= victim->second->size_bytes();
        remove_quietly(victim->second->log_path());
        remove_quietly(victim->second->index_path());
        remove_quietly(victim->second->time_index_path());
        producers_.segment_removed(victim->first);
        segments_.erase(victim);
      }
    }
    if (std::next(it) != segments_.end()) {
      auto written = segment.write_indexes();
      if (!written.ok()) return written.error();
      for (auto& f : *written) recovered.push_back(std::move(f));
    }
    it = std::next(it);
  }
  const Segment& last = active();
  log_end_offset_ = std::max(next_min_base, last.base_offset());
  for (auto& f : recovered) {
    if (auto st = f->sync(); !st.ok()) return st;
  }
  if (auto st = sync_directory(dir_); !st.ok()) return st;
  recovered.clear();
  for (auto seg = segments_.begin(); std::next(seg) != segments_.end(); ++seg) {
    seg->second->release_file();
  }
  durable_offset_ = log_end_offset_;
  recovery_point_ = active().base_offset();
  return write_recovery_checkpoint();
}

Status PartitionLog::create_active_segment(int64_t base_offset, int64_t now_ms) {
  auto segment = std::make_unique<Segment>(dir_, base_offset, 0);
  auto file = segment->file();
  if (!file.ok()) return file.error();
  auto size = (*file)->size_bytes();
  if (!size.ok()) return size.error();
  if (*size != 0) std::abort();  // a segment at the log end must not exist yet
  segment->set_created_ms(now_ms);
  segment->start_empty();
  // The new directory entry must be durable before data in it counts as durable.
  dir_sync_needed_below_ = std::max(dir_sync_needed_below_, base_offset + 1);
  segments_.emplace(base_offset, std::move(segment));
  return {};
}

int64_t PartitionLog::segment_end_offset(SegmentMap::const_iterator it) const {
  auto next = std::next(it);
  return next == segments_.end() ? log_end_offset_ : next->first;
}

Status PartitionLog::ensure_indexes(SegmentMap::const_iterator it) const {
  if (it->second->indexes_loaded()) return {};
  return it->second->load_indexes(std::max(segment_end_offset(it), it->first + 1),
                                  config_.index_interval_bytes);
}

std::vector<int64_t> PartitionLog::segment_base_offsets() const {
  std::vector<int64_t> bases;
  for (const auto& [base, segment] : segments_) bases.push_back(base);
  return bases;
}

// ---------------------------------------------------------------------------
// Appending

Status PartitionLog::ensure_active_writable() {
  if (clean_marker_present_) {
    // From now on a crash must not look like a clean shutdown.
    if (::unlink((dir_ / kCleanShutdownMarker).c_str()) != 0 && errno != ENOENT) {
      return io_error("unlink", dir_ / kCleanShutdownMarker, errno);
    }
    if (auto st = sync_directory(dir_); !st.ok()) return st;
    clean_marker_present_ = false;
  }
  closed_ = false;
  return ensure_indexes(std::prev(segments_.end()));
}

Status PartitionLog::maybe_roll(uint64_t incoming_bytes, int64_t incoming_offsets, int64_t now_ms) {
  const Segment& segment = active();
  if (segment.size_bytes() == 0) return {};
  const int64_t limit = std::min(config_.segment_bytes, kMaxSegmentBytes);
  // Relative offsets in the indexes are u32 as well.
  const bool too_many_offsets =
      log_end_offset_ + incoming_offsets - segment.base_offset() > int64_t{UINT32_MAX};
  const bool too_big =
      too_many_offsets || static_cast<int64_t>(segment.size_bytes() + incoming_bytes) > limit;
  const bool too_old = now_ms - segment.created_ms() >= config_.segment_ms;
  const bool index_full = segment.index_full(config_.segment_index_bytes);
  if (too_big || too_old || index_full) return roll(now_ms);
  return {};
}

Status PartitionLog::roll(int64_t now_ms) {
  Segment& old = active();
  auto written = old.write_indexes();
  if (!written.ok()) return written.error();
  for (auto& f : *written) note_pending_sync(log_end_offset_, std::move(f));
  auto old_file = old.file();
  if (!old_file.ok()) return old_file.error();
  note_pending_sync(log_end_offset_, std::move(old_file).value());
  if (auto st = create_active_segment(log_end_offset_, now_ms); !st.ok()) return st;
  remember_open_file(old.base_offset());
  // Restarts replay from here rather than from the log start (best effort: a
  // missing snapshot only means a longer replay).
  if (auto st = producers_.take_snapshot(log_end_offset_); !st.ok()) {
    fmt::print(stderr, "fjord: {}: producer snapshot not written: {}\n", dir_.string(),
               st.error().message);
  }
  return {};
}

Result<std::vector<records::BatchHeader>> PartitionLog::parse_headers(
    std::span<uint8_t> batches) const {
  std::vector<records::BatchHeader> headers;
  for (size_t at = 0; at < batches.size();) {
    std::span<uint8_t> rest = batches.subspan(at);
    if (rest.size() < records::kBatchHeaderSize) {
      return Error{ErrorCode::kCorruptMessage, "truncated record batch"};
    }
    records::BatchHeader h = records::read_header(rest);
    if (h.magic != 2 ||
        h.batch_length <
            static_cast<int32_t>(records::kBatchHeaderSize - records::kBatchLengthPrefix) ||
        h.size_bytes() > rest.size() || h.last_offset_delta < 0) {
      return Error{ErrorCode::kCorruptMessage, "invalid record batch framing"};
    }
    if (h.size_bytes() > static_cast<size_t>(config_.max_message_bytes)) {
      return Error{ErrorCode::kMessageTooLarge,
                   fmt::format("batch of {} bytes exceeds max.message.bytes {}", h.size_bytes(),
                               config_.max_message_bytes)};
    }
    headers.push_back(h);
    at += h.size_bytes();
  }
  if (headers.empty()) return Error{ErrorCode::kCorruptMessage, "no record batch"};
  return headers;
}

Result<AppendResult> PartitionLog::append(std::span<uint8_t> batches, int64_t now_ms,
                                          AppendOrigin origin) {
  // Validate the framing, count and producers first so that a bad input changes nothing.
  auto headers = parse_headers(batches);
  if (!headers.ok()) return headers.error();
  auto verdict = producers_.check(*headers, origin);
  if (!verdict.ok()) return verdict.error();
  if (verdict->duplicate) {
    return AppendResult{verdict->duplicate->first_offset(), verdict->duplicate->last_offset, -1,
                        /*duplicate=*/true};
  }
  auto result = write_batches(batches, *headers, now_ms);
  if (!result.ok()) return result;
  for (const auto& h : *headers) producers_.on_appended(h, now_ms);
  return result;
}

Result<AppendResult> PartitionLog::append_txn_marker(int64_t producer_id, int16_t producer_epoch,
                                                     bool commit, int32_t coordinator_epoch,
                                                     int64_t now_ms) {
  if (auto st = producers_.check_marker(producer_id, producer_epoch); !st.ok()) return st.error();
  records::BatchBuilder builder;
  auto built =
      records::build_end_txn_marker(builder, producer_id, producer_epoch,
                                    records::EndTxnMarker{commit, coordinator_epoch}, now_ms);
  if (!built.ok()) return built.error();
  std::vector<uint8_t> batch(built->begin(), built->end());
  auto headers = parse_headers(batch);
  if (!headers.ok()) return headers.error();
  auto result = write_batches(batch, *headers, now_ms);
  if (!result.ok()) return result;
  const int64_t marker_offset = result->base_offset;
  auto outcome = producers_.on_marker(producer_id, producer_epoch, commit, marker_offset,
                                      active().base_offset(), now_ms);
  if (!outcome.ok()) {
    // The marker is in the log; a restart rebuilds the index from it.
    return Error{ErrorCode::kKafkaStorageError, outcome.error().message};
  }
  if (outcome->index_file) note_pending_sync(marker_offset + 1, outcome->index_file);
  if (outcome->created_file) {
    dir_sync_needed_below_ = std::max(dir_sync_needed_below_, marker_offset + 1);
  }
  return result;
}

Result<AppendResult> PartitionLog::write_batches(std::span<uint8_t> batches,
                                                 std::vector<records::BatchHeader>& headers,
                                                 int64_t now_ms) {
  if (auto st = ensure_active_writable(); !st.ok()) return st.error();
  int64_t incoming_offsets = 0;
  for (const auto& h : headers) incoming_offsets += int64_t{h.last_offset_delta} + 1;
  if (auto st = maybe_roll(batches.size(), incoming_offsets, now_ms); !st.ok()) {
    return st.error();
  }

  AppendResult result{log_end_offset_, 0, config_.log_append_time ? now_ms : -1};
  int64_t next_offset = log_end_offset_;
  size_t at = 0;
  for (auto& h : headers) {
    std::span<uint8_t> batch = batches.subspan(at, h.size_bytes());
    h.base_offset = next_offset;
    records::set_base_offset(batch, next_offset);
    if (config_.log_append_time) {
      h.attributes = static_cast<int16_t>(h.attributes | records::attr::kLogAppendTime);
      h.max_timestamp = now_ms;
      records::write_header(h, batch);
      h.crc = records::compute_batch_crc(batch);
      records::write_header(h, batch);
    }
    next_offset = h.last_offset() + 1;
    at += h.size_bytes();
  }
  Segment& segment = active();
  auto file = segment.file();
  if (!file.ok()) return file.error();
  const uint64_t position = segment.size_bytes();
  if (auto st = (*file)->write_at(position, batches); !st.ok()) {
    (void)(*file)->truncate(position);  // leave no partial batch behind
    return st.error();
  }
  uint64_t batch_position = position;
  for (const auto& h : headers) {
    segment.note_append(batch_info(h, batch_position), config_.index_interval_bytes);
    batch_position += h.size_bytes();
    unflushed_messages_ += std::max(h.records_count, 1);
  }
  size_bytes_ += batches.size();
  if (prepared_offset_ >= log_end_offset_) first_unflushed_ms_ = now_ms;
  log_end_offset_ = next_offset;
  result.last_offset = next_offset - 1;
  return result;
}

std::vector<AbortedRange> PartitionLog::aborted_transactions(int64_t from_offset,
                                                             int64_t upper_offset) const {
  if (from_offset >= upper_offset) return {};
  return producers_.aborted(segment_for(from_offset)->first, from_offset, upper_offset);
}

// ---------------------------------------------------------------------------
// Reading

PartitionLog::SegmentMap::const_iterator PartitionLog::segment_for(int64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it != segments_.begin()) --it;
  return it;
}

void PartitionLog::remember_open_file(int64_t base_offset) const {
  auto& open = open_closed_segments_;
  if (std::find(open.begin(), open.end(), base_offset) != open.end()) return;
  open.push_back(base_offset);
  while (open.size() > kMaxOpenClosedSegments) {
    auto it = segments_.find(open.front());
    const bool is_active = it != segments_.end() && std::next(it) == segments_.end();
    // Files that still hold unsynced bytes stay open for the next sync.
    if (it != segments_.end() && !is_active && segment_end_offset(it) <= durable_offset_) {
      it->second->release_file();
    }
    open.erase(open.begin());
  }
}

Status PartitionLog::read_segment(SegmentMap::const_iterator it, int64_t offset, size_t max_bytes,
                                  int64_t max_offset_exclusive, ReadResult& out, bool& done) const {
  if (auto st = ensure_indexes(it); !st.ok()) return st;
  Segment& segment = *it->second;
  auto file = segment.file();
  if (!file.ok()) return file.error();
  if (std::next(it) != segments_.end()) remember_open_file(it->first);
  uint64_t start = segment.scan_start_position(offset);
  // A consumer reading on from where its last read ended skips the index scan.
  if (read_cursor_.segment_id == segment.id() && read_cursor_.offset <= offset &&
      read_cursor_.position > start && read_cursor_.position <= segment.size_bytes()) {
    start = read_cursor_.position;
  }
  BatchScanner scanner(**file, start, segment.size_bytes(), /*verify_crc=*/false,
                       kReadScanChunkBytes, read_scan_buffer());
  while (true) {
    auto batch = scanner.next();
    if (!batch.ok()) return batch.error();
    if (!*batch) return {};
    const BatchInfo& b = **batch;
    if (b.last_offset < offset) continue;
    if (b.base_offset >= max_offset_exclusive ||
        (out.bytes > 0 && out.bytes + b.size_bytes > max_bytes)) {
      done = true;
      return {};
    }
    read_cursor_ = ReadCursor{segment.id(), b.last_offset + 1, b.position + b.size_bytes};
    auto& ranges = out.ranges;
    if (!ranges.empty() && ranges.back().owner == *file &&
        ranges.back().offset + ranges.back().length == b.position &&
        uint64_t{ranges.back().length} + b.size_bytes <= UINT32_MAX) {
      ranges.back().length += b.size_bytes;
    } else {
      ranges.push_back(FileRange{(*file)->fd(), b.position, b.size_bytes, *file});
    }
    out.bytes += b.size_bytes;
  }
}

Result<ReadResult> PartitionLog::read(int64_t offset, size_t max_bytes,
                                      int64_t max_offset_exclusive) const {
  if (offset < log_start_offset_ || offset > log_end_offset_) {
    return Error{ErrorCode::kOffsetOutOfRange, fmt::format("offset {} outside [{}, {}]", offset,
                                                           log_start_offset_, log_end_offset_)};
  }
  ReadResult out;
  bool done = false;
  for (auto it = segment_for(offset); it != segments_.end() && !done; ++it) {
    if (it->first >= max_offset_exclusive) break;
    auto st = read_segment(it, offset, max_bytes, max_offset_exclusive, out, done);
    if (!st.ok()) return st.error();
    if (out.bytes >= max_bytes) break;
  }
  return out;
}

std::optional<std::pair<int64_t, int64_t>> PartitionLog::offset_for_timestamp_in(
    SegmentMap::const_iterator it, int64_t timestamp_ms) const {
  Segment& segment = *it->second;
  auto file = segment.file();
  if (!file.ok()) return std::nullopt;
  BatchScanner scanner(**file, segment.scan_start_for_timestamp(timestamp_ms), segment.size_bytes(),
                       /*verify_crc=*/false);
  while (true) {
    auto batch = scanner.next();
    if (!batch.ok() || !*batch) return std::nullopt;
    const BatchInfo& b = **batch;
    if (b.max_timestamp_ms >= timestamp_ms && b.last_offset >= log_start_offset_) {
      // Exact record when the records can be read, else the batch's first offset.
      auto found = first_record_at_or_after(**file, b, timestamp_ms)
                       .value_or(std::make_pair(b.max_timestamp_ms, b.base_offset));
      found.second = std::max(found.second, log_start_offset_);
      return found;
    }
  }
}

std::optional<std::pair<int64_t, int64_t>> PartitionLog::offset_for_timestamp(
    int64_t timestamp_ms) const {
  for (auto it = segment_for(log_start_offset_); it != segments_.end(); ++it) {
    if (!ensure_indexes(it).ok()) return std::nullopt;
    auto max = it->second->max_timestamp_and_offset();
    if (!max || max->first < timestamp_ms) continue;
    if (auto found = offset_for_timestamp_in(it, timestamp_ms)) return found;
  }
  return std::nullopt;
}

std::optional<std::pair<int64_t, int64_t>> PartitionLog::max_timestamp_and_offset() const {
  std::optional<std::pair<int64_t, int64_t>> best;
  SegmentMap::const_iterator best_segment = segments_.end();
  for (auto it = segment_for(log_start_offset_); it != segments_.end(); ++it) {
    if (!ensure_indexes(it).ok()) continue;
    auto max = it->second->max_timestamp_and_offset();
    if (max && max->second >= log_start_offset_ && (!best || max->first > best->first)) {
      best = max;
      best_segment = it;
    }
  }
  if (!best) return best;
  // Narrow the batch's last offset down to the record that carries the timestamp.
  Segment& segment = *best_segment->second;
  auto file = segment.file();
  if (!file.ok()) return best;
  BatchScanner scanner(**file, segment.scan_start_position(best->second), segment.size_bytes(),
                       /*verify_crc=*/false);
  while (true) {
    auto batch = scanner.next();
    if (!batch.ok() || !*batch) return best;
    if ((*batch)->last_offset < best->second) continue;
    if (auto exact = first_record_at_or_after(**file, **batch, best->first)) {
      best->second = std::max(exact->second, log_start_offset_);
    }
    return best;
  }
}

// ---------------------------------------------------------------------------
// Retention and DeleteRecords

void PartitionLog::delete_oldest_segments(size_t count) {
  for (size_t i = 0; i < count && !segments_.empty(); ++i) {
    auto it = segments_.begin();
    Segment& segment = *it->second;
    // Open descriptors (fetches being sent) keep the unlinked bytes readable.
    remove_quietly(segment.log_path());
    remove_quietly(segment.index_path());
    remove_quietly(segment.time_index_path());
    producers_.segment_removed(it->first);
    size_bytes_ -= segment.size_bytes();
    std::erase(open_closed_segments_, it->first);
    segments_.erase(it);
  }
  if (!segments_.empty()) producers_.delete_snapshots_before(segments_.begin()->first);
}

Status PartitionLog::write_log_start_checkpoint(bool durable) {
  return write_checkpoint(dir_ / kLogStartCheckpoint, {log_start_offset_}, durable);
}

Status PartitionLog::write_recovery_checkpoint() {
  // Not fsynced: a lost or older recovery point only means a longer scan.
  return write_checkpoint(dir_ / kRecoveryCheckpoint, {recovery_point_}, false);
}

Result<int64_t> PartitionLog::delete_records_before(int64_t offset) {
  if (offset > log_end_offset_ || offset < 0) {
    return Error{ErrorCode::kOffsetOutOfRange,
                 fmt::format("offset {} beyond the log end {}", offset, log_end_offset_)};
  }
  if (offset <= log_start_offset_) return log_start_offset_;
  log_start_offset_ = offset;
  if (auto st = write_log_start_checkpoint(/*durable=*/true); !st.ok()) return st.error();
  size_t deletable = 0;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    if (std::next(it)->first > offset) break;
    ++deletable;
  }
  delete_oldest_segments(deletable);
  return log_start_offset_;
}

// The position of the batch that starts at `offset` in the segment `it`.
Result<uint64_t> PartitionLog::batch_position(SegmentMap::const_iterator it, int64_t offset) const {
  if (offset == it->first) return uint64_t{0};
  if (auto st = ensure_indexes(it); !st.ok()) return st.error();
  Segment& segment = *it->second;
  auto file = segment.file();
  if (!file.ok()) return file.error();
  BatchScanner scanner(**file, segment.scan_start_position(offset), segment.size_bytes(),
                       /*verify_crc=*/false);
  int64_t scanned_end = -1;  // the offset after the last batch scanned
  while (true) {
    auto batch = scanner.next();
    if (!batch.ok()) return batch.error();
    // The end of the segment is a boundary too (the next segment may start later).
    if (!*batch && scanned_end == offset) return segment.size_bytes();
    if (!*batch || (*batch)->base_offset > offset || (*batch)->last_offset >= offset) {
      if (*batch && (*batch)->base_offset == offset) return (*batch)->position;
      return Error{ErrorCode::kInvalidRequest,
                   fmt::format("offset {} is not the start of a batch", offset)};
    }
    scanned_end = (*batch)->last_offset + 1;
  }
}

// Unlinks the newest segment's files and fsyncs the directory, so that a crash
// never leaves a newer segment behind an older one that was removed.
Status PartitionLog::delete_newest_segment() {
  auto it = std::prev(segments_.end());
  Segment& segment = *it->second;
  for (const auto& path : {segment.index_path(), segment.time_index_path(), segment.log_path()}) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("unlink", path, errno);
  }
  producers_.segment_removed(it->first);
  size_bytes_ -= segment.size_bytes();
  std::erase(open_closed_segments_, it->first);
  segments_.erase(it);
  return sync_directory(dir_);
}

Status PartitionLog::truncate_to(int64_t offset, int64_t now_ms) {
  if (offset < log_start_offset_ || offset > log_end_offset_) {
    return Error{ErrorCode::kOffsetOutOfRange, fmt::format("offset {} outside [{}, {}]", offset,
                                                           log_start_offset_, log_end_offset_)};
  }
  if (offset == log_end_offset_) return {};
  if (auto st = ensure_active_writable(); !st.ok()) return st;
  auto holder = segment_for(offset);
  auto position = batch_position(holder, offset);
  const bool start_inside_batch = !position.ok() && position.code() == ErrorCode::kInvalidRequest &&
                                  offset == log_start_offset_;
  if (!position.ok() && !start_inside_batch) return position.error();
  // From the newest segment down: a crash leaves a prefix of the old log.
  while (std::prev(segments_.end())->first > holder->first) {
    if (auto st = delete_newest_segment(); !st.ok()) return st;
  }
  if (position.ok()) {
    Segment& segment = *holder->second;
    const uint64_t old_size = segment.size_bytes();
    if (auto st = segment.truncate(*position, config_.index_interval_bytes); !st.ok()) return st;
    size_bytes_ -= old_size - *position;
  } else {
    // The log start is inside a batch: start an empty log there.
    while (!segments_.empty()) {
      if (auto st = delete_newest_segment(); !st.ok()) return st;
    }
    if (auto st = create_active_segment(offset, now_ms); !st.ok()) return st;
    if (auto st = sync_directory(dir_); !st.ok()) return st;
  }
  log_end_offset_ = offset;
  durable_offset_ = std::min(durable_offset_, offset);
  prepared_offset_ = std::min(prepared_offset_, offset);
  read_cursor_ = ReadCursor{};
  active().set_created_ms(now_ms);
  if (cleaner_offset_ > offset) {
    cleaner_offset_ = offset;
    if (auto st = write_checkpoint(dir_ / kCleanerCheckpoint, {cleaner_offset_}, false); !st.ok()) {
      return st;
    }
  }
  if (recovery_point_ > active().base_offset()) {
    recovery_point_ = active().base_offset();
    if (auto st = write_recovery_checkpoint(); !st.ok()) return st;
  }
  // Snapshots above the new end are dropped and the rest replayed by a fresh tracker.
  producers_ = ProducerTracker(dir_, ProducerStateConfig{});
  return load_producer_state(now_ms);
}

Status PartitionLog::reset_to(int64_t offset, int64_t now_ms) {
  if (offset < log_start_offset_) {
    return Error{ErrorCode::kOffsetOutOfRange,
                 fmt::format("offset {} below the log start {}", offset, log_start_offset_)};
  }
  if (auto st = ensure_active_writable(); !st.ok()) return st;
  while (!segments_.empty()) {
    if (auto st = delete_newest_segment(); !st.ok()) return st;
  }
  log_start_offset_ = offset;
  if (auto st = write_log_start_checkpoint(/*durable=*/true); !st.ok()) return st;
  if (auto st = create_active_segment(offset, now_ms); !st.ok()) return st;
  if (auto st = sync_directory(dir_); !st.ok()) return st;
  log_end_offset_ = durable_offset_ = prepared_offset_ = recovery_point_ = cleaner_offset_ = offset;
  read_cursor_ = ReadCursor{};
  if (auto st = write_checkpoint(dir_ / kCleanerCheckpoint, {cleaner_offset_}, false); !st.ok()) {
    return st;
  }
  if (auto st = write_recovery_checkpoint(); !st.ok()) return st;
  // A producer snapshot at `offset` describes the old log, not this one.
  producers_.delete_snapshots_before(offset + 1);
  producers_ = ProducerTracker(dir_, ProducerStateConfig{});
  return load_producer_state(now_ms);
}

void PartitionLog::enforce_retention(int64_t now_ms) {
  if (!has_delete(config_.cleanup_policy)) return;
  const bool by_time = config_.retention_ms >= 0;
  const bool by_size = config_.retention_bytes >= 0;
  if (!by_time && !by_size) return;
  auto expired = [&](SegmentMap::const_iterator it) {
    if (!by_time || !ensure_indexes(it).ok()) return false;
    auto max = it->second->max_timestamp_and_offset();
    return !max || max->first < now_ms - config_.retention_ms;
  };
  size_t deletable = 0;
  uint64_t remaining_bytes = size_bytes_;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    const bool too_big =
        by_size &&
        static_cast<int64_t>(remaining_bytes - it->second->size_bytes()) >= config_.retention_bytes;
    if (!expired(it) && !too_big) break;
    remaining_bytes -= it->second->size_bytes();
    ++deletable;
  }
  // Everything expired, the active segment too: roll so that its data can go.
  if (deletable + 1 == segments_.size() && active().size_bytes() > 0 &&
      expired(std::prev(segments_.end()))) {
    if (ensure_active_writable().ok() && roll(now_ms).ok()) ++deletable;
  }
  if (deletable == 0) return;
  auto boundary = std::next(segments_.begin(), static_cast<std::ptrdiff_t>(deletable));
  log_start_offset_ = std::max(log_start_offset_, boundary->first);
  (void)write_log_start_checkpoint(/*durable=*/false);
  delete_oldest_segments(deletable);
}

// ---------------------------------------------------------------------------
// Durability

void PartitionLog::note_pending_sync(int64_t needed_below, std::shared_ptr<File> file) {
  pending_sync_.emplace_back(needed_below, std::move(file));
}

PartitionLog::SyncHandle PartitionLog::prepare_sync() {
  SyncHandle handle;
  handle.target_offset = log_end_offset_;
  auto add = [&handle](std::shared_ptr<File> f) {
    if (std::find(handle.fds.begin(), handle.fds.end(), f->fd()) != handle.fds.end()) return;
    handle.fds.push_back(f->fd());
    handle.files.push_back(std::move(f));
  };
  for (const auto& [needed_below, file] : pending_sync_) add(file);
  if (dir_sync_needed_below_ > durable_offset_) {
    // Opened only when needed, so that idle partitions hold no directory
    // descriptor, and kept until durable so that concurrent handles share it.
    if (!pending_dir_file_) {
      if (auto dir = File::open_directory(dir_); dir.ok())
        pending_dir_file_ = std::move(dir).value();
    }
    if (pending_dir_file_) add(pending_dir_file_);
  }
  if (durable_offset_ < log_end_offset_) {
    for (auto it = segment_for(durable_offset_); it != segments_.end(); ++it) {
      auto file = it->second->file();
      if (file.ok()) add(*file);
    }
  }
  // Messages covered by this handle no longer count towards flush.messages.
  unflushed_messages_ = 0;
  prepared_offset_ = log_end_offset_;
  return handle;
}

void PartitionLog::mark_durable(int64_t offset) {
  if (offset > log_end_offset_) std::abort();  // cannot be durable beyond what exists
  std::erase_if(pending_sync_, [offset](const auto& p) { return p.first <= offset; });
  if (offset <= durable_offset_) return;
  if (offset >= dir_sync_needed_below_) {
    dir_sync_needed_below_ = -1;
    pending_dir_file_.reset();
  }
  durable_offset_ = offset;
  const int64_t recovery_point = segment_for(durable_offset_)->first;
  if (recovery_point > recovery_point_) {
    recovery_point_ = recovery_point;
    (void)write_recovery_checkpoint();
  }
}

Status PartitionLog::sync_now() {
  SyncHandle handle = prepare_sync();
  for (const auto& f : handle.files) {
    if (auto st = static_cast<File*>(f.get())->sync(); !st.ok()) return st;
  }
  mark_durable(handle.target_offset);
  return {};
}

bool PartitionLog::needs_flush_by_policy(int64_t now_ms) const {
  if (prepared_offset_ >= log_end_offset_) return false;  // a sync covers everything
  if (unflushed_messages_ >= config_.flush_messages) return true;
  return config_.flush_ms != INT64_MAX && now_ms - first_unflushed_ms_ >= config_.flush_ms;
}

// ---------------------------------------------------------------------------
// Compaction

std::unique_ptr<CompactionJob> PartitionLog::prepare_compaction(int64_t now_ms) {
  if (!has_compact(config_.cleanup_policy) || segments_.size() < 2) return nullptr;
  std::vector<CompactionInput> inputs;
  uint64_t total_bytes = 0;
  uint64_t dirty_bytes = 0;
  // Records of transactions not yet decided must not be compacted: an abort
  // would turn a key's latest value into one that read_committed never sees.
  const auto unstable = producers_.ongoing().first_unstable_offset();
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    if (unstable && segment_end_offset(it) > *unstable) break;
    if (!ensure_indexes(it).ok()) break;
    auto max = it->second->max_timestamp_and_offset();
    // min.compaction.lag.ms: the newest record must be at least this old.
    if (max && max->first > now_ms - config_.min_compaction_lag_ms) break;
    auto file = it->second->file();
    if (!file.ok()) break;
    const int64_t end = segment_end_offset(it);
    const uint64_t size = it->second->size_bytes();
    total_bytes += size;
    if (end > cleaner_offset_) dirty_bytes += size;
    inputs.push_back(CompactionInput{it->first, end, it->second->id(), size, *file});
  }
  if (inputs.empty() || dirty_bytes == 0 ||
      static_cast<double>(dirty_bytes) / static_cast<double>(total_bytes) <
          config_.min_cleanable_dirty_ratio) {
    return nullptr;
  }
  const int64_t end = inputs.back().end_offset;
  return std::make_unique<CompactionJob>(dir_, std::move(inputs), now_ms,
                                         config_.delete_retention_ms, config_.index_interval_bytes,
                                         producers_.aborted_before(end));
}

Status PartitionLog::install_compaction(std::unique_ptr<CompactionJob> job) {
  if (!job || !job->finished()) {
    return Error{ErrorCode::kUnknownServerError, "compaction job did not finish"};
  }
  for (const auto& out : job->outputs()) {
    auto it = segments_.find(out.base_offset);
    // Retention or DeleteRecords may have removed the segment meanwhile.
    if (it == segments_.end() || it->second->id() != out.segment_id) {
      remove_quietly(out.log_path);
      remove_quietly(out.index_path);
      remove_quietly(out.time_index_path);
      continue;
    }
    Segment& old = *it->second;
    // Index files first: a crash in between leaves a missing index (rebuilt at
    // open), never an index of the other file.
    remove_quietly(old.index_path());
    remove_quietly(old.time_index_path());
    if (::rename(out.log_path.c_str(), old.log_path().c_str()) != 0) {
      return io_error("rename", out.log_path, errno);
    }
    (void)::rename(out.index_path.c_str(), old.index_path().c_str());
    (void)::rename(out.time_index_path.c_str(), old.time_index_path().c_str());
    size_bytes_ = size_bytes_ - old.size_bytes() + out.size_bytes;
    std::erase(open_closed_segments_, it->first);
    // Readers holding the old file keep reading the old inode.
    it->second = std::make_unique<Segment>(dir_, out.base_offset, out.size_bytes);
  }
  job->mark_installed();
  cleaner_offset_ = std::max(cleaner_offset_, job->end_offset());
  return write_checkpoint(dir_ / kCleanerCheckpoint, {cleaner_offset_}, false);
}

void PartitionLog::release_idle_files() {
  // Files with unsynced bytes stay open until a sync has covered them; the
  // active segment's file is reopened by the next append.
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    if (segment_end_offset(it) <= durable_offset_) it->second->release_file();
  }
  open_closed_segments_.clear();
}

Status PartitionLog::close() {
  if (closed_) return {};
  if (!clean_marker_present_) {
    if (auto st = ensure_indexes(std::prev(segments_.end())); !st.ok()) return st;
    auto written = active().write_indexes();
    if (!written.ok()) return written.error();
    for (auto& f : *written) note_pending_sync(log_end_offset_, std::move(f));
    if (auto st = sync_now(); !st.ok()) return st;  // data and the index files
    recovery_point_ = log_end_offset_;
    if (auto st = write_recovery_checkpoint(); !st.ok()) return st;
    // The next open restores producers from here without reading the log.
    if (auto st = producers_.take_snapshot(log_end_offset_); !st.ok()) return st;
    // Not fsynced: a lost or damaged marker only means a recovery scan at open.
    const std::vector<int64_t> marker = {log_end_offset_, active().base_offset(),
                                         static_cast<int64_t>(active().size_bytes())};
    if (auto st = write_checkpoint(dir_ / kCleanShutdownMarker, marker, false); !st.ok()) {
      return st;
    }
    clean_marker_present_ = true;
  }
  for (auto& [base, segment] : segments_) segment->release_file();
  open_closed_segments_.clear();
  closed_ = true;
  return {};
}

}  // namespace fjord::storage
