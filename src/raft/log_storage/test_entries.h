// Entries for tests of Raft storage (no GoogleTest here: the crash writer uses them too).
#pragma once

#include <memory>

#include "raft/message.h"
#include "records/batch.h"
#include "storage/test_util.h"

namespace fjord::raft::testing {

inline Entry data_entry(Offset offset, Term term, int count, uint32_t seed = 0) {
  Entry entry;
  entry.offset = offset;
  entry.term = term;
  entry.count = count;
  entry.type = EntryType::kData;
  auto batch = storage::testing::make_value_batch(count, 30, 1'700'000'000'000, seed);
  entry.data = std::make_shared<const Bytes>(std::move(batch));
  return entry;
}

inline Entry control_entry(Offset offset, Term term, EntryType type, Config config = {}) {
  Entry entry;
  entry.offset = offset;
  entry.term = term;
  entry.type = type;
  entry.config = std::move(config);
  return entry;
}

// A data batch without its offset and epoch (which storage may rewrite).
inline Bytes batch_content(const std::shared_ptr<const Bytes>& data) {
  if (!data) return {};
  Bytes bytes = *data;
  records::set_base_offset(bytes, 0);
  records::set_partition_leader_epoch(bytes, 0);
  return bytes;
}

}  // namespace fjord::raft::testing
