#include "storage/segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace fjord::storage {
namespace {

std::atomic<uint64_t> next_segment_id{1};

std::optional<std::vector<uint8_t>> read_optional(const std::filesystem::path& path) {
  auto bytes = read_whole_file(path);
  if (!bytes.ok()) return std::nullopt;
  return std::move(bytes).value();
}

}  // namespace

std::string segment_file_stem(int64_t base_offset) { return fmt::format("{:020d}", base_offset); }

std::optional<int64_t> parse_segment_file_stem(std::string_view stem) {
  if (stem.size() != 20) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), value);
  if (ec != std::errc() || end != stem.data() + stem.size() || value < 0) return std::nullopt;
  return value;
}

Segment::Segment(std::filesystem::path dir, int64_t base_offset, uint64_t size_bytes)
    : dir_(std::move(dir)), base_offset_(base_offset), size_bytes_(size_bytes),
      id_(next_segment_id.fetch_add(1)) {}

std::filesystem::path Segment::log_path() const {
  return dir_ / (segment_file_stem(base_offset_) + ".log");
}
std::filesystem::path Segment::index_path() const {
  return dir_ / (segment_file_stem(base_offset_) + ".index");
}
std::filesystem::path Segment::time_index_path() const {
  return dir_ / (segment_file_stem(base_offset_) + ".timeindex");
}

Result<std::shared_ptr<File>> Segment::file() {
  if (!file_) {
    auto opened = File::open(log_path(), O_RDWR | O_CREAT);
    if (!opened.ok()) return opened.error();
    file_ = std::move(opened).value();
  }
  return file_;
}

void Segment::reset_index_state() {
  offset_index_ = OffsetIndex();
  time_index_ = TimeIndex();
  bytes_since_index_entry_ = 0;
  max_timestamp_ms_ = -1;
  offset_of_max_timestamp_ = -1;
  has_batches_ = false;
}

void Segment::unload_indexes() {
  reset_index_state();
  indexes_loaded_ = false;
}

Status Segment::load_indexes(int64_t end_offset, int32_t index_interval_bytes) {
  if (indexes_loaded_) return {};
  const IndexBounds bounds{size_bytes_, static_cast<uint64_t>(end_offset - base_offset_)};
  auto offset_bytes = read_optional(index_path());
  auto time_bytes = read_optional(time_index_path());
  std::optional<OffsetIndex> offsets;
  std::optional<TimeIndex> times;
  if (offset_bytes && time_bytes) {
    offsets = OffsetIndex::parse(*offset_bytes, bounds);
    times = TimeIndex::parse(*time_bytes, bounds);
  }
  // A non-empty segment always has a first offset entry and a closing time entry.
  const bool usable = offsets && times &&
                      (size_bytes_ == 0 || (!offsets->entries().empty() && times->last()));
  if (!usable) {
    if (auto st = rebuild_indexes(index_interval_bytes); !st.ok()) return st;
    auto written = write_indexes();  // best effort: a failure only means another rebuild
    (void)written;
    return {};
  }
  reset_index_state();
  offset_index_ = std::move(*offsets);
  time_index_ = std::move(*times);
  has_batches_ = size_bytes_ > 0;
  if (auto last = time_index_.last()) {
    max_timestamp_ms_ = last->timestamp_ms;
    offset_of_max_timestamp_ = base_offset_ + last->relative_offset;
  }
  if (!offset_index_.entries().empty()) {
    bytes_since_index_entry_ = size_bytes_ - offset_index_.entries().back().position;
  }
  indexes_loaded_ = true;
  return {};
}

Status Segment::rebuild_indexes(int32_t index_interval_bytes) {
  auto f = file();
  if (!f.ok()) return f.error();
  reset_index_state();
  const uint64_t total_bytes = size_bytes_;
  size_bytes_ = 0;
  BatchScanner scanner(**f, 0, total_bytes, /*verify_crc=*/false);
  while (true) {
    auto batch = scanner.next();
    if (!batch.ok()) {
      size_bytes_ = total_bytes;
      unload_indexes();
      return batch.error();
    }
    if (!*batch) break;
    note_append(**batch, index_interval_bytes);
  }
  indexes_loaded_ = true;
  return {};
}

bool Segment::index_full(int32_t segment_index_bytes) const {
  const auto limit = static_cast<size_t>(std::max(segment_index_bytes, 24));
  return offset_index_.size_bytes() + kOffsetIndexEntryBytes > limit ||
         time_index_.size_bytes() + 2 * kTimeIndexEntryBytes > limit;
}

uint64_t Segment::scan_start_position(int64_t offset) const {
  if (offset <= base_offset_) return 0;
  const int64_t relative = offset - base_offset_;
  if (relative > static_cast<int64_t>(UINT32_MAX)) return 0;
  auto entry = offset_index_.floor(static_cast<uint32_t>(relative));
  return entry ? entry->position : 0;
}

