// Checks the "no allocation per record" promise: iterating records and building
// a batch into reused buffers must not call operator new. Its own binary, because
// it replaces the global operator new.
#include <gtest/gtest.h>

// GCC pairs the replaced operator new/delete with the library's and warns about
// malloc/free; the replacement below is consistent, so the warning is wrong here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "records/builder.h"
#include "records/record.h"
#include "records/validate.h"

namespace {
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace

void* operator new(size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace fjord::records {
namespace {

// Counts the allocations made by `fn`.
template <typename Fn>
size_t allocations_during(Fn&& fn) {
  allocations = 0;
  counting = true;
  fn();
  counting = false;
  return allocations;
}

class NoAllocation : public testing::TestWithParam<Compression> {};

TEST_P(NoAllocation, SteadyStateBuildAndIterate) {
  BatchOptions options;
  options.compression = GetParam();
  BatchBuilder builder(options);
  const std::string value(500, 'v');
  const RecordHeader header{as_bytes("h"), as_bytes("x")};
  auto fill = [&] {
    builder.reset(options);
    for (int i = 0; i < 100; ++i) {
      (void)builder.append(i, as_bytes("key"), as_bytes(value), std::span(&header, 1));
    }
    return builder.build();
  };
  ASSERT_TRUE(fill().ok());  // warm-up: buffers reach their size
  std::vector<uint8_t> scratch;
  std::vector<uint8_t> batch;
  {
    auto built = fill();
    ASSERT_TRUE(built.ok());
    batch.assign(built->begin(), built->end());
    ASSERT_TRUE(for_each_record(batch, scratch, 1 << 20, [](const Record&) {}).ok());
  }
  // Steady state: the builder and scratch buffers are reused. zlib, lz4 and zstd
  // allocate their contexts with malloc (not counted here); the snappy library
  // allocates working memory with operator new once per 32 KiB block it compresses,
  // which is per block, not per record.
  const size_t build_allocations = allocations_during([&] { ASSERT_TRUE(fill().ok()); });
  if (GetParam() == Compression::kSnappy) {
    EXPECT_LE(build_allocations, (builder.uncompressed_size_bytes() + 32767) / 32768);
  } else {
    EXPECT_EQ(build_allocations, 0u);
  }
  size_t values = 0;
  EXPECT_EQ(allocations_during([&] {
              auto count = for_each_record(batch, scratch, 1 << 20, [&](const Record& r) {
                values += r.value->size();
                for (const RecordHeader& h : r.headers) values += h.key.size();
              });
              ASSERT_TRUE(count.ok());
            }),
            0u);
  EXPECT_EQ(values, 100u * 501u);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, NoAllocation,
                         testing::Values(Compression::kNone, Compression::kGzip,
                                         Compression::kSnappy, Compression::kLz4,
                                         Compression::kZstd));

}  // namespace
}  // namespace fjord::records
