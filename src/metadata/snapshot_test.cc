#include "metadata/snapshot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "metadata/controller.h"
#include "records/batch.h"

namespace fjord::metadata {
namespace {

MetadataImage sample_image() {
  MetadataImage image;
  image.cluster_id = "c1";
  image.last_applied_offset = 41;
  image.next_producer_id = 5000;
  BrokerInfo b1;
  b1.id = 1;
  b1.incarnation = protocol::Uuid{3, 4};
  b1.epoch = 7;
  b1.endpoints = {{"PLAINTEXT", "127.0.0.1", 9092}, {"SSL", "h", 9093}};
  b1.rack = "rack-a";
  b1.fenced = false;
  BrokerInfo b2 = b1;
  b2.id = 2;
  b2.epoch = 30;
  b2.rack.reset();
  b2.fenced = true;
  image.brokers = {{1, b1}, {2, b2}};
  image.controllers = {{4, {4, "10.0.0.4", 19095}}, {5, {5, "h5", 19096}}};
  for (int t = 0; t < 3; ++t) {
    auto topic = std::make_shared<TopicInfo>();
    topic->name = "topic-" + std::to_string(t);
    topic->id = protocol::Uuid{static_cast<uint64_t>(t + 1), 9};
    for (int32_t p = 0; p < 4 + t; ++p) {
      PartitionInfo info;
      info.replicas = {1 + p % 2, 2 - p % 2};
      info.isr = {1 + p % 2};
      info.leader = 1 + p % 2;
      info.leader_epoch = p;
      info.partition_epoch = 2 * p;
      topic->partitions.push_back(info);
    }
    topic->partition_count = static_cast<int32_t>(topic->partitions.size());
    if (t == 1) topic->configs = {{"retention.ms", "1000"}, {"cleanup.policy", "compact"}};
    image.put(topic);
  }
  return image;
}

void expect_same(const MetadataImage& a, const MetadataImage& b) {
  EXPECT_EQ(a.cluster_id, b.cluster_id);
  EXPECT_EQ(a.last_applied_offset, b.last_applied_offset);
  EXPECT_EQ(a.next_producer_id, b.next_producer_id);
  ASSERT_EQ(a.brokers.size(), b.brokers.size());
  for (const auto& [id, broker] : a.brokers) {
    auto other = b.brokers.find(id);
    ASSERT_NE(other, b.brokers.end());
    EXPECT_EQ(broker, other->second);
  }
  EXPECT_EQ(a.controllers, b.controllers);
  ASSERT_EQ(a.topics.size(), b.topics.size());
  for (const auto& [name, topic] : a.topics) {
    const TopicInfo* other = b.find(name);
    ASSERT_NE(other, nullptr) << name;
    EXPECT_EQ(b.find(topic->id), other);
    EXPECT_EQ(topic->partition_count, other->partition_count);
    EXPECT_EQ(topic->configs, other->configs);
    ASSERT_EQ(topic->partitions.size(), other->partitions.size());
    for (size_t p = 0; p < topic->partitions.size(); ++p) {
      EXPECT_EQ(topic->partitions[p], other->partitions[p]) << name << " partition " << p;
    }
  }
}

std::vector<size_t> batch_starts(const std::vector<uint8_t>& bytes) {
  std::vector<size_t> starts;
  size_t position = 0;
  while (position < bytes.size()) {
    starts.push_back(position);
    position += records::read_header(std::span(bytes).subspan(position)).size_bytes();
  }
  return starts;
}

TEST(SnapshotTest, RoundTripsEveryPartOfTheImage) {
  const MetadataImage image = sample_image();
  const auto bytes = write_snapshot(image, 3, 1234);
  auto loaded = load_snapshot(bytes, image.last_applied_offset + 1, "c1");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  expect_same(image, **loaded);
}

TEST(SnapshotTest, AnEmptyImageRoundTrips) {
  MetadataImage image;
  auto loaded = load_snapshot(write_snapshot(image, 0, 0), 0, "");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  expect_same(image, **loaded);
}

TEST(SnapshotTest, CorruptOrTruncatedSnapshotsAreErrors) {
  const auto good = write_snapshot(sample_image(), 0, 0);
  auto flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  auto bad_crc = load_snapshot(flipped, 42, "c1");
  ASSERT_FALSE(bad_crc.ok());
  EXPECT_EQ(bad_crc.error().code, ErrorCode::kCorruptMessage);

  // Cut just before the footer batch: the file ends at a batch boundary.
  const std::vector<size_t> starts = batch_starts(good);
  ASSERT_GE(starts.size(), 3u);
  std::vector<uint8_t> truncated(good.begin(),
                                 good.begin() + static_cast<ptrdiff_t>(starts.back()));
  auto no_footer = load_snapshot(truncated, 42, "c1");
  ASSERT_FALSE(no_footer.ok());
  EXPECT_NE(no_footer.error().message.find("truncated"), std::string::npos)
      << no_footer.error().message;

  std::vector<uint8_t> torn(good.begin(), good.end() - 3);
  EXPECT_FALSE(load_snapshot(torn, 42, "c1").ok());
  std::vector<uint8_t> no_header(good.begin() + static_cast<ptrdiff_t>(starts[1]), good.end());
  EXPECT_FALSE(load_snapshot(no_header, 42, "c1").ok());
  auto twice = good;
  twice.insert(twice.end(), good.begin(), good.end());
  EXPECT_FALSE(load_snapshot(twice, 42, "c1").ok());
}

TEST(SnapshotTest, FileNamesFollowKafka) {
  EXPECT_EQ(snapshot_file_name({12345, 7}), "00000000000000012345-0000000007.checkpoint");
  EXPECT_EQ(parse_snapshot_file_name("00000000000000012345-0000000007.checkpoint"),
            (SnapshotId{12345, 7}));
  EXPECT_FALSE(parse_snapshot_file_name("00000000000000012345-0000000007.checkpoint.tmp"));
  EXPECT_FALSE(parse_snapshot_file_name("0000000000000001234x-0000000007.checkpoint"));
  EXPECT_FALSE(parse_snapshot_file_name("00000000000000000000.log"));
}

class SnapshotFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("fjord-snapshot-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SnapshotFileTest, ACorruptFileIsAnErrorNamingIt) {
  auto image = sample_image();
  auto path = write_snapshot_file(dir_, image, 0, 0);
  ASSERT_TRUE(path.ok());
  auto ids = list_snapshots(dir_);
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1u);
  ASSERT_EQ(ids->front(), (SnapshotId{42, 0}));
  ASSERT_TRUE(load_snapshot_file(dir_, (*ids)[0], "c1").ok());
  {
    std::fstream f(*path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  auto loaded = load_snapshot_file(dir_, (*ids)[0], "c1");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find(path->string()), std::string::npos);
}

TEST_F(SnapshotFileTest, ControllerStartsFromTheNewestSnapshotAndReplaysTheRest) {
  ControllerOptions options;
  options.data_dir = dir_;
  options.snapshot_after_bytes = 1;  // a snapshot after every change
  const auto log_dir = dir_ / "__cluster_metadata-0";
  std::shared_ptr<const MetadataImage> before;
  {
    auto c = Controller::open(options, 0);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->create_topic("a", 3, 1, {{"retention.ms", "5"}}, false, 0).ok());
    ASSERT_TRUE((*c)->create_topic("b", 2, 1, {}, false, 0).ok());
    ASSERT_TRUE((*c)->delete_topic("a", 0).ok());
    ASSERT_TRUE((*c)->allocate_producer_ids(10, 0).ok());
    before = (*c)->image();
    ASSERT_TRUE((*c)->close().ok());
  }
  auto ids = list_snapshots(log_dir);
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 2u) << "only the two newest are kept";
  EXPECT_EQ(ids->front().end_offset, before->last_applied_offset + 1);
  {
    options.snapshot_after_bytes = 20 << 20;
    auto c = Controller::open(options, 0);
    ASSERT_TRUE(c.ok());
    expect_same(*before, *(*c)->image());
    ASSERT_TRUE((*c)->create_topic("c", 1, 1, {}, false, 0).ok());  // after the snapshot
    before = (*c)->image();
    ASSERT_TRUE((*c)->close().ok());
  }
  {
    auto c = Controller::open(options, 0);
    ASSERT_TRUE(c.ok());
    expect_same(*before, *(*c)->image());
    ASSERT_TRUE((*c)->close().ok());
  }
  // Start-up really reads the snapshot: a corrupt one stops it, naming the file.
  const auto newest = log_dir / snapshot_file_name(ids->front());
  std::filesystem::resize_file(newest, std::filesystem::file_size(newest) - 1);
  auto c = Controller::open(options, 0);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(newest.string()), std::string::npos) << c.error().message;
}

