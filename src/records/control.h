// Control records (README §9): records of batches with attribute bit 5 set. Their
// key is int16 version (0) + int16 type; COMMIT/ABORT markers have the value
// int16 version (0) + int32 coordinatorEpoch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "common/result.h"
#include "records/builder.h"
#include "records/record.h"

namespace fjord::records {

enum class ControlType : int16_t {
  kAbort = 0,
  kCommit = 1,
  kLeaderChange = 2,
  kSnapshotHeader = 3,
  kSnapshotFooter = 4,
  kKraftVersion = 5,
  kKraftVoters = 6,
};

// The type of a control record, from its key. Unknown types come back as their
// numeric value: readers must ignore them. nullopt for a null, short or
// negative-version key (Kafka throws InvalidRecordException for those).
std::optional<ControlType> control_type(const Record& record);

struct EndTxnMarker {
  bool commit = false;
  int32_t coordinator_epoch = 0;
};

// The COMMIT/ABORT marker in a control record; nullopt for other control types or
// a malformed value.
std::optional<EndTxnMarker> parse_end_txn_marker(const Record& record);

// Builds an end-transaction marker batch in `builder` (reset first): one record,
// transactional and control bits set, the producer's id and epoch, baseSequence -1.
// The bytes stay valid until the builder's next reset or append.
Result<std::span<const uint8_t>> build_end_txn_marker(BatchBuilder& builder, int64_t producer_id,
                                                      int16_t producer_epoch,
                                                      const EndTxnMarker& marker,
                                                      int64_t timestamp_ms);

}  // namespace fjord::records
