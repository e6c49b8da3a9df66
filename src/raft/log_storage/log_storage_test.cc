#include "raft/log_storage/log_storage.h"

#include <gtest/gtest.h>

#include <fstream>

#include "raft/log_storage/quorum_state.h"
#include "raft/log_storage/snapshot_file.h"
#include "raft/log_storage/storage_conformance.h"
#include "raft/memory_storage.h"
#include "storage/test_util.h"

namespace fjord::raft {
namespace {

using storage::testing::TempDir;
using testing::control_entry;
using testing::data_entry;
using testing::expect_same_entries;
using testing::first_term_entries;

LogStorageOptions small_segments() {
  LogStorageOptions options;
  options.log.segment_bytes = 1024;
  options.log.index_interval_bytes = 128;
  return options;
}

std::unique_ptr<LogStorage> open_storage(const std::filesystem::path& dir,
                                         const LogStorageOptions& options = small_segments()) {
  auto opened = LogStorage::open(dir, options);
  EXPECT_TRUE(opened.ok()) << (opened.ok() ? "" : opened.error().message);
  return opened.ok() ? std::move(opened).value() : nullptr;
}

// Restarts alternate between a clean close and a crash (no close).
struct LogStorageHarness {
  TempDir dir;
  std::unique_ptr<LogStorage> s = open_storage(dir.path());
  int restarts = 0;
  Storage& storage() { return *s; }
  void restart() {
    if (restarts++ % 2 == 0) {
      EXPECT_TRUE(s->close().ok());
    }
    s.reset();
    s = open_storage(dir.path());
  }
};

// MemoryStorage keeps everything: a restart is a copy (as the simulation does).
struct MemoryStorageHarness {
  MemoryStorage s;
  Storage& storage() { return s; }
  void restart() {
    MemoryStorage durable = s;
    s = durable;
  }
};

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(LogStorage, StorageConformance, LogStorageHarness);
INSTANTIATE_TYPED_TEST_SUITE_P(MemoryStorage, StorageConformance, MemoryStorageHarness);
}  // namespace testing

namespace {

std::vector<Entry> all(const LogStorage& s) {
  return s.entries(s.start_offset(), INT64_MAX, SIZE_MAX);
}

// Many entries across many segments, with term changes.
std::vector<Entry> long_log(int count) {
  std::vector<Entry> entries;
  Offset offset = 0;
  for (int i = 0; i < count; ++i) {
    const Term term = 1 + i / 25;
    Entry entry = i % 25 == 0 ? control_entry(offset, term, EntryType::kLeaderChange)
                              : data_entry(offset, term, 1 + i % 4, static_cast<uint32_t>(i));
    offset = entry.end_offset();
    entries.push_back(std::move(entry));
  }
  return entries;
}

TEST(LogStorage, UnsyncedHardStateIsLostInACrash) {
  TempDir dir;
  auto s = open_storage(dir.path());
  s->save_hard_state({2, 1});
  s->sync();
  s->save_hard_state({3, 2});
  s.reset();  // crash
  s = open_storage(dir.path());
  EXPECT_EQ(s->hard_state(), (HardState{2, 1}));
}

TEST(LogStorage, ADamagedQuorumStateStopsTheOpen) {
  TempDir dir;
  auto s = open_storage(dir.path());
  s->save_hard_state({9, 3});
  ASSERT_TRUE(s->close().ok());
  s.reset();
  std::filesystem::resize_file(dir.path() / kQuorumStateFile, 5);
  auto opened = LogStorage::open(dir.path(), small_segments());
  EXPECT_EQ(opened.code(), ErrorCode::kCorruptMessage);
}

TEST(LogStorage, ATornTailIsCutAtOpen) {
  TempDir dir;
  auto s = open_storage(dir.path());
  const auto entries = long_log(60);
  s->append(entries);
  s->sync();
  const Offset end = s->end_offset();
  s.reset();  // crash
  // A write that was cut short: half a batch after the synced ones.
  std::filesystem::path last_segment;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().extension() == ".log" && f.path() > last_segment) last_segment = f.path();
  }
  std::vector<uint8_t> stored;
  const Entry next = data_entry(end, 3, 4, 77);
  {
    std::ofstream out(last_segment, std::ios::binary | std::ios::app);
    out.write(reinterpret_cast<const char*>(next.data->data()), 40);
  }
  s = open_storage(dir.path());
  EXPECT_EQ(s->end_offset(), end);
  expect_same_entries(all(*s), entries);
  s->append(std::vector<Entry>{next});
  EXPECT_EQ(s->end_offset(), end + 4);
}

TEST(LogStorage, ManySegmentsTruncationAndTermsSurviveRestarts) {
  TempDir dir;
  auto s = open_storage(dir.path());
  auto entries = long_log(200);
  s->append(entries);
  s->sync();
  // A new leader replaces the second half.
  const size_t keep = 90;
  std::vector<Entry> replacement;
  Offset offset = entries[keep].offset;
  for (int i = 0; i < 50; ++i) {
    Entry entry = i == 0 ? control_entry(offset, 20, EntryType::kLeaderChange)
                         : data_entry(offset, 20, 2, 1000 + static_cast<uint32_t>(i));
    offset = entry.end_offset();
    replacement.push_back(std::move(entry));
  }
  s->append(replacement);
  s->sync();
  entries.resize(keep);
  entries.insert(entries.end(), replacement.begin(), replacement.end());
  s.reset();
  s = open_storage(dir.path());
  EXPECT_EQ(s->end_offset(), offset);
  expect_same_entries(all(*s), entries);
  for (const Entry& e : entries) {
    EXPECT_EQ(s->term_at(e.offset), e.term);
    EXPECT_EQ(s->term_at(e.end_offset() - 1), e.term);
  }
}

