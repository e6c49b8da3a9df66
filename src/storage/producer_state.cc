#include "storage/producer_state.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <string>

#include "common/endian.h"
#include "records/crc32c.h"
#include "storage/file.h"

namespace fjord::storage {
namespace {

constexpr uint16_t kSnapshotVersion = 1;
constexpr size_t kHeaderBytes = 2 + 4 + 4;  // version, crc, count
constexpr size_t kEntryFixedBytes = 8 + 2 + 8 + 8 + 8 + 1;
constexpr size_t kBatchBytes = 4 + 4 + 8 + 8;
constexpr std::string_view kSnapshotSuffix = ".snapshot";
constexpr size_t kOffsetDigits = 20;

// Records in the batch minus one: sequences wrap from INT32_MAX to 0.
int64_t sequence_span(int32_t first_sequence, int32_t last_sequence) {
  int64_t span = static_cast<int64_t>(last_sequence) - first_sequence;
  if (span < 0) span += int64_t{INT32_MAX} + 1;
  return span;
}

bool in_sequence(int32_t last_sequence, int32_t next_sequence) {
  return static_cast<int64_t>(next_sequence) == static_cast<int64_t>(last_sequence) + 1 ||
         (next_sequence == 0 && last_sequence == INT32_MAX);
}

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  template <typename T>
  void put(T value) {
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    store_be<T>(out_.data() + at, value);
  }

 private:
  std::vector<uint8_t>& out_;
};

// Reads big-endian integers; a read past the end sets failed() and returns 0.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  template <typename T>
  T get() {
    if (failed_ || remaining() < sizeof(T)) {
      failed_ = true;
      return 0;
    }
    T value = load_be<T>(bytes_.data() + pos_);
    pos_ += sizeof(T);
    return value;
  }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool failed() const { return failed_; }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool failed_ = false;
};

Error corrupt(const std::string& what) {
  return Error{ErrorCode::kCorruptMessage, "producer snapshot: " + what};
}

void serialize_entry(const ProducerEntry& e, Writer& w) {
  w.put<int64_t>(e.producer_id);
  w.put<int16_t>(e.epoch);
  w.put<int64_t>(e.last_timestamp_ms);
  w.put<int64_t>(e.last_append_ms);
  w.put<int64_t>(e.current_txn_first_offset);
  w.put<uint8_t>(e.batch_count);
  for (size_t i = 0; i < e.batch_count; ++i) {
    const auto& b = e.batches[i];
    w.put<int32_t>(b.first_sequence);
    w.put<int32_t>(b.last_sequence);
    w.put<int64_t>(b.last_offset);
    w.put<int64_t>(b.timestamp_ms);
  }
}

Result<ProducerEntry> parse_entry(Reader& r) {
  ProducerEntry e;
  e.producer_id = r.get<int64_t>();
  e.epoch = r.get<int16_t>();
  e.last_timestamp_ms = r.get<int64_t>();
  e.last_append_ms = r.get<int64_t>();
  e.current_txn_first_offset = r.get<int64_t>();
  const uint8_t batch_count = r.get<uint8_t>();
  if (r.failed()) return corrupt("truncated entry");
  if (e.producer_id < 0 || e.epoch < 0 || e.current_txn_first_offset < -1) {
    return corrupt("bad producer id, epoch or transaction offset");
  }
  if (batch_count > ProducerEntry::kMaxBatches) return corrupt("too many batches");
  int64_t previous_last_offset = -1;
  for (size_t i = 0; i < batch_count; ++i) {
    ProducerBatchMetadata b;
    b.first_sequence = r.get<int32_t>();
    b.last_sequence = r.get<int32_t>();
    b.last_offset = r.get<int64_t>();
    b.timestamp_ms = r.get<int64_t>();
    if (r.failed()) return corrupt("truncated batch");
    if (b.first_sequence < 0 || b.last_sequence < 0 || b.last_offset < 0 ||
        b.first_offset() <= previous_last_offset) {
      return corrupt("bad batch sequences or offsets");
    }
    previous_last_offset = b.last_offset;
    e.add_batch(b);
  }
  return e;
}

