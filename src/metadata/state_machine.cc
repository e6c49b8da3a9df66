#include "metadata/state_machine.h"

#include <fmt/core.h>

#include <algorithm>

#include "protocol/generated/metadata/config_record.h"
#include "protocol/generated/metadata/partition_record.h"
#include "protocol/generated/metadata/producer_ids_record.h"
#include "protocol/generated/metadata/remove_topic_record.h"
#include "protocol/generated/metadata/topic_record.h"

namespace fjord::metadata {
namespace {

namespace pm = protocol::metadata;

template <typename Record>
Result<Record> decode_body(const MetadataRecordView& view) {
  Record record;
  protocol::Reader reader(view.body);
  record.decode(reader, view.version);
  if (!reader.ok()) {
    return Error{ErrorCode::kCorruptMessage,
                 fmt::format("bad metadata record type {}: {}", view.type, reader.error())};
  }
  return record;
}

}  // namespace

MetadataStateMachine::MetadataStateMachine(std::shared_ptr<const MetadataImage> initial) {
  published_.store(std::move(initial));
}

MetadataImage& MetadataStateMachine::working() {
  if (!working_) working_ = std::make_shared<MetadataImage>(*published_.load());
  return *working_;
}

int64_t MetadataStateMachine::applied_offset() const {
  return working_ ? working_->last_applied_offset : published_.load()->last_applied_offset;
}

void MetadataStateMachine::publish() {
  if (!working_) return;
  published_.store(std::move(working_));
  working_.reset();
  owned_topics_.clear();
}

void MetadataStateMachine::reset(std::shared_ptr<const MetadataImage> image) {
  working_.reset();
  owned_topics_.clear();
  published_.store(std::move(image));
}

Status MetadataStateMachine::apply_batch(int64_t base_offset,
                                         std::span<const std::vector<uint8_t>> record_values) {
  int64_t offset = base_offset;
  for (const auto& value : record_values) {
    auto view = parse_metadata_record(value);
    if (!view) {
      return Error{view.error().code,
                   fmt::format("metadata record at offset {}: {}", offset, view.error().message)};
    }
    if (Status s = apply(offset++, *view); !s) return s;
  }
  return {};
}

TopicInfo& MetadataStateMachine::own(const TopicInfo& topic) {
  if (owned_topics_.contains(&topic)) return const_cast<TopicInfo&>(topic);
  auto copy = std::make_shared<TopicInfo>(topic);
  TopicInfo& mine = *copy;
  working().put(std::move(copy));
  owned_topics_.insert(&mine);
  return mine;
}

Status MetadataStateMachine::apply(int64_t offset, const MetadataRecordView& record) {
  MetadataImage& image = working();
  switch (record.type) {
    case pm::TopicRecord::kApiKey: {
      auto r = decode_body<pm::TopicRecord>(record);
      if (!r) return r.error();
      auto topic = std::make_shared<TopicInfo>();
      topic->name = r->name;
      topic->id = r->topic_id;
      owned_topics_.insert(topic.get());
      image.put(std::move(topic));
      break;
    }
    case pm::PartitionRecord::kApiKey: {
      auto r = decode_body<pm::PartitionRecord>(record);
      if (!r) return r.error();
      const TopicInfo* existing = image.find(r->topic_id);
      if (existing == nullptr) break;  // topic removed later in the same history
      TopicInfo& topic = own(*existing);
      topic.partition_count = std::max(topic.partition_count, r->partition_id + 1);
      break;
    }
    case pm::ConfigRecord::kApiKey: {
      auto r = decode_body<pm::ConfigRecord>(record);
      if (!r) return r.error();
      if (r->resource_type != kTopicResourceType) break;
      const TopicInfo* existing = image.find(r->resource_name);
      if (existing == nullptr) break;
      TopicInfo& topic = own(*existing);
      if (r->value) {
        topic.configs[r->name] = *r->value;
      } else {
        topic.configs.erase(r->name);
      }
      break;
    }
    case pm::RemoveTopicRecord::kApiKey: {
      auto r = decode_body<pm::RemoveTopicRecord>(record);
      if (!r) return r.error();
      if (const TopicInfo* existing = image.find(r->topic_id)) {
        owned_topics_.erase(existing);
        image.erase(*existing);
      }
      break;
    }
    case pm::ProducerIdsRecord::kApiKey: {
      auto r = decode_body<pm::ProducerIdsRecord>(record);
      if (!r) return r.error();
      image.next_producer_id = std::max(image.next_producer_id, r->next_producer_id);
      break;
    }
    default:
      break;  // record types of later features are skipped, as KRaft readers do
  }
  image.last_applied_offset = offset;
  return {};
}

}  // namespace fjord::metadata
