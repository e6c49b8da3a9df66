#include "metadata/snapshot.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "common/endian.h"
#include "metadata/controller_registration.h"
#include "metadata/metadata_log.h"
#include "metadata/state_machine.h"
#include "protocol/generated/metadata/config_record.h"
#include "protocol/generated/metadata/partition_record.h"
#include "protocol/generated/metadata/producer_ids_record.h"
#include "protocol/generated/metadata/register_broker_record.h"
#include "protocol/generated/metadata/topic_record.h"
#include "protocol/generated/snapshot_footer_record.h"
#include "protocol/generated/snapshot_header_record.h"
#include "records/builder.h"
#include "records/control.h"
#include "records/record.h"
#include "storage/file.h"

namespace fjord::metadata {
namespace {

constexpr size_t kBatchBytes = 1 << 20;  // records per data batch, before the next one starts
constexpr size_t kMaxRecordsBytes = 64 << 20;
constexpr int16_t kRegisterBrokerVersion = 2;
namespace pm = protocol::metadata;

template <typename Message>
std::vector<uint8_t> encode(const Message& message, int16_t version) {
  OutboundMessage out;
  protocol::Writer w(out);
  message.encode(w, version);
  return std::move(out.bytes);
}

// Appends record batches: control batches of one record and data batches of
// framed metadata records, at consecutive offsets from 0.
class SnapshotWriter {
 public:
  SnapshotWriter(int32_t epoch, int64_t timestamp_ms) : epoch_(epoch), timestamp_ms_(timestamp_ms) {
    builder_.reset(options(false));
  }

  void control(records::ControlType type, const std::vector<uint8_t>& value) {
    flush();
    std::array<uint8_t, 4> key{};
    store_be<int16_t>(key.data(), 0);  // control key version
    store_be<int16_t>(key.data() + 2, static_cast<int16_t>(type));
    builder_.reset(options(true));
    check(builder_.append(timestamp_ms_, records::Bytes(key), records::Bytes(value)));
    flush();
  }

  template <typename Record>
  void add(const Record& record, int16_t version) {
    const std::vector<uint8_t> value = frame_metadata_record(record, version);
    check(builder_.append(timestamp_ms_, std::nullopt, records::Bytes(value)));
    if (builder_.uncompressed_size_bytes() >= kBatchBytes) flush();
  }

  std::vector<uint8_t> finish() {
    flush();
    return std::move(out_);
  }

 private:
  records::BatchOptions options(bool control) const {
    records::BatchOptions o;
    o.base_offset = next_offset_;
    o.partition_leader_epoch = epoch_;
    o.control = control;
    return o;
  }
  void flush() {
    if (builder_.records_count() == 0) return;
    const int32_t count = builder_.records_count();
    auto built = builder_.build();
    check(built.ok() ? Status{} : Status{built.error()});
    out_.insert(out_.end(), built->begin(), built->end());
    next_offset_ += count;
    builder_.reset(options(false));
  }
  // Encoding an image cannot fail unless a record exceeds 64 MiB: a bug.
  static void check(const Status& s) {
    if (!s) {
      fmt::print(stderr, "metadata snapshot: {}\n", s.error().message);
      std::abort();
    }
  }

  int32_t epoch_;
  int64_t timestamp_ms_;
  int64_t next_offset_ = 0;
  records::BatchBuilder builder_;
  std::vector<uint8_t> out_;
};

void write_brokers(const MetadataImage& image, SnapshotWriter& w) {
  for (const auto& [id, broker] : image.brokers) {
    pm::RegisterBrokerRecord r;
    r.broker_id = id;
    r.incarnation_id = broker.incarnation;
    r.broker_epoch = broker.epoch;
    for (const auto& e : broker.endpoints) {
      pm::RegisterBrokerRecord::BrokerEndpoint endpoint;
      endpoint.name = e.listener;
      endpoint.host = e.host;
      endpoint.port = e.port;
      r.end_points.push_back(std::move(endpoint));
    }
    r.rack = broker.rack;
    r.fenced = broker.fenced;
    w.add(r, kRegisterBrokerVersion);
  }
}

void write_controllers(const MetadataImage& image, SnapshotWriter& w) {
  for (const auto& [id, controller] : image.controllers) {
    w.add(register_controller_record(controller), 0);
  }
}

void write_topic(const TopicInfo& topic, SnapshotWriter& w) {
  pm::TopicRecord t;
  t.name = topic.name;
  t.topic_id = topic.id;
  w.add(t, 0);
  pm::PartitionRecord p;
  p.topic_id = topic.id;
  for (size_t i = 0; i < topic.partitions.size(); ++i) {
    const PartitionInfo& info = topic.partitions[i];
    p.partition_id = static_cast<int32_t>(i);
    p.replicas = info.replicas;
    p.isr = info.isr;
    p.leader = info.leader;
    p.leader_epoch = info.leader_epoch;
    p.partition_epoch = info.partition_epoch;
    w.add(p, 0);
  }
  for (const auto& [key, value] : topic.configs) {
    pm::ConfigRecord c;
    c.resource_type = kTopicResourceType;
    c.resource_name = topic.name;
    c.name = key;
    c.value = value;
    w.add(c, 0);
  }
}

Error corrupt(std::string message) { return Error{ErrorCode::kCorruptMessage, std::move(message)}; }

// Reads the snapshot's control records: the header must come first, the
// footer last; other control types (none today) are skipped.
class SnapshotReader {
 public:
  SnapshotReader(int64_t end_offset, MetadataStateMachine& state_machine)
      : end_offset_(end_offset), state_machine_(state_machine) {}

