// libFuzzer target: the `.txnindex` parser reads bytes from disk without trusting
// them. It must never crash, what it accepts must satisfy the entry invariants,
// and the accepted entries must re-encode to exactly the valid prefix.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "storage/txn_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fjord::storage;
  std::span<const uint8_t> bytes(data, size);
  const int64_t segment_base_offset = size > 0 ? data[0] % 4 : 0;
  auto parsed = parse_txn_index(bytes, segment_base_offset);
  if (!parsed) {
    if (parsed.code() != fjord::ErrorCode::kCorruptMessage) std::abort();
    return 0;
  }
  const auto& entries = parsed->entries;
  if (parsed->valid_bytes != entries.size() * kAbortedTxnEntryBytes) std::abort();
  if (parsed->valid_bytes > size) std::abort();
  for (size_t i = 0; i < entries.size(); ++i) {
    const AbortedTxn& e = entries[i];
    if (e.producer_id < 0 || e.first_offset < 0 || e.first_offset > e.last_offset) std::abort();
    if (e.last_offset < segment_base_offset) std::abort();
    if (e.last_stable_offset < 0 || e.last_stable_offset > e.last_offset + 1) std::abort();
    if (i > 0 && e.last_offset <= entries[i - 1].last_offset) std::abort();
    std::array<uint8_t, kAbortedTxnEntryBytes> encoded{};
    encode_aborted_txn(e, encoded);
    for (size_t j = 0; j < kAbortedTxnEntryBytes; ++j) {
      if (encoded[j] != data[i * kAbortedTxnEntryBytes + j]) std::abort();
    }
  }
  // What follows the valid prefix is a torn tail: a partial entry or zeros.
  for (size_t j = parsed->valid_bytes; j + kAbortedTxnEntryBytes <= size;
       j += kAbortedTxnEntryBytes) {
    for (size_t k = 0; k < kAbortedTxnEntryBytes; ++k) {
      if (data[j + k] != 0) std::abort();
    }
  }
  return 0;
}
