#include "metadata/metadata_log.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>

#include "records/batch.h"
#include "records/builder.h"
#include "records/record.h"

namespace fjord::metadata {
namespace {

constexpr size_t kReadChunkBytes = 1 << 20;
constexpr size_t kMaxRecordsBytes = 64 << 20;

// Reads the bytes of file ranges returned by PartitionLog::read.
Status read_ranges(const std::vector<FileRange>& ranges, std::vector<uint8_t>& out) {
  for (const auto& range : ranges) {
    const size_t start = out.size();
    out.resize(start + range.length);
    size_t done = 0;
    while (done < range.length) {
      ssize_t n = ::pread(range.fd, out.data() + start + done, range.length - done,
                          static_cast<off_t>(range.offset + done));
      if (n <= 0) {
        return Error{ErrorCode::kKafkaStorageError, "short read of the metadata log"};
      }
      done += static_cast<size_t>(n);
    }
  }
  return {};
}

}  // namespace

Result<MetadataRecordView> parse_metadata_record(std::span<const uint8_t> value) {
  protocol::Reader reader(value);
  const uint32_t frame_version = reader.read_uvarint();
  const uint32_t type = reader.read_uvarint();
  const uint32_t version = reader.read_uvarint();
  if (!reader.ok() || frame_version != 1 || type > 0x7fff || version > 0x7fff) {
    return Error{ErrorCode::kCorruptMessage, "bad metadata record frame"};
  }
  return MetadataRecordView{static_cast<int16_t>(type), static_cast<int16_t>(version),
                            value.subspan(reader.position())};
}

MetadataLog::MetadataLog(std::unique_ptr<storage::PartitionLog> log) : log_(std::move(log)) {}

MetadataLog::~MetadataLog() = default;

Result<std::unique_ptr<MetadataLog>> MetadataLog::open(const std::filesystem::path& dir,
                                                       int64_t now_ms) {
  storage::LogConfig config;
  config.retention_ms = -1;  // the metadata history is kept (snapshots come with Raft)
  config.retention_bytes = -1;
  config.segment_bytes = 64 << 20;
  auto log = storage::PartitionLog::open(dir, config, now_ms);
  if (!log) return log.error();
  return std::unique_ptr<MetadataLog>(new MetadataLog(std::move(*log)));
}

int64_t MetadataLog::end_offset() const { return log_->log_end_offset(); }

Status MetadataLog::replay(
    int64_t from_offset,
    const std::function<Status(int64_t offset, const MetadataRecordView&)>& apply) {
  int64_t offset = std::max(from_offset, log_->log_start_offset());
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> scratch;
  while (offset < log_->log_end_offset()) {
    auto read = log_->read(offset, kReadChunkBytes, log_->log_end_offset());
    if (!read) return read.error();
    if (read->bytes == 0) break;
    bytes.clear();
    if (Status s = read_ranges(read->ranges, bytes); !s) return s;
    std::span<const uint8_t> rest(bytes);
    while (rest.size() >= records::kBatchHeaderSize) {
      auto header = records::check_batch_framing(rest);
      if (!header) break;  // a partial batch at the end of this read
      const auto batch = rest.first(header->size_bytes());
      if (!header->is_control()) {
        auto applied = records::for_each_record(
            batch, scratch, kMaxRecordsBytes, [&](const records::Record& record) -> Status {
              const int64_t record_offset = header->base_offset + record.offset_delta;
              if (!record.value || record_offset < from_offset) return {};
              auto view = parse_metadata_record(*record.value);
              if (!view) return view.error();
              return apply(record_offset, *view);
            });
        if (!applied) return applied.error();
      }
      offset = header->last_offset() + 1;
      rest = rest.subspan(header->size_bytes());
    }
  }
  return {};
}

Result<int64_t> MetadataLog::append(const std::vector<std::vector<uint8_t>>& records,
                                    int64_t now_ms) {
  records::BatchBuilder builder;
  for (const auto& value : records) {
    Status s = builder.append(now_ms, std::nullopt, records::Bytes(value));
    if (!s) return s.error();
  }
  auto built = builder.build();
  if (!built) return built.error();
  std::vector<uint8_t> batch(built->begin(), built->end());
  auto appended = log_->append(batch, now_ms);
  if (!appended) return appended.error();
  // Metadata changes are rare and acknowledged only once durable: sync here.
  if (Status s = log_->sync_now(); !s) return s.error();
  return appended->last_offset;
}

Status MetadataLog::close() { return log_->close(); }

}  // namespace fjord::metadata
