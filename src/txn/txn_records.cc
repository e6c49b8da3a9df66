#include "txn/txn_records.h"

#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "groups/offsets_records.h"
#include "protocol/generated/internal/transaction_log_key.h"
#include "protocol/generated/internal/transaction_log_value.h"
#include "protocol/versioned_record.h"
#include "records/batch.h"
#include "records/builder.h"
#include "records/record.h"

namespace fjord::txn {
namespace {

namespace internal = protocol::internal;
using Bytes = std::span<const uint8_t>;
using protocol::decode_versioned;
using protocol::encode_versioned;
using protocol::read_record_version;

constexpr int16_t kKeyVersion = 0;
constexpr int16_t kValueVersion = 0;     // what Kafka 3.x writes
constexpr int16_t kMaxValueVersion = 1;  // v1 (KIP-915) adds tagged fields
// Bound on one decompressed records section while replaying (a decompression bomb guard).
constexpr size_t kMaxRecordsSectionBytes = 64u << 20;

constexpr std::array<std::string_view, 8> kStateNames = {
    "Empty",          "Ongoing",       "PrepareCommit", "PrepareAbort",
    "CompleteCommit", "CompleteAbort", "Dead",          "PrepareEpochFence"};

Error corrupt(std::string message) { return Error{ErrorCode::kCorruptMessage, std::move(message)}; }

internal::TransactionLogValue to_wire(const TxnMetadata& metadata) {
  internal::TransactionLogValue value;
  value.producer_id = metadata.producer_id;
  value.previous_producer_id = metadata.last_producer_id;
  value.producer_epoch = metadata.producer_epoch;
  value.transaction_timeout_ms = metadata.timeout_ms;
  value.transaction_status = static_cast<int8_t>(metadata.state);
  value.transaction_last_update_timestamp_ms = metadata.last_update_ms;
  value.transaction_start_timestamp_ms = metadata.start_ms;
  if (metadata.state == TxnState::kEmpty) {
    value.transaction_partitions = std::nullopt;
    return value;
  }
  std::map<std::string_view, std::vector<int32_t>> by_topic;
  for (const TopicPartition& tp : metadata.partitions) by_topic[tp.topic].push_back(tp.partition);
  auto& topics = value.transaction_partitions.emplace();
  for (auto& [topic, partitions] : by_topic) {
    auto& out = topics.emplace_back();
    out.topic = std::string(topic);
    out.partition_ids = std::move(partitions);
  }
  return value;
}

Result<TxnMetadata> from_wire(const internal::TransactionLogValue& value) {
  if (value.transaction_status < 0 ||
      value.transaction_status >= static_cast<int8_t>(kStateNames.size())) {
    return corrupt(fmt::format("transaction state {} is unknown", value.transaction_status));
  }
  TxnMetadata metadata;
  metadata.producer_id = value.producer_id;
  metadata.last_producer_id = value.previous_producer_id;
  metadata.producer_epoch = value.producer_epoch;
  metadata.timeout_ms = value.transaction_timeout_ms;
  metadata.state = static_cast<TxnState>(value.transaction_status);
  metadata.last_update_ms = value.transaction_last_update_timestamp_ms;
  metadata.start_ms = value.transaction_start_timestamp_ms;
  if (value.transaction_partitions) {
    for (const auto& topic : *value.transaction_partitions) {
      for (int32_t partition : topic.partition_ids) {
        metadata.partitions.insert(TopicPartition{topic.topic, partition});
      }
    }
  }
  return metadata;
}

}  // namespace

std::string_view state_name(TxnState state) {
  const auto index = static_cast<size_t>(state);
  return index < kStateNames.size() ? kStateNames[index] : "Unknown";
}

std::optional<TxnState> parse_state(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<TxnState>(i);
  }
  return std::nullopt;
}

