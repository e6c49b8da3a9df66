#include "groups/offsets_records.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "protocol/generated/internal/group_metadata_key.h"
#include "protocol/generated/internal/group_metadata_value.h"
#include "protocol/generated/internal/offset_commit_key.h"
#include "protocol/generated/internal/offset_commit_value.h"
#include "protocol/versioned_record.h"
#include "records/batch.h"
#include "records/builder.h"
#include "records/control.h"
#include "records/record.h"

namespace fjord::groups {
namespace {

namespace internal = protocol::internal;
using Bytes = std::span<const uint8_t>;
using protocol::decode_versioned;
using protocol::encode_versioned;
using protocol::read_record_version;

// Key versions: 0 and 1 are offset commits (same layout), 2 is group metadata,
// 3 and up are the KIP-848 / share-group kinds Fjord does not use.
constexpr int16_t kOffsetKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;
constexpr int16_t kFirstUnusedKeyVersion = 3;
// Value versions Kafka (2.3+) writes, and the newest one that exists.
constexpr int16_t kOffsetValueVersion = 3;
constexpr int16_t kOffsetValueWithExpireVersion = 1;
constexpr int16_t kGroupValueVersion = 3;
constexpr int16_t kFlexibleValueVersion = 4;
constexpr int16_t kMaxValueVersion = 4;
// Bound on one decompressed records section while replaying (a decompression
// bomb guard); the builder's default limit, far above what the coordinator writes.
constexpr size_t kMaxRecordsSectionBytes = 64u << 20;

Error corrupt(std::string message) { return Error{ErrorCode::kCorruptMessage, std::move(message)}; }

// Keys cannot fall back to a flexible version: the caller broke the contract.
template <typename Message>
std::vector<uint8_t> encode_key(const Message& message, int16_t version) {
  auto bytes = encode_versioned(message, version);
  if (!bytes) {
    std::fprintf(stderr, "__consumer_offsets key longer than %zu bytes\n", kMaxKeyStringBytes);
    std::abort();
  }
  return std::move(*bytes);
}

template <typename Message>
std::vector<uint8_t> encode_value(const Message& message, int16_t version) {
  if (auto bytes = encode_versioned(message, version)) return std::move(*bytes);
  // Only strings can fail, and the flexible version has no length limit.
  return std::move(*encode_versioned(message, kFlexibleValueVersion));
}

internal::OffsetCommitValue to_wire(const CommittedOffset& offset) {
  internal::OffsetCommitValue value;
  value.offset = offset.offset;
  value.leader_epoch = offset.leader_epoch;
  value.metadata = offset.metadata;
  value.commit_timestamp = offset.commit_timestamp_ms;
  value.expire_timestamp = offset.expire_timestamp_ms;
  return value;
}

internal::GroupMetadataValue to_wire(const GroupRecord& group) {
  internal::GroupMetadataValue value;
  value.protocol_type = group.protocol_type;
  value.generation = group.generation;
  value.protocol = group.protocol;
  value.leader = group.leader;
  value.current_state_timestamp = group.current_state_timestamp_ms;
  value.members.reserve(group.members.size());
  for (const MemberRecord& member : group.members) {
    auto& out = value.members.emplace_back();
    out.member_id = member.member_id;
    out.group_instance_id = member.group_instance_id;
    out.client_id = member.client_id;
    out.client_host = member.client_host;
    out.rebalance_timeout = member.rebalance_timeout_ms;
    out.session_timeout = member.session_timeout_ms;
    out.subscription = member.subscription;
    out.assignment = member.assignment;
  }
  return value;
}

EncodedRecord encode_offset(const OffsetRecord& record) {
  internal::OffsetCommitKey key;
  key.group = record.key.group;
  key.topic = record.key.topic;
  key.partition = record.key.partition;
  EncodedRecord encoded;
  encoded.key = encode_key(key, kOffsetKeyVersion);
  if (record.value) {
    const int16_t version = record.value->expire_timestamp_ms != -1 ? kOffsetValueWithExpireVersion
                                                                    : kOffsetValueVersion;
    encoded.value = encode_value(to_wire(*record.value), version);
  }
  return encoded;
}

EncodedRecord encode_group(const GroupMetadataRecord& record) {
  internal::GroupMetadataKey key;
  key.group = record.group;
  EncodedRecord encoded;
  encoded.key = encode_key(key, kGroupKeyVersion);
  if (record.value) encoded.value = encode_value(to_wire(*record.value), kGroupValueVersion);
  return encoded;
}

Result<int16_t> read_value_version(Bytes value, const char* what) {
  auto version = read_record_version(value, what);
  if (!version) return version;
  if (*version < 0 || *version > kMaxValueVersion) {
    return corrupt(fmt::format("{} has unknown version {}", what, *version));
  }
  return version;
}

CommittedOffset from_wire(const internal::OffsetCommitValue& value) {
  CommittedOffset offset;
  offset.offset = value.offset;
  offset.leader_epoch = value.leader_epoch;
  offset.metadata = value.metadata;
  offset.commit_timestamp_ms = value.commit_timestamp;
  offset.expire_timestamp_ms = value.expire_timestamp;
  return offset;
}

GroupRecord from_wire(const internal::GroupMetadataValue& value, int16_t version) {
  GroupRecord group;
  group.protocol_type = value.protocol_type;
  group.generation = value.generation;
  group.protocol = value.protocol;
  group.leader = value.leader;
  group.current_state_timestamp_ms = value.current_state_timestamp;
  group.members.reserve(value.members.size());
  for (const auto& member : value.members) {
    MemberRecord& out = group.members.emplace_back();
    out.member_id = member.member_id;
    out.group_instance_id = member.group_instance_id;
    out.client_id = member.client_id;
    out.client_host = member.client_host;
    // v0 had one timeout for both; Kafka reads it as the rebalance timeout too.
    out.rebalance_timeout_ms = version == 0 ? member.session_timeout : member.rebalance_timeout;
    out.session_timeout_ms = member.session_timeout;
    out.subscription = member.subscription;
    out.assignment = member.assignment;
  }
  return group;
}

Result<std::optional<OffsetsTopicRecord>> decode_offset(Bytes key, int16_t key_version,
                                                        std::optional<Bytes> value) {
  auto wire_key = decode_versioned<internal::OffsetCommitKey>(key, key_version, "offset key");
  if (!wire_key) return wire_key.error();
  OffsetRecord record;
  record.key =
      OffsetKey{std::move(wire_key->group), std::move(wire_key->topic), wire_key->partition};
  if (value) {
    auto version = read_value_version(*value, "offset value");
    if (!version) return version.error();
    auto wire_value =
        decode_versioned<internal::OffsetCommitValue>(*value, *version, "offset value");
    if (!wire_value) return wire_value.error();
    record.value = from_wire(*wire_value);
  }
  return std::optional<OffsetsTopicRecord>(std::move(record));
}

Result<std::optional<OffsetsTopicRecord>> decode_group(Bytes key, int16_t key_version,
                                                       std::optional<Bytes> value) {
  auto wire_key = decode_versioned<internal::GroupMetadataKey>(key, key_version, "group key");
  if (!wire_key) return wire_key.error();
  GroupMetadataRecord record;
  record.group = std::move(wire_key->group);
  if (value) {
    auto version = read_value_version(*value, "group value");
    if (!version) return version.error();
    auto wire_value =
        decode_versioned<internal::GroupMetadataValue>(*value, *version, "group value");
    if (!wire_value) return wire_value.error();
    record.value = from_wire(*wire_value, *version);
  }
  return std::optional<OffsetsTopicRecord>(std::move(record));
}

// Java's String.hashCode over the UTF-16 code units of UTF-8 `text`;
// nullopt if `text` is not valid UTF-8 (overlong forms, surrogates, beyond U+10FFFF).
std::optional<uint32_t> java_hash_of_utf8(std::string_view text) {
  uint32_t hash = 0;
  auto add_unit = [&hash](uint32_t unit) { hash = hash * 31u + unit; };
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<uint8_t>(text[i]);
    size_t length = 0;
    uint32_t code_point = 0;
    uint32_t min_code_point = 0;
    if (lead < 0x80) {
      length = 1;
      code_point = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1Fu;
      min_code_point = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0Fu;
      min_code_point = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07u;
      min_code_point = 0x10000;
    } else {
      return std::nullopt;  // a continuation byte or 0xF8-0xFF where a character starts
    }
    if (text.size() - i < length) return std::nullopt;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return std::nullopt;
      code_point = (code_point << 6) | (next & 0x3Fu);
    }
    const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
    if (code_point < min_code_point || code_point > 0x10FFFF || surrogate) return std::nullopt;
    if (code_point < 0x10000) {
      add_unit(code_point);
    } else {
      add_unit(0xD800 + ((code_point - 0x10000) >> 10));
      add_unit(0xDC00 + ((code_point - 0x10000) & 0x3FF));
    }
    i += length;
  }
  return hash;
}