void remove_quietly(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

std::optional<int64_t> parse_snapshot_name(const std::string& name) {
  if (name.size() != kOffsetDigits + kSnapshotSuffix.size() || !name.ends_with(kSnapshotSuffix)) {
    return std::nullopt;
  }
  int64_t offset = 0;
  const char* end = name.data() + kOffsetDigits;
  auto [ptr, ec] = std::from_chars(name.data(), end, offset);
  if (ec != std::errc() || ptr != end || offset < 0) return std::nullopt;
  return offset;
}

}  // namespace

ProducerBatchInfo producer_batch_info(const records::ValidatedBatch& batch) {
  return ProducerBatchInfo{batch.header.producer_id, batch.header.producer_epoch,
                           batch.header.base_sequence, batch.last_sequence(),
                           batch.is_transactional()};
}

int64_t ProducerBatchMetadata::first_offset() const {
  return last_offset - sequence_span(first_sequence, last_sequence);
}

void ProducerEntry::add_batch(const ProducerBatchMetadata& batch) {
  if (batch_count == kMaxBatches) {
    std::move(batches.begin() + 1, batches.end(), batches.begin());
    --batch_count;
  }
  batches[batch_count++] = batch;
}

ProducerCheck ProducerStateTable::check(const ProducerBatchInfo& batch) const {
  if (batch.producer_id < 0) return {};
  auto it = entries_.find(batch.producer_id);
  if (it == entries_.end()) {
    // Unknown producer: any sequence (KIP-360), but only if there is room.
    if (entries_.size() >= config_.max_producers && !has_evictable()) {
      return {ErrorCode::kPolicyViolation, std::nullopt};
    }
    return {};
  }
  const ProducerEntry& e = it->second.entry;
  if (batch.epoch == e.epoch) {
    for (size_t i = 0; i < e.batch_count; ++i) {
      const auto& b = e.batches[i];
      if (b.first_sequence == batch.base_sequence && b.last_sequence == batch.last_sequence) {
        return {ErrorCode::kNone, b};
      }
    }
  }
  if (batch.epoch < e.epoch) return {ErrorCode::kInvalidProducerEpoch, std::nullopt};
  if (batch.epoch > e.epoch) {
    if (batch.base_sequence != 0) return {ErrorCode::kOutOfOrderSequenceNumber, std::nullopt};
  } else if (!in_sequence(e.last_sequence(), batch.base_sequence)) {
    return {ErrorCode::kOutOfOrderSequenceNumber, std::nullopt};
  }
  if (e.current_txn_first_offset >= 0 && !batch.is_transactional) {
    return {ErrorCode::kInvalidTxnState, std::nullopt};
  }
  return {};
}

void ProducerStateTable::apply(const ProducerBatchInfo& batch, int64_t last_offset,
                               int64_t max_timestamp_ms, int64_t now_ms) {
  if (batch.producer_id < 0) return;
  if (!entries_.contains(batch.producer_id)) {
    ProducerEntry fresh;
    fresh.producer_id = batch.producer_id;
    fresh.epoch = batch.epoch;
    insert(fresh);
  }
  Slot& slot = entries_.at(batch.producer_id);
  ProducerEntry& e = slot.entry;
  if (batch.epoch != e.epoch) {  // an epoch bump starts the sequences afresh
    e.epoch = batch.epoch;
    e.batch_count = 0;
  }
  const ProducerBatchMetadata metadata{batch.base_sequence, batch.last_sequence, last_offset,
                                       max_timestamp_ms};
  if (batch.base_sequence >= 0) e.add_batch(metadata);
  e.last_timestamp_ms = max_timestamp_ms;
  e.last_append_ms = now_ms;
  if (batch.is_transactional && e.current_txn_first_offset < 0) {
    e.current_txn_first_offset = batch.base_sequence >= 0 ? metadata.first_offset() : last_offset;
  }
  touch(slot);
}

