#include "storage/record_scan.h"

#include "records/record.h"

namespace fjord::storage {

// The parsing itself is records::RecordReader's; this keeps only what
// compaction and timestamp lookups need, for a whole batch at once.
bool scan_records(std::span<const uint8_t> section, int32_t count, std::vector<RecordView>& out) {
  out.clear();
  if (count < 0) return false;
  records::RecordReader reader(section);
  records::Record record;
  for (int32_t i = 0; i < count; ++i) {
    Result<bool> more = reader.next(record);
    if (!more.ok() || !*more || record.offset_delta < 0) return false;
    RecordView view;
    view.bytes = record.bytes;
    view.offset_delta = record.offset_delta;
    view.timestamp_delta_ms = record.timestamp_delta;
    view.has_key = record.key.has_value();
    if (view.has_key) view.key = *record.key;
    view.has_value = record.value.has_value();
    out.push_back(view);
  }
  return reader.remaining_bytes() == 0;
}

}  // namespace fjord::storage