uint32_t java_hash_of_latin1(std::string_view text) {
  uint32_t hash = 0;
  for (char c : text) hash = hash * 31u + static_cast<uint8_t>(c);
  return hash;
}

// encode() aborts on keys it cannot write; build_batch() turns them into errors
// so that an oversized group id from a client fails its request, not the broker.
Status check_key_fits(const OffsetsTopicRecord& record) {
  const auto* offset = std::get_if<OffsetRecord>(&record);
  const std::string& group =
      offset ? offset->key.group : std::get<GroupMetadataRecord>(record).group;
  if (group.size() > kMaxKeyStringBytes) {
    return Error{ErrorCode::kInvalidGroupId, fmt::format("group id of {} bytes, at most {} fit",
                                                         group.size(), kMaxKeyStringBytes)};
  }
  if (offset && offset->key.topic.size() > kMaxKeyStringBytes) {
    return Error{ErrorCode::kInvalidTopicException,
                 fmt::format("topic name of {} bytes", offset->key.topic.size())};
  }
  return {};
}

}  // namespace

EncodedRecord encode(const OffsetsTopicRecord& record) {
  if (const auto* offset = std::get_if<OffsetRecord>(&record)) return encode_offset(*offset);
  return encode_group(std::get<GroupMetadataRecord>(record));
}

