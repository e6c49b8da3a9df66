// One segment of a partition log: `<base>.log` plus its two indexes. The log file
// is opened lazily and can be released when idle; the indexes are loaded lazily
// (closed segments) or kept in memory while the segment is active.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/batch_scanner.h"
#include "storage/file.h"
#include "storage/index.h"

namespace fjord::storage {

std::string segment_file_stem(int64_t base_offset);  // 20 digits
std::optional<int64_t> parse_segment_file_stem(std::string_view stem);

// The result of a recovery scan of one segment.
struct SegmentRecovery {
  int64_t last_offset = -1;  // of the last valid batch, -1 if none
  bool truncated = false;    // an invalid or torn batch was cut off
};

class Segment {
 public:
  Segment(std::filesystem::path dir, int64_t base_offset, uint64_t size_bytes);

  int64_t base_offset() const { return base_offset_; }
  uint64_t size_bytes() const { return size_bytes_; }
  uint64_t id() const { return id_; }
  std::filesystem::path log_path() const;
  std::filesystem::path index_path() const;
  std::filesystem::path time_index_path() const;

  Result<std::shared_ptr<File>> file();  // opens the .log on first use
  bool file_is_open() const { return file_ != nullptr; }
  void release_file() { file_.reset(); }

  // Indexes. `end_offset` is the next segment's base (or the log end): entries
  // must stay below it. load_indexes reads and checks the files and rebuilds
  // them (by a header scan) when they are missing or invalid.
  bool indexes_loaded() const { return indexes_loaded_; }
  Status load_indexes(int64_t end_offset, int32_t index_interval_bytes);
  void unload_indexes();
  // A new, empty segment: empty indexes in memory, no index files yet.
  void start_empty() { indexes_loaded_ = true; }
  const OffsetIndex& offset_index() const { return offset_index_; }
  const TimeIndex& time_index() const { return time_index_; }
  bool index_full(int32_t segment_index_bytes) const;
  // Position of the batch at or before `offset` to start a forward scan from.
  uint64_t scan_start_position(int64_t offset) const;
  uint64_t scan_start_for_timestamp(int64_t timestamp_ms) const;
  // Largest batch maxTimestamp and that batch's last offset; nullopt if empty.
  std::optional<std::pair<int64_t, int64_t>> max_timestamp_and_offset() const;

  // Bookkeeping of one batch appended at the end of the segment (file already written).
  void note_append(const BatchInfo& batch, int32_t index_interval_bytes);
  // Adds the closing time-index entry (the segment's largest timestamp).
  void finish_time_index();
  // finish_time_index(), then writes both index files; the written
  // files are returned so that the caller can have them fsynced.
  Result<std::vector<std::shared_ptr<File>>> write_indexes();

  // Scans the whole segment verifying CRCs and offsets (batches must start at or
  // after min_base_offset and end before end_offset_limit), truncates the file at
  // the first invalid batch and rebuilds the indexes in memory.
  Result<SegmentRecovery> recover(int64_t min_base_offset, int64_t end_offset_limit,
                                  int32_t index_interval_bytes);
  // Cuts the log file at `position` (a batch boundary) and fsyncs it, deletes the
  // index files (now stale) and rebuilds the indexes in memory by a header scan.
  Status truncate(uint64_t position, int32_t index_interval_bytes);

  int64_t created_ms() const { return created_ms_; }
  void set_created_ms(int64_t ms) { created_ms_ = ms; }

 private:
  void reset_index_state();
  Status rebuild_indexes(int32_t index_interval_bytes);

  std::filesystem::path dir_;
  int64_t base_offset_;
  uint64_t size_bytes_;
  uint64_t id_;
  std::shared_ptr<File> file_;
  bool indexes_loaded_ = false;
  OffsetIndex offset_index_;
  TimeIndex time_index_;
  uint64_t bytes_since_index_entry_ = 0;
  int64_t max_timestamp_ms_ = -1;
  int64_t offset_of_max_timestamp_ = -1;
  bool has_batches_ = false;
  int64_t created_ms_ = 0;
};

}  // namespace fjord::storage