uint64_t Segment::scan_start_for_timestamp(int64_t timestamp_ms) const {
  auto entry = time_index_.last_before(timestamp_ms);
  if (!entry) return 0;
  return scan_start_position(base_offset_ + entry->relative_offset);
}

std::optional<std::pair<int64_t, int64_t>> Segment::max_timestamp_and_offset() const {
  if (!has_batches_ || offset_of_max_timestamp_ < 0) return std::nullopt;
  return std::make_pair(max_timestamp_ms_, offset_of_max_timestamp_);
}

void Segment::note_append(const BatchInfo& batch, int32_t index_interval_bytes) {
  if (batch.position != size_bytes_) {
    std::abort();  // appends only ever go to the end of the segment
  }
  if (!has_batches_ || batch.max_timestamp_ms > max_timestamp_ms_) {
    max_timestamp_ms_ = batch.max_timestamp_ms;
    offset_of_max_timestamp_ = batch.last_offset;
  }
  const bool index_due = !has_batches_ ||
                         bytes_since_index_entry_ >= static_cast<uint64_t>(index_interval_bytes);
  if (index_due) {
    offset_index_.append({static_cast<uint32_t>(batch.base_offset - base_offset_),
                          static_cast<uint32_t>(batch.position)});
    auto last_time = time_index_.last();
    if (!last_time || max_timestamp_ms_ > last_time->timestamp_ms) {
      time_index_.append(
          {max_timestamp_ms_, static_cast<uint32_t>(offset_of_max_timestamp_ - base_offset_)});
    }
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += batch.size_bytes;
  has_batches_ = true;
  size_bytes_ = batch.position + batch.size_bytes;
}

void Segment::finish_time_index() {
  if (!has_batches_) return;
  auto last_time = time_index_.last();
  if (!last_time || max_timestamp_ms_ > last_time->timestamp_ms) {
    time_index_.append(
        {max_timestamp_ms_, static_cast<uint32_t>(offset_of_max_timestamp_ - base_offset_)});
  }
}

Result<std::vector<std::shared_ptr<File>>> Segment::write_indexes() {
  finish_time_index();
  std::vector<std::shared_ptr<File>> written;
  const std::pair<std::filesystem::path, std::vector<uint8_t>> outputs[] = {
      {index_path(), offset_index_.serialize()}, {time_index_path(), time_index_.serialize()}};
  for (const auto& [path, bytes] : outputs) {
    auto f = File::open(path, O_WRONLY | O_CREAT | O_TRUNC);
    if (!f.ok()) return f.error();
    if (auto st = (*f)->write_at(0, bytes); !st.ok()) return st.error();
    written.push_back(std::move(f).value());
  }
  return written;
}

Result<SegmentRecovery> Segment::recover(int64_t min_base_offset, int64_t end_offset_limit,
                                         int32_t index_interval_bytes) {
  auto f = file();
  if (!f.ok()) return f.error();
  auto actual_size = (*f)->size_bytes();
  if (!actual_size.ok()) return actual_size.error();
  const uint64_t scanned_size = *actual_size;
  reset_index_state();
  size_bytes_ = 0;
  indexes_loaded_ = true;
  SegmentRecovery outcome;
  int64_t next_min_base = std::max(min_base_offset, base_offset_);
  BatchScanner scanner(**f, 0, scanned_size, /*verify_crc=*/true, 1 << 20);
  while (true) {
    const uint64_t at = scanner.position();
    auto batch = scanner.next();
    if (!batch.ok() && batch.code() == ErrorCode::kKafkaStorageError) return batch.error();
    const bool valid = batch.ok() && *batch && (*batch)->base_offset >= next_min_base &&
                       (*batch)->last_offset < end_offset_limit &&
                       (*batch)->last_offset - base_offset_ <= int64_t{UINT32_MAX};
    if (batch.ok() && !*batch) break;
    if (!valid) {
      if (auto st = (*f)->truncate(at); !st.ok()) return st.error();
      outcome.truncated = true;
      break;
    }
    note_append(**batch, index_interval_bytes);
    outcome.last_offset = (*batch)->last_offset;
    next_min_base = outcome.last_offset + 1;
  }
  return outcome;
}

Status Segment::truncate(uint64_t position, int32_t index_interval_bytes) {
  auto f = file();
  if (!f.ok()) return f.error();
  if (auto st = (*f)->truncate(position); !st.ok()) return st;
  if (auto st = (*f)->sync(); !st.ok()) return st;
  for (const auto& path : {index_path(), time_index_path()}) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error("unlink", path, errno);
  }
  size_bytes_ = position;
  return rebuild_indexes(index_interval_bytes);
}

}  // namespace fjord::storage