EncodedRecord encode(const TxnLogRecord& record) {
  internal::TransactionLogKey key;
  key.transactional_id = record.transactional_id;
  EncodedRecord encoded;
  auto key_bytes = encode_versioned(key, kKeyVersion);
  if (!key_bytes) {
    std::fprintf(stderr, "__transaction_state key longer than %zu bytes\n",
                 kMaxTransactionalIdBytes);
    std::abort();
  }
  encoded.key = std::move(*key_bytes);
  if (record.value) {
    // Topic names from the log may exceed what v0's strings hold; v1 has no limit.
    const internal::TransactionLogValue value = to_wire(*record.value);
    encoded.value = encode_versioned(value, kValueVersion);
    if (!encoded.value) encoded.value = encode_versioned(value, kMaxValueVersion);
  }
  return encoded;
}

Result<TxnLogRecord> decode(std::span<const uint8_t> key,
                            std::optional<std::span<const uint8_t>> value) {
  auto key_version = read_record_version(key, "transaction key");
  if (!key_version) return key_version.error();
  if (*key_version != kKeyVersion) {
    return corrupt(fmt::format("transaction key has unknown version {}", *key_version));
  }
  auto wire_key =
      decode_versioned<internal::TransactionLogKey>(key, *key_version, "transaction key");
  if (!wire_key) return wire_key.error();
  TxnLogRecord record;
  record.transactional_id = std::move(wire_key->transactional_id);
  if (!value) return record;
  auto version = read_record_version(*value, "transaction value");
  if (!version) return version.error();
  if (*version < 0 || *version > kMaxValueVersion) {
    return corrupt(fmt::format("transaction value has unknown version {}", *version));
  }
  auto wire_value =
      decode_versioned<internal::TransactionLogValue>(*value, *version, "transaction value");
  if (!wire_value) return wire_value.error();
  auto metadata = from_wire(*wire_value);
  if (!metadata) return metadata.error();
  record.value = std::move(*metadata);
  return record;
}

Result<std::vector<uint8_t>> build_batch(std::span<const TxnLogRecord> records, int64_t now_ms,
                                         size_t max_batch_bytes) {
  if (records.empty()) return Error{ErrorCode::kInvalidRequest, "no records to write"};
  const auto too_large = [max_batch_bytes] {
    return Error{ErrorCode::kMessageTooLarge,
                 fmt::format("__transaction_state batch over {} bytes", max_batch_bytes)};
  };
  if (max_batch_bytes <= records::kBatchHeaderSize) return too_large();
  records::BatchOptions options;
  options.max_records_bytes = max_batch_bytes - records::kBatchHeaderSize;
  records::BatchBuilder builder(options);
  for (const TxnLogRecord& record : records) {
    if (record.transactional_id.size() > kMaxTransactionalIdBytes) {
      return Error{ErrorCode::kInvalidRequest,
                   fmt::format("transactional id of {} bytes, at most {} fit",
                               record.transactional_id.size(), kMaxTransactionalIdBytes)};
    }
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

Status for_each_record(std::span<const uint8_t> batches,
                       const std::function<void(TxnLogRecord&&)>& fn) {
  std::vector<uint8_t> scratch;
  Bytes rest = batches;
  while (!rest.empty()) {
    const size_t position = batches.size() - rest.size();
    auto header = records::check_batch_framing(rest);
    if (!header) {
      return corrupt(fmt::format("__transaction_state batch at byte {}: {}", position,
                                 header.error().message));
    }
    const Bytes batch = rest.first(header->size_bytes());
    rest = rest.subspan(header->size_bytes());
    if (header->is_control()) continue;
    auto count = records::for_each_record(
        batch, scratch, kMaxRecordsSectionBytes, [&](const records::Record& record) -> Status {
          if (!record.key) return corrupt("__transaction_state record without a key");
          auto decoded = decode(*record.key, record.value);
          if (!decoded) return decoded.error();
          fn(std::move(*decoded));
          return {};
        });
    if (!count) {
      return corrupt(fmt::format("__transaction_state batch at offset {}: {}", header->base_offset,
                                 count.error().message));
    }
  }
  return {};
}

int32_t txn_state_partition_for(std::string_view transactional_id, int32_t partitions) {
  return groups::offsets_partition_for(transactional_id, partitions);
}

}  // namespace fjord::txn