Result<std::optional<OffsetsTopicRecord>> decode(std::span<const uint8_t> key,
                                                 std::optional<std::span<const uint8_t>> value) {
  auto key_version = read_record_version(key, "key");
  if (!key_version) return key_version.error();
  if (*key_version < 0) return corrupt(fmt::format("key has negative version {}", *key_version));
  if (*key_version < kGroupKeyVersion) return decode_offset(key, *key_version, value);
  if (*key_version < kFirstUnusedKeyVersion) return decode_group(key, *key_version, value);
  return std::optional<OffsetsTopicRecord>();
}

Result<std::vector<uint8_t>> build_batch(std::span<const OffsetsTopicRecord> records,
                                         int64_t now_ms, size_t max_batch_bytes,
                                         const std::optional<TxnProducer>& txn) {
  if (records.empty()) return Error{ErrorCode::kInvalidRecord, "no records to write"};
  const auto too_large = [max_batch_bytes] {
    return Error{ErrorCode::kMessageTooLarge,
                 fmt::format("__consumer_offsets batch over {} bytes", max_batch_bytes)};
  };
  if (max_batch_bytes <= records::kBatchHeaderSize) return too_large();
  records::BatchOptions options;
  options.max_records_bytes = max_batch_bytes - records::kBatchHeaderSize;
  if (txn) {
    options.producer_id = txn->producer_id;
    options.producer_epoch = txn->producer_epoch;
    options.base_sequence = -1;
    options.transactional = true;
  }
  records::BatchBuilder builder(options);
  for (const OffsetsTopicRecord& record : records) {
    if (Status fits = check_key_fits(record); !fits) return fits.error();
    const EncodedRecord encoded = encode(record);
    records::NullableBytes value;
    if (encoded.value) value = Bytes(*encoded.value);
    if (Status appended = builder.append(now_ms, Bytes(encoded.key), value); !appended) {
      if (appended.code() == ErrorCode::kMessageTooLarge) return too_large();
      return appended.error();
    }
  }
  auto built = builder.build();
  if (!built) return built.error();
  if (built->size() > max_batch_bytes) return too_large();
  return std::vector<uint8_t>(built->begin(), built->end());
}