  Status batch(records::Bytes batch, const records::BatchHeader& header) {
    if (saw_footer_) return corrupt("batches after the SnapshotFooter");
    if (!saw_header_ && !header.is_control()) {
      return corrupt("the first batch is not the SnapshotHeader");
    }
    auto read = records::for_each_record(
        batch, scratch_, kMaxRecordsBytes, [&](const records::Record& record) -> Status {
          return header.is_control() ? control(record) : data(record);
        });
    if (!read) return read.error();
    return {};
  }

  Status finish() const {
    if (!saw_header_ || !saw_footer_) {
      return corrupt("no SnapshotFooter: the snapshot is truncated");
    }
    return {};
  }

 private:
  Status control(const records::Record& record) {
    auto type = records::control_type(record);
    if (!type) return corrupt("a control record without a valid key");
    if (!saw_header_ && *type != records::ControlType::kSnapshotHeader) {
      return corrupt("the first record is not the SnapshotHeader");
    }
    if (*type == records::ControlType::kSnapshotHeader) {
      if (saw_header_) return corrupt("a second SnapshotHeader");
      if (Status s = check_version<protocol::SnapshotHeaderRecord>(record); !s) return s;
      saw_header_ = true;
    } else if (*type == records::ControlType::kSnapshotFooter) {
      if (Status s = check_version<protocol::SnapshotFooterRecord>(record); !s) return s;
      saw_footer_ = true;
    }
    return {};
  }

  template <typename Message>
  static Status check_version(const records::Record& record) {
    if (!record.value) return corrupt("a snapshot control record without a value");
    Message message;
    protocol::Reader reader(*record.value);
    message.decode(reader, 0);
    if (!reader.ok() || message.version != 0) {
      return corrupt("a snapshot header or footer that is not version 0");
    }
    return {};
  }

  Status data(const records::Record& record) {
    if (!record.value) return corrupt("a metadata record without a value");
    auto view = parse_metadata_record(*record.value);
    if (!view) return view.error();
    if (Status s = check_order(*view); !s) return s;
    // Offsets inside a snapshot mean nothing: every record is "at" its end.
    return state_machine_.apply(end_offset_ - 1, *view);
  }

  // A topic's partitions follow its TopicRecord in partition order (the
  // format says so), which also keeps a bad partition id from making the image
  // allocate a huge topic. PartitionRecord's body starts with PartitionId
  // (int32) and TopicId (uuid), read here without decoding the rest.
  Status check_order(const MetadataRecordView& view) {
    if (view.type == pm::TopicRecord::kApiKey) {
      auto topic = decode_topic(view);
      if (!topic) return topic.error();
      topic_id_ = topic->topic_id;
      next_partition_ = 0;
    } else if (view.type == pm::PartitionRecord::kApiKey) {
      protocol::Reader reader(view.body);
      const int32_t partition = reader.read_int32();
      const protocol::Uuid topic_id = reader.read_uuid();
      if (!reader.ok() || !topic_id_ || topic_id != *topic_id_ || partition != next_partition_) {
        return corrupt(
            fmt::format("PartitionRecord for partition {} out of order (expected "
                        "partition {} of the topic just before it)",
                        partition, next_partition_));
      }
      ++next_partition_;
    }
    return {};
  }
  static Result<pm::TopicRecord> decode_topic(const MetadataRecordView& view) {
    pm::TopicRecord topic;
    protocol::Reader reader(view.body);
    topic.decode(reader, view.version);
    if (!reader.ok()) return corrupt("a TopicRecord that cannot be decoded");
    return topic;
  }

