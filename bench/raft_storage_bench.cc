// Micro benchmark of the Raft storage on the partition log (src/raft/log_storage):
// append + sync of small entries, the path every Raft write takes before it is
// acknowledged, and the hard state's sync (a vote). Run it with
// bench/raft_storage.sh, which measures fio's fsync rate on the same disk next to it.
// The directory: $FJORD_BENCH_DIR, else ./raft-storage-bench.tmp.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "raft/log_storage/log_storage.h"
#include "records/builder.h"

namespace fjord::raft {
namespace {

std::filesystem::path bench_dir() {
  const char* env = std::getenv("FJORD_BENCH_DIR");
  std::filesystem::path dir = env ? env : "raft-storage-bench.tmp";
  std::filesystem::remove_all(dir);
  return dir;
}

// A batch of one keyless record of `value_bytes`, as a producer would send it.
std::shared_ptr<const Bytes> record_batch(size_t value_bytes) {
  records::BatchBuilder builder;
  const std::string value(value_bytes, 'x');
  if (!builder.append(1'700'000'000'000, std::nullopt, records::as_bytes(value)).ok()) std::abort();
  auto built = builder.build();
  if (!built.ok()) std::abort();
  return std::make_shared<const Bytes>(built->begin(), built->end());
}

std::unique_ptr<LogStorage> open_storage(const std::filesystem::path& dir) {
  auto opened = LogStorage::open(dir);
  if (!opened.ok()) std::abort();
  return std::move(opened).value();
}

// Args: entries per sync, record value bytes.
void BM_AppendSync(benchmark::State& state) {
  const auto entries_per_sync = static_cast<size_t>(state.range(0));
  const auto data = record_batch(static_cast<size_t>(state.range(1)));
  const auto dir = bench_dir();
  auto storage = open_storage(dir);
  std::vector<Entry> entries(entries_per_sync);
  Offset offset = 0;
  for (auto _ : state) {
    for (Entry& entry : entries) {
      entry = Entry{.offset = offset++,
                    .count = 1,
                    .term = 1,
                    .type = EntryType::kData,
                    .config = {},
                    .data = data};
    }
    storage->append(entries);
    storage->sync();
  }
  const auto appended = static_cast<int64_t>(state.iterations() * entries_per_sync);
  state.SetItemsProcessed(appended);
  state.SetBytesProcessed(appended * static_cast<int64_t>(data->size()));
  state.counters["syncs/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  storage.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AppendSync)
    ->ArgNames({"entries_per_sync", "value_bytes"})
    ->Args({1, 100})
    ->Args({1, 1024})
    ->Args({16, 100})
    ->Args({64, 1024})
    ->Args({256, 100})
    ->UseRealTime()
    ->MinTime(2.0);

// A new term and vote made durable: quorum-state written, fsynced, renamed.
void BM_HardStateSync(benchmark::State& state) {
  const auto dir = bench_dir();
  auto storage = open_storage(dir);
  Term term = 0;
  for (auto _ : state) {
    storage->save_hard_state(HardState{++term, 1});
    storage->sync();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  storage.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_HardStateSync)->UseRealTime()->MinTime(2.0);

// Opening a group's storage after a clean shutdown: the term index is rebuilt
// by reading every batch of the log (docs/raft-storage.md). Arg: entries in the
// log (one 100-byte record each, 1,000 appended per sync, a new term every 10,000).
void BM_OpenLog(benchmark::State& state) {
  const auto entry_count = static_cast<Offset>(state.range(0));
  const auto data = record_batch(100);
  const auto dir = bench_dir();
  {
    auto storage = open_storage(dir);
    std::vector<Entry> entries;
    for (Offset offset = 0; offset < entry_count; ++offset) {
      entries.push_back(Entry{.offset = offset,
                              .count = 1,
                              .term = 1 + offset / 10'000,
                              .type = EntryType::kData,
                              .config = {},
                              .data = data});
      if (entries.size() == 1000 || offset + 1 == entry_count) {
        storage->append(entries);
        storage->sync();
        entries.clear();
      }
    }
    if (!storage->close().ok()) std::abort();
  }
  for (auto _ : state) {
    auto storage = open_storage(dir);
    if (storage->end_offset() != entry_count) std::abort();
    if (!storage->close().ok()) std::abort();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * entry_count);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * entry_count *
                          static_cast<int64_t>(data->size()));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_OpenLog)->Arg(100'000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace
}  // namespace fjord::raft

BENCHMARK_MAIN();
