// libFuzzer target: decoding a stored batch as a Raft entry must reject bad
// bytes cleanly; a decoded data entry is the batch itself, and a decoded
// control entry encodes back to a batch that decodes to the same entry.
#include <cstdlib>

#include "raft/log_storage/entry_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fjord::raft;
  auto entry = decode_entry({data, size});
  if (!entry.ok()) return 0;
  if (entry->type == EntryType::kData) {
    if (*entry->data != std::vector<uint8_t>(data, data + size)) std::abort();
    return 0;
  }
  std::vector<uint8_t> again;
  append_entry_batch(*entry, again);
  auto back = decode_entry(again);
  if (!back.ok() || back->type != entry->type || back->config != entry->config ||
      back->offset != entry->offset || back->term != entry->term || back->count != 1) {
    std::abort();
  }
  return 0;
}