Result<std::optional<int64_t>> ProducerStateTable::end_transaction(int64_t producer_id,
                                                                   int16_t epoch, int64_t now_ms) {
  auto it = entries_.find(producer_id);
  if (it != entries_.end() && epoch < it->second.entry.epoch) {
    return Error{ErrorCode::kInvalidProducerEpoch, "transaction marker with an old epoch"};
  }
  if (it == entries_.end()) {
    ProducerEntry fresh;
    fresh.producer_id = producer_id;
    fresh.epoch = epoch;
    insert(fresh);
  }
  Slot& slot = entries_.at(producer_id);
  ProducerEntry& e = slot.entry;
  if (epoch > e.epoch) {
    e.epoch = epoch;
    e.batch_count = 0;
  }
  std::optional<int64_t> first_offset;
  if (e.current_txn_first_offset >= 0) first_offset = e.current_txn_first_offset;
  e.current_txn_first_offset = -1;
  e.last_append_ms = now_ms;
  touch(slot);
  return first_offset;
}

size_t ProducerStateTable::expire(int64_t now_ms, int64_t producer_id_expiration_ms) {
  size_t dropped = 0;
  for (auto it = lru_.begin(); it != lru_.end();) {
    const ProducerEntry& e = entries_.at(*it).entry;
    int64_t idle_ms = 0;
    if (__builtin_sub_overflow(now_ms, e.last_append_ms, &idle_ms)) {
      idle_ms = e.last_append_ms < 0 ? INT64_MAX : INT64_MIN;  // a snapshot may hold anything
    }
    if (e.current_txn_first_offset < 0 && idle_ms >= producer_id_expiration_ms) {
      entries_.erase(*it);
      it = lru_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

const ProducerEntry* ProducerStateTable::find(int64_t producer_id) const {
  auto it = entries_.find(producer_id);
  return it == entries_.end() ? nullptr : &it->second.entry;
}

std::vector<const ProducerEntry*> ProducerStateTable::entries() const {
  std::vector<const ProducerEntry*> out;
  out.reserve(entries_.size());
  for (const auto& [id, slot] : entries_) out.push_back(&slot.entry);
  return out;
}

void ProducerStateTable::touch(Slot& slot) { lru_.splice(lru_.end(), lru_, slot.lru_position); }

bool ProducerStateTable::has_evictable() const {
  return std::any_of(lru_.begin(), lru_.end(), [this](int64_t id) {
    return entries_.at(id).entry.current_txn_first_offset < 0;
  });
}

bool ProducerStateTable::evict_one_idle() {
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (entries_.at(*it).entry.current_txn_first_offset < 0) {
      entries_.erase(*it);
      lru_.erase(it);
      return true;
    }
  }
  return false;
}

// Inserts as the most recently used. Beyond the bound the least recently used idle
// producer goes; if every producer has an open transaction the table grows (check()
// refuses new producers then, so only a replay of the log gets here).
void ProducerStateTable::insert(const ProducerEntry& entry) {
  if (entries_.size() >= config_.max_producers) evict_one_idle();
  lru_.push_back(entry.producer_id);
  entries_[entry.producer_id] = Slot{entry, std::prev(lru_.end())};
}

Result<std::vector<uint8_t>> ProducerStateTable::snapshot_bytes() const {
  std::vector<const ProducerEntry*> sorted;
  sorted.reserve(entries_.size());
  for (const auto& [id, slot] : entries_) sorted.push_back(&slot.entry);
  std::sort(sorted.begin(), sorted.end(),
            [](auto* a, auto* b) { return a->producer_id < b->producer_id; });
  std::vector<uint8_t> out;
  out.reserve(kHeaderBytes + sorted.size() * (kEntryFixedBytes + 2 * kBatchBytes));
  Writer w(out);
  w.put<uint16_t>(kSnapshotVersion);
  w.put<uint32_t>(0);  // CRC, filled in below
  w.put<uint32_t>(static_cast<uint32_t>(sorted.size()));
  for (const ProducerEntry* e : sorted) serialize_entry(*e, w);
  const uint32_t crc = records::crc32c(std::span<const uint8_t>(out).subspan(6));
  store_be<uint32_t>(out.data() + 2, crc);
  return out;
}

Result<ProducerStateTable> ProducerStateTable::from_snapshot(std::span<const uint8_t> bytes,
                                                             ProducerStateConfig config) {
  if (bytes.size() < kHeaderBytes) return corrupt("shorter than its header");
  Reader r(bytes);
  if (r.get<uint16_t>() != kSnapshotVersion) return corrupt("unknown version");
  const uint32_t crc = r.get<uint32_t>();
  if (records::crc32c(bytes.subspan(6)) != crc) return corrupt("CRC mismatch");
  const uint32_t count = r.get<uint32_t>();
  if (count > r.remaining() / kEntryFixedBytes) return corrupt("count larger than the file");
  std::vector<ProducerEntry> entries;
  entries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    auto entry = parse_entry(r);
    if (!entry.ok()) return entry.error();
    if (!entries.empty() && entry->producer_id <= entries.back().producer_id) {
      return corrupt("producer ids not ascending");
    }
    entries.push_back(*entry);
  }
  if (r.remaining() != 0) return corrupt("bytes after the last entry");
  // Least recently appended first, so the LRU order (and the bound) survives a restart.
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.last_append_ms < b.last_append_ms;
  });
  ProducerStateTable table(config);
  for (const auto& e : entries) table.insert(e);
  return table;
}