TEST(LogStorage, ACrashBetweenSnapshotAndLogStartIsFinishedAtOpen) {
  TempDir dir;
  auto s = open_storage(dir.path());
  const auto entries = long_log(100);
  s->append(entries);
  s->sync();
  s.reset();
  // The snapshot file is written, the log start did not move yet.
  const Entry& last_covered = entries[59];
  const SnapshotMeta meta{last_covered.end_offset(), last_covered.term, Config{{1}, {}}};
  ASSERT_TRUE(write_snapshot_file(dir.path(), meta, Bytes{5}).ok());
  s = open_storage(dir.path());
  EXPECT_EQ(s->start_offset(), meta.end_offset);
  EXPECT_EQ(s->term_at(meta.end_offset - 1), meta.last_term);
  expect_same_entries(all(*s), std::vector<Entry>(entries.begin() + 60, entries.end()));
}

TEST(LogStorage, ALogThatStartsAfterEverySnapshotStopsTheOpen) {
  TempDir dir;
  auto s = open_storage(dir.path());
  s->append(long_log(100));
  const Offset end = s->end_offset();
  s->save_snapshot(SnapshotMeta{end, s->term_at(end - 1).value(), Config{{1}, {}}}, nullptr);
  ASSERT_TRUE(s->close().ok());
  s.reset();
  for (const auto& id : list_snapshots(dir.path())) {
    std::filesystem::remove(dir.path() / snapshot_file_name(id));
  }
  EXPECT_EQ(LogStorage::open(dir.path(), small_segments()).code(), ErrorCode::kCorruptMessage);
}

TEST(LogStorage, KeepsTheNewestTwoSnapshots) {
  TempDir dir;
  auto s = open_storage(dir.path());
  const auto entries = long_log(100);
  s->append(entries);
  for (size_t i : {10, 30, 50, 70}) {
    const Entry& e = entries[i];
    s->save_snapshot(SnapshotMeta{e.end_offset(), e.term, Config{{1}, {}}}, nullptr);
  }
  const auto files = list_snapshots(dir.path());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].end_offset, entries[50].end_offset());
  EXPECT_EQ(files[1].end_offset, entries[70].end_offset());
  // An older snapshot than the current one changes nothing.
  s->save_snapshot(SnapshotMeta{entries[5].end_offset(), 1, Config{}}, nullptr);
  EXPECT_EQ(s->start_offset(), entries[70].end_offset());
  EXPECT_EQ(list_snapshots(dir.path()).size(), 2u);
}

TEST(LogStorage, ABatchThatBreaksTheTermOrderStopsTheOpen) {
  TempDir dir;
  auto s = open_storage(dir.path());
  s->append(std::vector<Entry>{data_entry(0, 5, 2), data_entry(2, 5, 1)});
  ASSERT_TRUE(s->close().ok());
  s.reset();
  {
    auto log = storage::PartitionLog::open(dir.path(), small_segments().log, 0);
    ASSERT_TRUE(log.ok());
    auto batch = storage::testing::make_value_batch(1, 10, 0);
    records::set_partition_leader_epoch(batch, 4);  // older than the entries before it
    ASSERT_TRUE((*log)->append(batch, 0).ok());
    ASSERT_TRUE((*log)->close().ok());
  }
  auto opened = LogStorage::open(dir.path(), small_segments());
  EXPECT_EQ(opened.code(), ErrorCode::kCorruptMessage);
}

TEST(LogStorage, AGapLeftByACrashIsCutAtOpen) {
  TempDir dir;
  auto s = open_storage(dir.path());
  s->append(std::vector<Entry>{data_entry(0, 5, 2), data_entry(2, 5, 1)});
  s->sync();
  s.reset();  // crash
  // A later segment survived while the end of the one before did not.
  auto batch = data_entry(100, 5, 1).data;
  Bytes bytes = *batch;
  records::set_base_offset(bytes, 100);
  records::set_partition_leader_epoch(bytes, 5);
  const auto orphan = dir.path() / "00000000000000000100.log";
  {
    std::ofstream out(orphan, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  s = open_storage(dir.path());
  EXPECT_EQ(s->end_offset(), 3);
  EXPECT_FALSE(std::filesystem::exists(orphan));
  s->append(std::vector<Entry>{data_entry(3, 6, 2)});
  EXPECT_EQ(s->term_at(4), 6);
}

TEST(LogStorageDeathTest, AMalformedDataEntryStopsTheProcess) {
  TempDir dir;
  auto s = open_storage(dir.path());
  Entry bad = data_entry(0, 1, 3);
  bad.count = 2;
  EXPECT_DEATH(s->append(std::vector<Entry>{bad}), "records");
  Entry gap = data_entry(5, 1, 1);
  EXPECT_DEATH(s->append(std::vector<Entry>{gap}), "outside");
}

}  // namespace
}  // namespace fjord::raft
