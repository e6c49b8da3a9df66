// Checkpoint files, index encoding, record scanning and partition directories.
#include <gtest/gtest.h>

#include <fstream>

#include "storage/checkpoint.h"
#include "storage/index.h"
#include "storage/partition_dirs.h"
#include "storage/record_scan.h"
#include "storage/segment.h"
#include "storage/test_util.h"

namespace fjord::storage {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(Checkpoint, RoundTripAndDamageReadsAsAbsent) {
  TempDir dir;
  const fs::path path = dir.path() / "x.checkpoint";
  EXPECT_FALSE(read_checkpoint(path, 1));
  ASSERT_TRUE(write_checkpoint(path, {42, -7, 1LL << 40}, true).ok());
  auto values = read_checkpoint(path, 3);
  ASSERT_TRUE(values);
  EXPECT_EQ(*values, (std::vector<int64_t>{42, -7, 1LL << 40}));
  EXPECT_FALSE(read_checkpoint(path, 2));  // wrong shape
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('5');  // "52 ..." no longer matches the CRC
  }
  EXPECT_FALSE(read_checkpoint(path, 3));
  EXPECT_FALSE(fs::exists(dir.path() / "x.checkpoint.tmp"));
}

TEST(Index, OffsetIndexFloorAndParseChecks) {
  OffsetIndex index;
  index.append({0, 0});
  index.append({10, 4096});
  index.append({25, 9000});
  EXPECT_EQ(index.floor(0)->position, 0u);
  EXPECT_EQ(index.floor(9)->position, 0u);
  EXPECT_EQ(index.floor(10)->position, 4096u);
  EXPECT_EQ(index.floor(1000)->position, 9000u);
  auto bytes = index.serialize();
  ASSERT_EQ(bytes.size(), 24u);
  auto parsed = OffsetIndex::parse(bytes, {10000, 100});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->entries().size(), 3u);
  EXPECT_FALSE(OffsetIndex::parse(bytes, {9000, 100}));  // position beyond the segment
  EXPECT_FALSE(OffsetIndex::parse(bytes, {10000, 25}));  // offset beyond the segment
  EXPECT_FALSE(OffsetIndex::parse(std::span(bytes).first(20), {10000, 100}));
  std::swap(bytes[11], bytes[19]);  // no longer monotonic
  EXPECT_FALSE(OffsetIndex::parse(bytes, {10000, 100}));
}

TEST(Index, TimeIndexLastBefore) {
  TimeIndex index;
  index.append({100, 0});
  index.append({200, 5});
  index.append({200, 7});
  index.append({300, 9});
  EXPECT_FALSE(index.last_before(100));
  EXPECT_EQ(index.last_before(101)->relative_offset, 0u);
  EXPECT_EQ(index.last_before(201)->relative_offset, 7u);
  EXPECT_EQ(index.last_before(1000)->relative_offset, 9u);
  auto parsed = TimeIndex::parse(index.serialize(), {1, 10});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->entries().size(), 4u);
  EXPECT_FALSE(TimeIndex::parse(index.serialize(), {1, 9}));
}

TEST(SegmentNames, TwentyDigits) {
  EXPECT_EQ(segment_file_stem(1234), "00000000000000001234");
  EXPECT_EQ(parse_segment_file_stem("00000000000000001234"), 1234);
  EXPECT_FALSE(parse_segment_file_stem("1234"));
  EXPECT_FALSE(parse_segment_file_stem("0000000000000000123x"));
}

TEST(RecordScan, SplitsRecordsAndRejectsGarbage) {
  auto batch = testing::make_batch({{"a", "1", 0}, {std::nullopt, "2", 5}, {"c", std::nullopt, 9}}, 0);
  std::span<const uint8_t> section(batch.data() + records::kBatchHeaderSize,
                                   batch.size() - records::kBatchHeaderSize);
  std::vector<RecordView> records;
  ASSERT_TRUE(scan_records(section, 3, records));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_TRUE(records[0].has_key);
  EXPECT_EQ(std::string(records[0].key.begin(), records[0].key.end()), "a");
  EXPECT_FALSE(records[1].has_key);
  EXPECT_TRUE(records[1].has_value);
  EXPECT_FALSE(records[2].has_value);
  EXPECT_EQ(records[2].offset_delta, 2);
  EXPECT_FALSE(scan_records(section, 2, records));  // bytes left over
  EXPECT_FALSE(scan_records(section, 4, records));  // too few
  EXPECT_FALSE(scan_records(section.first(section.size() - 1), 3, records));
}

TEST(PartitionDirs, ListAndRemove) {
  TempDir dir;
  fs::create_directories(dir.path() / "orders-0");
  fs::create_directories(dir.path() / "my-topic-12");
  fs::create_directories(dir.path() / "gone-1.deleted");
  fs::create_directories(dir.path() / "no_partition");
  fs::create_directories(dir.path() / "bad-x");
  std::ofstream(dir.path() / "file-3");
  auto listed = list_partition_dirs(dir.path());
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, (std::vector<std::pair<std::string, int32_t>>{{"my-topic", 12},
                                                                    {"orders", 0}}));
  EXPECT_EQ(partition_dir(dir.path(), "orders", 0), dir.path() / "orders-0");
  std::ofstream(dir.path() / "orders-0" / "00000000000000000000.log") << "x";
  ASSERT_TRUE(remove_partition_dir(dir.path() / "orders-0").ok());
  EXPECT_FALSE(fs::exists(dir.path() / "orders-0"));
  EXPECT_FALSE(fs::exists(dir.path() / "orders-0.deleted"));
  remove_leftover_deleted_dirs(dir.path());
  EXPECT_FALSE(fs::exists(dir.path() / "gone-1.deleted"));
  EXPECT_EQ(list_partition_dirs(dir.path())->size(), 1u);
}

}  // namespace
}  // namespace fjord::storage
