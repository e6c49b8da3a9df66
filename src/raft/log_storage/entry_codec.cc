#include "raft/log_storage/entry_codec.h"

#include <fmt/format.h>

#include <cstdlib>
#include <limits>

#include "common/endian.h"
#include "common/outbound.h"
#include "protocol/generated/leader_change_message.h"
#include "protocol/generated/voters_record.h"
#include "protocol/wire.h"
#include "records/batch.h"
#include "records/builder.h"
#include "records/control.h"
#include "records/record.h"

namespace fjord::raft {
namespace {

// Control batches are tiny; this bounds what decoding one may decompress.
constexpr size_t kMaxControlBatchBytes = 1 << 20;
constexpr int16_t kControlKeyVersion = 0;
constexpr int16_t kLeaderChangeVersion = 0;
constexpr int16_t kVotersVersion = 0;

Error corrupt(std::string_view why) {
  return Error{ErrorCode::kCorruptMessage, fmt::format("raft entry: {}", why)};
}

template <typename Message>
std::vector<uint8_t> encode_message(const Message& message, int16_t version) {
  OutboundMessage out;
  protocol::Writer writer(out);
  message.encode(writer, version);
  if (!writer.ok()) std::abort();  // only ids and empty lists: always representable
  return std::move(out.bytes);
}

protocol::VotersRecord voters_record(const std::vector<NodeId>& nodes) {
  protocol::VotersRecord record;
  record.version = kVotersVersion;
  for (NodeId id : nodes) {
    protocol::VotersRecord::Voter voter;
    voter.voter_id = id;
    record.voters.push_back(std::move(voter));
  }
  return record;
}

std::vector<uint8_t> encode_config(const Config& config) {
  protocol::VotersRecord record = voters_record(config.voters);
  if (!config.learners.empty()) {
    record.unknown_tagged_fields.push_back(
        {kLearnersTag, encode_message(voters_record(config.learners), kVotersVersion)});
  }
  return encode_message(record, kVotersVersion);
}

std::vector<uint8_t> encode_leader_change() {
  protocol::LeaderChangeMessage message;
  message.version = kLeaderChangeVersion;
  message.leader_id = kNoNode;  // the entry does not say who leads
  return encode_message(message, kLeaderChangeVersion);
}

std::vector<NodeId> node_ids(const protocol::VotersRecord& record) {
  std::vector<NodeId> ids;
  for (const auto& voter : record.voters) ids.push_back(voter.voter_id);
  return ids;
}

Result<protocol::VotersRecord> decode_voters(std::span<const uint8_t> bytes) {
  protocol::Reader reader(bytes);
  protocol::VotersRecord record;
  const int16_t version = reader.read_int16();
  if (!reader.ok() || version != kVotersVersion) return corrupt("unsupported VotersRecord");
  protocol::Reader body(bytes);
  record.decode(body, kVotersVersion);
  if (!body.ok() || body.remaining() != 0) return corrupt("malformed VotersRecord");
  return record;
}

Result<Config> decode_config(std::span<const uint8_t> value) {
  auto record = decode_voters(value);
  if (!record.ok()) return record.error();
  Config config;
  config.voters = node_ids(*record);
  for (const auto& field : record->unknown_tagged_fields) {
    if (field.tag != kLearnersTag) continue;
    auto learners = decode_voters(field.data);
    if (!learners.ok()) return learners.error();
    config.learners = node_ids(*learners);
  }
  return config;
}

}  // namespace

Status check_entry(const Entry& entry) {
  if (entry.offset < 0 || entry.count < 1 || entry.term < 0 || entry.term > INT32_MAX) {
    return corrupt(fmt::format("offset {}, count {} or term {} out of range", entry.offset,
                               entry.count, entry.term));
  }
  if (entry.type != EntryType::kData) {
    if (entry.count != 1) return corrupt("a control entry spans one offset");
    return {};
  }
  if (!entry.data) return corrupt("a data entry without a batch");
  auto header = records::check_batch_framing(*entry.data);
  if (!header.ok()) return header.error();
  if (header->size_bytes() != entry.data->size()) return corrupt("data is not exactly one batch");
  if (header->is_control()) return corrupt("data is a control batch");
  if (header->records_count != entry.count || header->last_offset_delta + 1 != entry.count) {
    return corrupt(fmt::format("batch of {} records spanning {} offsets for an entry of {}",
                               header->records_count, header->last_offset_delta + 1, entry.count));
  }
  return {};
}

void append_entry_batch(const Entry& entry, std::vector<uint8_t>& out) {
  const size_t at = out.size();
  if (entry.type == EntryType::kData) {
    out.insert(out.end(), entry.data->begin(), entry.data->end());
  } else {
    const bool config = entry.type == EntryType::kConfig;
    const auto value = config ? encode_config(entry.config) : encode_leader_change();
    const auto type =
        config ? records::ControlType::kKraftVoters : records::ControlType::kLeaderChange;
    uint8_t key[4];
    store_be<int16_t>(key, kControlKeyVersion);
    store_be<int16_t>(key + 2, static_cast<int16_t>(type));
    records::BatchOptions options;
    options.control = true;
    records::BatchBuilder builder(options);
    // Timestamp 0: the bytes of an entry are the same on every replica.
    if (!builder.append(0, records::Bytes(key, 4), records::Bytes(value)).ok()) std::abort();
    auto built = builder.build();
    if (!built.ok()) std::abort();
    out.insert(out.end(), built->begin(), built->end());
  }
  std::span<uint8_t> batch(out.data() + at, out.size() - at);
  records::set_base_offset(batch, entry.offset);
  records::set_partition_leader_epoch(batch, static_cast<int32_t>(entry.term));
}

Result<Entry> decode_entry(std::span<const uint8_t> batch) {
  if (batch.size() < records::kBatchHeaderSize) return corrupt("truncated batch");
  const records::BatchHeader header = records::read_header(batch);
  if (header.magic != 2 || header.size_bytes() != batch.size() || header.last_offset_delta < 0 ||
      header.partition_leader_epoch < 0 || header.base_offset < 0 ||
      header.last_offset_delta == std::numeric_limits<int32_t>::max()) {
    return corrupt("bad batch header");
  }
  Entry entry;
  entry.offset = header.base_offset;
  entry.count = header.last_offset_delta + 1;
  entry.term = header.partition_leader_epoch;
  if (!header.is_control()) {
    entry.type = EntryType::kData;
    entry.data = std::make_shared<const Bytes>(batch.begin(), batch.end());
    return entry;
  }
  if (entry.count != 1) return corrupt("a control entry spans one offset");
  std::vector<uint8_t> scratch;
  std::optional<records::ControlType> type;
  std::optional<Result<Config>> config;
  auto parsed = records::for_each_record(
      batch, scratch, kMaxControlBatchBytes, [&](const records::Record& record) {
        if (type) return;  // one record per entry; more would be ignored by Kafka too
        type = records::control_type(record);
        if (type == records::ControlType::kKraftVoters) {
          config =
              record.value ? decode_config(*record.value) : Result<Config>(corrupt("no value"));
        }
      });
  if (!parsed.ok()) return parsed.error();
  if (type == records::ControlType::kLeaderChange) {
    entry.type = EntryType::kLeaderChange;
  } else if (type == records::ControlType::kKraftVoters && config && config->ok()) {
    entry.type = EntryType::kConfig;
    entry.config = std::move(**config);
  } else {
    return corrupt("not a LeaderChange or a Voters control batch");
  }
  return entry;
}

}  // namespace fjord::raft
