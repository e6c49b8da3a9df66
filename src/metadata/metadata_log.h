// MetadataLog: the durable log of cluster metadata records (KRaft's record
// types: TopicRecord, PartitionRecord, ConfigRecord, RemoveTopicRecord), stored
// as record batches in an ordinary partition log under
// <data>/__cluster_metadata-0. Each change is one batch, so a change is applied
// whole or not at all after a crash. The Raft controller of a later issue
// replicates this same log. Format: docs/metadata-log.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "common/result.h"
#include "protocol/wire.h"
#include "storage/partition_log.h"

namespace fjord::metadata {

// The metadata log lives in the data dir as partition 0 of this (reserved) topic.
inline constexpr std::string_view kMetadataTopic = "__cluster_metadata";

// ConfigRecord.ResourceType of topic configs (Kafka's ConfigResource.Type.TOPIC).
inline constexpr int8_t kTopicResourceType = 2;

// One metadata record as stored in a record's value: frame version 1, then the
// record type (apiKey), its version, and the body in flexible encoding.
struct MetadataRecordView {
  int16_t type = 0;
  int16_t version = 0;
  std::span<const uint8_t> body;
};

// Encodes a generated metadata record (e.g. protocol::metadata::TopicRecord) into
// a framed record value.
template <typename Record>
std::vector<uint8_t> frame_metadata_record(const Record& record, int16_t version) {
  OutboundMessage out;
  protocol::Writer w(out);
  w.write_uvarint(1);
  w.write_uvarint(static_cast<uint32_t>(Record::kApiKey));
  w.write_uvarint(static_cast<uint32_t>(version));
  record.encode(w, version);
  return std::move(out.bytes);
}

Result<MetadataRecordView> parse_metadata_record(std::span<const uint8_t> value);

class MetadataLog {
 public:
  static Result<std::unique_ptr<MetadataLog>> open(const std::filesystem::path& dir,
                                                   int64_t now_ms);
  ~MetadataLog();

  // Calls `apply` for every record at or after `from_offset` in log order
  // (start-up replay, after the snapshot that covers the log below from_offset).
  Status replay(int64_t from_offset,
                const std::function<Status(int64_t offset, const MetadataRecordView&)>& apply);

  // The offset the next record gets.
  int64_t end_offset() const;

  // Appends the records as one batch and fsyncs it before returning. Returns the
  // offset of the last record.
  Result<int64_t> append(const std::vector<std::vector<uint8_t>>& records, int64_t now_ms);

  Status close();

 private:
  explicit MetadataLog(std::unique_ptr<storage::PartitionLog> log);
  std::unique_ptr<storage::PartitionLog> log_;
};

}  // namespace fjord::metadata