  int64_t end_offset_;
  MetadataStateMachine& state_machine_;
  std::optional<protocol::Uuid> topic_id_;
  int32_t next_partition_ = 0;
  std::vector<uint8_t> scratch_;
  bool saw_header_ = false;
  bool saw_footer_ = false;
};

}  // namespace

std::vector<uint8_t> write_snapshot(const MetadataImage& image, int32_t epoch,
                                    int64_t timestamp_ms) {
  SnapshotWriter w(epoch, timestamp_ms);
  protocol::SnapshotHeaderRecord header;
  header.last_contained_log_timestamp = timestamp_ms;
  w.control(records::ControlType::kSnapshotHeader, encode(header, 0));
  if (image.next_producer_id > 0) {
    pm::ProducerIdsRecord r;
    r.broker_id = 0;
    r.next_producer_id = image.next_producer_id;
    w.add(r, 0);
  }
  write_brokers(image, w);
  write_controllers(image, w);
  for (const auto& [name, topic] : image.topics) write_topic(*topic, w);
  w.control(records::ControlType::kSnapshotFooter, encode(protocol::SnapshotFooterRecord{}, 0));
  return w.finish();
}

Result<std::shared_ptr<const MetadataImage>> load_snapshot(std::span<const uint8_t> bytes,
                                                           int64_t end_offset,
                                                           const std::string& cluster_id) {
  if (end_offset < 0) return corrupt(fmt::format("snapshot end offset {} < 0", end_offset));
  auto initial = std::make_shared<MetadataImage>();
  initial->cluster_id = cluster_id;
  initial->last_applied_offset = end_offset - 1;
  MetadataStateMachine state_machine(std::move(initial));
  SnapshotReader reader(end_offset, state_machine);
  size_t position = 0;
  while (position < bytes.size()) {
    auto header = records::check_batch_framing(bytes.subspan(position));
    if (!header) {
      return corrupt(fmt::format("batch at byte {}: {}", position, header.error().message));
    }
    if (Status s = reader.batch(bytes.subspan(position, header->size_bytes()), *header); !s) {
      return corrupt(fmt::format("batch at byte {}: {}", position, s.error().message));
    }
    position += header->size_bytes();
  }
  if (Status s = reader.finish(); !s) return s.error();
  state_machine.publish();
  return state_machine.image();
}

std::string snapshot_file_name(const SnapshotId& id) {
  return fmt::format("{:020d}-{:010d}.checkpoint", id.end_offset, id.epoch);
}

std::optional<SnapshotId> parse_snapshot_file_name(const std::string& name) {
  constexpr std::string_view kSuffix = ".checkpoint";
  if (name.size() != 20 + 1 + 10 + kSuffix.size() || name[20] != '-' ||
      name.substr(31) != kSuffix) {
    return std::nullopt;
  }
  SnapshotId id;
  auto [end1, ec1] = std::from_chars(name.data(), name.data() + 20, id.end_offset);
  auto [end2, ec2] = std::from_chars(name.data() + 21, name.data() + 31, id.epoch);
  if (ec1 != std::errc() || end1 != name.data() + 20 || ec2 != std::errc() ||
      end2 != name.data() + 31 || id.end_offset < 0 || id.epoch < 0) {
    return std::nullopt;
  }
  return id;
}

Result<std::filesystem::path> write_snapshot_file(const std::filesystem::path& dir,
                                                  const MetadataImage& image, int32_t epoch,
                                                  int64_t timestamp_ms) {
  const SnapshotId id{image.last_applied_offset + 1, epoch};
  const auto path = dir / snapshot_file_name(id);
  const std::vector<uint8_t> bytes = write_snapshot(image, epoch, timestamp_ms);
  if (Status s = storage::write_file_atomically(path, bytes, true); !s) return s.error();
  return path;
}

Result<std::vector<SnapshotId>> list_snapshots(const std::filesystem::path& dir) {
  std::vector<SnapshotId> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (auto id = parse_snapshot_file_name(entry.path().filename().string())) ids.push_back(*id);
  }
  if (ec) return storage::io_error("list directory", dir, ec.value());
  std::sort(ids.begin(), ids.end(), [](const SnapshotId& a, const SnapshotId& b) {
    return a.end_offset != b.end_offset ? a.end_offset > b.end_offset : a.epoch > b.epoch;
  });
  return ids;
}

Result<std::shared_ptr<const MetadataImage>> load_snapshot_file(const std::filesystem::path& dir,
                                                                const SnapshotId& id,
                                                                const std::string& cluster_id) {
  const auto path = dir / snapshot_file_name(id);
  auto bytes = storage::read_whole_file(path);
  if (!bytes) return bytes.error();
  auto image = load_snapshot(*bytes, id.end_offset, cluster_id);
  if (!image) {
    return Error{image.error().code, fmt::format("metadata snapshot {} is corrupt: {}",
                                                 path.string(), image.error().message)};
  }
  return image;
}

Status remove_old_snapshots(const std::filesystem::path& dir, size_t keep) {
  auto ids = list_snapshots(dir);
  if (!ids) return ids.error();
  for (size_t i = keep; i < ids->size(); ++i) {
    std::error_code ec;
    std::filesystem::remove(dir / snapshot_file_name((*ids)[i]), ec);
    if (ec) return storage::io_error("remove", dir / snapshot_file_name((*ids)[i]), ec.value());
  }
  return {};
}

}  // namespace fjord::metadata