namespace {

// The COMMIT/ABORT markers of one control batch; other control types are skipped.
Status visit_control_batch(Bytes batch, const records::BatchHeader& header,
                           std::vector<uint8_t>& scratch, const OffsetsLogVisitor& visitor) {
  auto count = records::for_each_record(
      batch, scratch, kMaxRecordsSectionBytes, [&](const records::Record& record) -> Status {
        const auto type = records::control_type(record);
        if (type != records::ControlType::kCommit && type != records::ControlType::kAbort) {
          return {};
        }
        const auto marker = records::parse_end_txn_marker(record);
        if (!marker) return corrupt("transaction marker without a valid value");
        if (visitor.on_txn_marker) visitor.on_txn_marker(header.producer_id, marker->commit);
        return {};
      });
  if (!count) return count.error();
  return {};
}

Status visit_data_batch(Bytes batch, const records::BatchHeader& header,
                        std::vector<uint8_t>& scratch, const OffsetsLogVisitor& visitor) {
  const int64_t txn_producer_id = header.is_transactional() ? header.producer_id : -1;
  auto count = records::for_each_record(
      batch, scratch, kMaxRecordsSectionBytes, [&](const records::Record& record) -> Status {
        if (!record.key) return corrupt("__consumer_offsets record without a key");
        auto decoded = decode(*record.key, record.value);
        if (!decoded) return decoded.error();
        if (*decoded && visitor.on_record) visitor.on_record(txn_producer_id, std::move(**decoded));
        return {};
      });
  if (!count) return count.error();
  return {};
}

}  // namespace

Status for_each_entry(std::span<const uint8_t> batches, const OffsetsLogVisitor& visitor) {
  std::vector<uint8_t> scratch;
  Bytes rest = batches;
  while (!rest.empty()) {
    const size_t position = batches.size() - rest.size();
    auto header = records::check_batch_framing(rest);
    if (!header) {
      return corrupt(
          fmt::format("__consumer_offsets batch at byte {}: {}", position, header.error().message));
    }
    const Bytes batch = rest.first(header->size_bytes());
    rest = rest.subspan(header->size_bytes());
    Status visited = header->is_control() ? visit_control_batch(batch, *header, scratch, visitor)
                                          : visit_data_batch(batch, *header, scratch, visitor);
    if (!visited) {
      return corrupt(fmt::format("__consumer_offsets batch at offset {}: {}", header->base_offset,
                                 visited.error().message));
    }
  }
  return {};
}

Status for_each_record(std::span<const uint8_t> batches,
                       const std::function<void(OffsetsTopicRecord&&)>& fn) {
  OffsetsLogVisitor visitor;
  visitor.on_record = [&fn](int64_t, OffsetsTopicRecord&& record) { fn(std::move(record)); };
  return for_each_entry(batches, visitor);
}

int32_t offsets_partition_for(std::string_view group, int32_t partitions) {
  if (partitions <= 0) return 0;
  const std::optional<uint32_t> utf16_hash = java_hash_of_utf8(group);
  const auto hash = static_cast<int32_t>(utf16_hash ? *utf16_hash : java_hash_of_latin1(group));
  // Kafka's Utils.abs: Math.abs, except that Integer.MIN_VALUE (its own negation) becomes 0.
  const int32_t positive = hash == INT32_MIN ? 0 : (hash < 0 ? -hash : hash);
  return positive % partitions;
}

}  // namespace fjord::groups
