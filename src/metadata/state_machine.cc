#include "metadata/state_machine.h"

#include <fmt/core.h>

#include <algorithm>

#include "protocol/generated/metadata/broker_registration_change_record.h"
#include "protocol/generated/metadata/config_record.h"
#include "protocol/generated/metadata/fence_broker_record.h"
#include "protocol/generated/metadata/partition_change_record.h"
#include "protocol/generated/metadata/partition_record.h"
#include "protocol/generated/metadata/producer_ids_record.h"
#include "protocol/generated/metadata/register_broker_record.h"
#include "protocol/generated/metadata/register_controller_record.h"
#include "protocol/generated/metadata/remove_topic_record.h"
#include "protocol/generated/metadata/topic_record.h"
#include "protocol/generated/metadata/unfence_broker_record.h"
#include "protocol/generated/metadata/unregister_broker_record.h"

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

PartitionInfo& partition_slot(TopicInfo& topic, int32_t index) {
  if (topic.partitions.size() <= static_cast<size_t>(index)) {
    topic.partitions.resize(static_cast<size_t>(index) + 1);
  }
  return topic.partitions[static_cast<size_t>(index)];
}

BrokerInfo* broker_at_epoch(MetadataImage& image, int32_t id, int64_t epoch) {
  auto it = image.brokers.find(id);
  return it == image.brokers.end() || it->second.epoch != epoch ? nullptr : &it->second;
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
      // Partitions are created in order, so a record may only redo one or add
      // the next: a corrupt id must not make the image allocate 2^31 slots.
      if (r->partition_id < 0 || r->partition_id > existing->partition_count) {
        return Error{ErrorCode::kCorruptMessage,
                     fmt::format("PartitionRecord with partition {} of a topic with {}",
                                 r->partition_id, existing->partition_count)};
      }
      TopicInfo& topic = own(*existing);
      topic.partition_count = std::max(topic.partition_count, r->partition_id + 1);
      PartitionInfo& partition = partition_slot(topic, r->partition_id);
      partition.replicas = std::move(r->replicas);
      partition.isr = std::move(r->isr);
      partition.leader = r->leader;
      partition.leader_epoch = std::max(0, r->leader_epoch);
      partition.partition_epoch = std::max(0, r->partition_epoch);
      break;
    }
    case pm::PartitionChangeRecord::kApiKey: {
      auto r = decode_body<pm::PartitionChangeRecord>(record);
      if (!r) return r.error();
      const TopicInfo* existing = image.find(r->topic_id);
      if (existing == nullptr || r->partition_id < 0 ||
          r->partition_id >= existing->partition_count) {
        break;
      }
      TopicInfo& topic = own(*existing);
      PartitionInfo& partition = partition_slot(topic, r->partition_id);
      constexpr int32_t kNoLeaderChange = -2;
      if (r->leader != kNoLeaderChange) {
        partition.leader = r->leader;
        ++partition.leader_epoch;
      }
      if (r->isr) partition.isr = std::move(*r->isr);
      if (r->replicas) partition.replicas = std::move(*r->replicas);
      ++partition.partition_epoch;
      break;
    }
    case pm::RegisterBrokerRecord::kApiKey: {
      auto r = decode_body<pm::RegisterBrokerRecord>(record);
      if (!r) return r.error();
      BrokerInfo broker;
      broker.id = r->broker_id;
      broker.incarnation = r->incarnation_id;
      broker.epoch = r->broker_epoch;
      for (const auto& endpoint : r->end_points) {
        broker.endpoints.push_back({endpoint.name, endpoint.host, endpoint.port});
      }
      broker.rack = r->rack;
      broker.fenced = r->fenced;
      image.brokers[broker.id] = std::move(broker);
      break;
    }
    case pm::RegisterControllerRecord::kApiKey: {
      auto r = decode_body<pm::RegisterControllerRecord>(record);
      if (!r) return r.error();
      if (r->end_points.empty()) {
        return Error{ErrorCode::kCorruptMessage,
                     fmt::format("controller {} registered without an endpoint", r->controller_id)};
      }
      const auto& endpoint = r->end_points.front();
      image.controllers[r->controller_id] = {r->controller_id, endpoint.host, endpoint.port};
      break;
    }
    case pm::UnregisterBrokerRecord::kApiKey: {
      auto r = decode_body<pm::UnregisterBrokerRecord>(record);
      if (!r) return r.error();
      if (broker_at_epoch(image, r->broker_id, r->broker_epoch)) image.brokers.erase(r->broker_id);
      break;
    }
    case pm::FenceBrokerRecord::kApiKey: {
      auto r = decode_body<pm::FenceBrokerRecord>(record);
      if (!r) return r.error();
      if (BrokerInfo* broker = broker_at_epoch(image, r->id, r->epoch)) broker->fenced = true;
      break;
    }
    case pm::UnfenceBrokerRecord::kApiKey: {
      auto r = decode_body<pm::UnfenceBrokerRecord>(record);
      if (!r) return r.error();
      if (BrokerInfo* broker = broker_at_epoch(image, r->id, r->epoch)) broker->fenced = false;
      break;
    }
    case pm::BrokerRegistrationChangeRecord::kApiKey: {
      auto r = decode_body<pm::BrokerRegistrationChangeRecord>(record);
      if (!r) return r.error();
      // fenced: 1 fences, -1 unfences, 0 leaves it (KRaft's encoding).
      BrokerInfo* broker = broker_at_epoch(image, r->broker_id, r->broker_epoch);
      if (broker != nullptr && r->fenced != 0) broker->fenced = r->fenced > 0;
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
