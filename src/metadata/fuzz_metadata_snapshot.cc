// libFuzzer target: loading a metadata snapshot (KRaft checkpoint bytes) from
// arbitrary bytes must give an image or an error value, never a crash, a hang
// or an allocation out of proportion to the input.
// Seeds: fuzz/seeds/fuzz_metadata_snapshot/ (a small valid snapshot).
#include <cstddef>
#include <cstdint>
#include <span>

#include "metadata/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto image = fjord::metadata::load_snapshot(std::span<const uint8_t>(data, size), 100, "c");
  if (image) {
    // A loaded image writes and loads again to the same topics.
    const auto again = fjord::metadata::write_snapshot(**image, 0, 0);
    auto reloaded = fjord::metadata::load_snapshot(again, 100, "c");
    if (!reloaded || (*reloaded)->topics.size() != (*image)->topics.size()) __builtin_trap();
  }
  return 0;
}
