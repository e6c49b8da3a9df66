// Micro-benchmarks of the records library (built with -DFJORD_BENCH=ON):
//   records_bench --benchmark_filter=Crc32c
// Compare figures measured in the same run; the machine is shared and noisy.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "records/builder.h"
#include "records/codec.h"
#include "records/crc32c.h"
#include "records/record.h"
#include "records/validate.h"

namespace fjord::records {
namespace {

std::vector<uint8_t> random_bytes(size_t size) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> out(size);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

void BM_Crc32c(benchmark::State& state) {
  const auto data = random_bytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(crc32c(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(100)->Arg(1024)->Arg(16 * 1024)->Arg(1024 * 1024);

void BM_Crc32cOneChain(benchmark::State& state) {
  const auto data = random_bytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(detail::crc32c_one_chain(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cOneChain)->Arg(100)->Arg(1024)->Arg(16 * 1024)->Arg(1024 * 1024);

// A batch of `count` records of `value_bytes` each, text-like so codecs compress it.
std::vector<uint8_t> make_batch(Compression codec, int count, size_t value_bytes) {
  BatchOptions options;
  options.compression = codec;
  BatchBuilder builder(options);
  std::string value;
  for (size_t i = 0; i < value_bytes; ++i) value.push_back(static_cast<char>('a' + (i * 7) % 26));
  for (int i = 0; i < count; ++i) {
    const std::string key = "key-" + std::to_string(i);
    (void)builder.append(1700000000000 + i, as_bytes(key), as_bytes(value));
  }
  auto batch = builder.build();
  return {batch->begin(), batch->end()};
}

// Produce validation of 100 records x 1 KiB per codec: the per-batch broker cost.
void BM_ValidateProduce(benchmark::State& state) {
  const auto codec = static_cast<Compression>(state.range(0));
  const auto batch = make_batch(codec, 100, 1024);
  std::vector<uint8_t> scratch;
  ValidationLimits limits;
  for (auto _ : state) {
    auto result = validate_produce_records(batch, limits, scratch);
    benchmark::DoNotOptimize(result.ok());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 100 * 1024);
}
BENCHMARK(BM_ValidateProduce)->DenseRange(0, 4);

void BM_BuildBatch(benchmark::State& state) {
  const auto codec = static_cast<Compression>(state.range(0));
  BatchOptions options;
  options.compression = codec;
  BatchBuilder builder(options);
  std::string value(1024, 'v');
  for (auto _ : state) {
    builder.reset(options);
    for (int i = 0; i < 100; ++i) (void)builder.append(i, std::nullopt, as_bytes(value));
    auto batch = builder.build();
    benchmark::DoNotOptimize(batch.ok());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
}
BENCHMARK(BM_BuildBatch)->DenseRange(0, 4);

void BM_IterateRecords(benchmark::State& state) {
  const auto batch = make_batch(Compression::kNone, 100, static_cast<size_t>(state.range(0)));
  std::vector<uint8_t> scratch;
  for (auto _ : state) {
    size_t sum = 0;
    auto count =
        for_each_record(batch, scratch, 1 << 24, [&](const Record& r) { sum += r.value->size(); });
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(count.ok());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 100);
}
BENCHMARK(BM_IterateRecords)->Arg(100)->Arg(1024);

}  // namespace
}  // namespace fjord::records

BENCHMARK_MAIN();