TEST_F(SnapshotFileTest, StartUpReplaysOnlyTheLogAfterTheSnapshot) {
  ControllerOptions options;
  options.data_dir = dir_;
  const auto log_dir = dir_ / "__cluster_metadata-0";
  int64_t end_offset = 0;
  {
    auto c = Controller::open(options, 0);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->create_topic("in-log-only", 2, 1, {}, false, 0).ok());
    end_offset = (*c)->image()->last_applied_offset + 1;
    ASSERT_TRUE((*c)->close().ok());
  }
  // A snapshot that says otherwise than the log below its end: start-up must
  // believe the snapshot and replay only what follows it.
  MetadataImage image;
  image.last_applied_offset = end_offset - 1;
  auto topic = std::make_shared<TopicInfo>();
  topic->name = "in-snapshot-only";
  topic->id = protocol::Uuid{1, 2};
  image.put(topic);
  ASSERT_TRUE(write_snapshot_file(log_dir, image, 0, 0).ok());
  auto c = Controller::open(options, 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->image()->find("in-log-only"), nullptr);
  EXPECT_NE((*c)->image()->find("in-snapshot-only"), nullptr);
  EXPECT_EQ((*c)->image()->last_applied_offset, end_offset - 1);
  ASSERT_TRUE((*c)->create_topic("after", 1, 1, {}, false, 0).ok());
  EXPECT_EQ((*c)->image()->find("after")->partition_count, 1);
}

}  // namespace
}  // namespace fjord::metadata