std::filesystem::path snapshot_path(const std::filesystem::path& dir, int64_t offset) {
  char name[40];
  std::snprintf(name, sizeof(name), "%020lld.snapshot", static_cast<long long>(offset));
  return dir / name;
}

std::vector<int64_t> list_snapshot_offsets(const std::filesystem::path& dir) {
  std::vector<int64_t> offsets;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (auto offset = parse_snapshot_name(entry.path().filename().string())) {
      offsets.push_back(*offset);
    }
  }
  std::sort(offsets.begin(), offsets.end());
  return offsets;
}

Status write_snapshot(const std::filesystem::path& dir, int64_t offset,
                      const ProducerStateTable& table) {
  auto bytes = table.snapshot_bytes();
  if (!bytes.ok()) return bytes.error();
  return write_file_atomically(snapshot_path(dir, offset), *bytes, /*durable=*/true);
}

Result<std::optional<LoadedSnapshot>> load_latest_snapshot(const std::filesystem::path& dir,
                                                           int64_t max_offset,
                                                           ProducerStateConfig config) {
  const auto offsets = list_snapshot_offsets(dir);
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) {
    if (*it > max_offset) continue;
    const auto path = snapshot_path(dir, *it);
    auto bytes = read_whole_file(path);
    if (!bytes.ok()) return bytes.error();
    auto table = ProducerStateTable::from_snapshot(*bytes, config);
    if (!table.ok()) {
      remove_quietly(path);  // useless; an older snapshot plus a longer replay will do
      continue;
    }
    return std::optional<LoadedSnapshot>(LoadedSnapshot{*it, std::move(table).value()});
  }
  return std::optional<LoadedSnapshot>();
}

Status truncate_snapshots_after(const std::filesystem::path& dir, int64_t offset) {
  bool removed = false;
  for (int64_t o : list_snapshot_offsets(dir)) {
    if (o <= offset) continue;
    const auto path = snapshot_path(dir, o);
    if (::remove(path.c_str()) != 0 && errno != ENOENT) return io_error("unlink", path, errno);
    removed = true;
  }
  return removed ? sync_directory(dir) : Status{};
}

Status delete_snapshots_before(const std::filesystem::path& dir, int64_t offset) {
  for (int64_t o : list_snapshot_offsets(dir)) {
    if (o >= offset) break;
    const auto path = snapshot_path(dir, o);
    if (::remove(path.c_str()) != 0 && errno != ENOENT) return io_error("unlink", path, errno);
  }
  return {};
}

}  // namespace fjord::storage
