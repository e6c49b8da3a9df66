#include "records/control.h"

#include "common/endian.h"

namespace fjord::records {
namespace {
constexpr size_t kControlKeyBytes = 4;   // version int16 + type int16
constexpr size_t kEndTxnValueBytes = 6;  // version int16 + coordinatorEpoch int32
}  // namespace

std::optional<ControlType> control_type(const Record& record) {
  if (!record.key || record.key->size() < kControlKeyBytes) return std::nullopt;
  if (load_be<int16_t>(record.key->data()) < 0) return std::nullopt;
  return static_cast<ControlType>(load_be<int16_t>(record.key->data() + 2));
}

std::optional<EndTxnMarker> parse_end_txn_marker(const Record& record) {
  const auto type = control_type(record);
  if (type != ControlType::kCommit && type != ControlType::kAbort) return std::nullopt;
  if (!record.value || record.value->size() < kEndTxnValueBytes) return std::nullopt;
  if (load_be<int16_t>(record.value->data()) < 0) return std::nullopt;
  return EndTxnMarker{type == ControlType::kCommit, load_be<int32_t>(record.value->data() + 2)};
}

Result<std::span<const uint8_t>> build_end_txn_marker(BatchBuilder& builder, int64_t producer_id,
                                                      int16_t producer_epoch,
                                                      const EndTxnMarker& marker,
                                                      int64_t timestamp_ms) {
  BatchOptions options;
  options.producer_id = producer_id;
  options.producer_epoch = producer_epoch;
  options.base_sequence = -1;
  options.transactional = true;
  options.control = true;
  builder.reset(options);
  uint8_t key[kControlKeyBytes];
  store_be<int16_t>(key, 0);
  store_be<int16_t>(
      key + 2, static_cast<int16_t>(marker.commit ? ControlType::kCommit : ControlType::kAbort));
  uint8_t value[kEndTxnValueBytes];
  store_be<int16_t>(value, 0);
  store_be<int32_t>(value + 2, marker.coordinator_epoch);
  if (Status s = builder.append(timestamp_ms, Bytes(key), Bytes(value)); !s) return s.error();
  return builder.build();
}

}  // namespace fjord::records
