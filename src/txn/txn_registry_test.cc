#include "txn/txn_registry.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "groups/offsets_records.h"

namespace fjord::txn {
namespace {

using S = TxnState;

// The log: appends succeed, fail or wait (kDelay) as told; every durable record
// is kept per partition (for replays) and checked: one write in flight per id,
// and durable states follow Kafka's transitions.
class FakeLog {
 public:
  enum class Mode { kSucceed, kFail, kDelay };
  Mode mode = Mode::kSucceed;
  ErrorCode failure = ErrorCode::kNotEnoughReplicas;
  bool checks_failed = false;

  void append(int32_t partition, std::vector<uint8_t> batch, DoneCallback done) {
    std::vector<TxnLogRecord> records;
    EXPECT_TRUE(for_each_record(batch, [&](TxnLogRecord&& r) { records.push_back(r); }).ok());
    EXPECT_EQ(records.size(), 1u);
    const std::string id = records.at(0).transactional_id;
    EXPECT_EQ(partition, txn_state_partition_for(id, 50));
    if (in_flight_[id]) {
      ADD_FAILURE() << "two writes in flight for " << id;
      checks_failed = true;
    }
    in_flight_[id] = true;
    Pending pending{partition, std::move(batch), records.at(0), std::move(done)};
    if (mode == Mode::kDelay) {
      delayed_.push_back(std::move(pending));
    } else {
      finish(std::move(pending), mode == Mode::kSucceed);
    }
  }

  // Completes the oldest delayed append.
  bool release(bool succeed) {
    if (delayed_.empty()) return false;
    Pending pending = std::move(delayed_.front());
    delayed_.pop_front();
    finish(std::move(pending), succeed);
    return true;
  }
  size_t delayed() const { return delayed_.size(); }

  std::vector<uint8_t> partition_bytes(int32_t partition) const {
    auto it = log_.find(partition);
    return it == log_.end() ? std::vector<uint8_t>{} : it->second;
  }
  const std::map<int32_t, std::vector<uint8_t>>& partitions() const { return log_; }
  // The durable records of `id`, in order.
  std::vector<std::optional<TxnMetadata>> history(const std::string& id) const {
    auto it = history_.find(id);
    return it == history_.end() ? std::vector<std::optional<TxnMetadata>>{} : it->second;
  }
  std::optional<TxnMetadata> last(const std::string& id) const {
    auto it = history_.find(id);
    return it == history_.end() || it->second.empty() ? std::nullopt : it->second.back();
  }

 private:
  struct Pending {
    int32_t partition;
    std::vector<uint8_t> batch;
    TxnLogRecord record;
    DoneCallback done;
  };

  void finish(Pending pending, bool succeed) {
    const std::string& id = pending.record.transactional_id;
    in_flight_[id] = false;
    if (succeed) {
      check_transition(id, pending.record.value);
      auto& bytes = log_[pending.partition];
      bytes.insert(bytes.end(), pending.batch.begin(), pending.batch.end());
      history_[id].push_back(pending.record.value);
    }
    pending.done(succeed ? ErrorCode::kNone : failure);
  }

  void check_transition(const std::string& id, const std::optional<TxnMetadata>& next) {
    const auto previous = last(id);
    if (!previous) {
      if (!next || next->state != S::kEmpty) {
        ADD_FAILURE() << id << ": first record is not Empty";
        checks_failed = true;
      }
      return;
    }
    const S to = next ? next->state : S::kDead;
    if (!is_legal_transition(previous->state, to)) {
      ADD_FAILURE() << id << ": " << state_name(previous->state) << " -> " << state_name(to);
      checks_failed = true;
    }
  }

  std::map<std::string, bool> in_flight_;
  std::deque<Pending> delayed_;
  std::map<int32_t, std::vector<uint8_t>> log_;
  std::map<std::string, std::vector<std::optional<TxnMetadata>>> history_;
};

class FakeMarkers {
 public:
  enum class Mode { kSucceed, kFail, kDelay, kFailFirst };
  Mode mode = Mode::kSucceed;
  std::vector<MarkerRequest> written;  // every request, in order

  void write(const MarkerRequest& request, std::function<void(std::vector<ErrorCode>)> done) {
    written.push_back(request);
    if (mode == Mode::kDelay) {
      delayed_.push_back({request.partitions.size(), std::move(done)});
      return;
    }
    const ErrorCode error =
        mode == Mode::kSucceed ? ErrorCode::kNone : ErrorCode::kNotLeaderOrFollower;
    std::vector<ErrorCode> errors(request.partitions.size(), error);
    if (mode == Mode::kFailFirst) {
      errors.assign(errors.size(), ErrorCode::kNone);
      errors.at(0) = ErrorCode::kNotLeaderOrFollower;
    }
    done(std::move(errors));
  }
  bool release(bool succeed) {
    if (delayed_.empty()) return false;
    auto [count, done] = std::move(delayed_.front());
    delayed_.pop_front();
    done(std::vector<ErrorCode>(count, succeed ? ErrorCode::kNone : ErrorCode::kRequestTimedOut));
    return true;
  }
  size_t delayed() const { return delayed_.size(); }

 private:
  std::deque<std::pair<size_t, std::function<void(std::vector<ErrorCode>)>>> delayed_;
};

class TxnRegistryTest : public ::testing::Test {
 protected:
  TxnRegistryTest() { registry_ = make_registry(); }

  std::unique_ptr<TxnRegistry> make_registry() {
    return std::make_unique<TxnRegistry>(
        config_,
        [this](int32_t partition, std::vector<uint8_t> batch, DoneCallback done) {
          log_.append(partition, std::move(batch), std::move(done));
        },
        [this](const MarkerRequest& request, std::function<void(std::vector<ErrorCode>)> done) {
          markers_.write(request, std::move(done));
        },
        [this]() -> Result<int64_t> { return next_producer_id_++; }, [this] { return now_ms_; });
  }

  InitResult init(const std::string& id, int32_t timeout_ms = 60000,
                  std::optional<ProducerIdAndEpoch> expected = std::nullopt) {
    std::optional<InitResult> result;
    registry_->init_producer_id(id, timeout_ms, expected, [&](InitResult r) {
      EXPECT_FALSE(result.has_value()) << "answered twice";
      result = r;
    });
    EXPECT_TRUE(result.has_value()) << "not answered";
    return result.value_or(InitResult{ErrorCode::kUnknownServerError});
  }
  ErrorCode add(const std::string& id, ProducerIdAndEpoch producer,
                std::vector<TopicPartition> partitions) {
    return answer([&](DoneCallback done) {
      registry_->add_partitions(id, producer, partitions, std::move(done));
    });
  }
  ErrorCode end(const std::string& id, ProducerIdAndEpoch producer, bool commit) {
    return answer(
        [&](DoneCallback done) { registry_->end_txn(id, producer, commit, std::move(done)); });
  }
  template <typename Call>
  ErrorCode answer(Call call) {
    std::optional<ErrorCode> result;
    call([&](ErrorCode e) {
      EXPECT_FALSE(result.has_value()) << "answered twice";
      result = e;
    });
    EXPECT_TRUE(result.has_value()) << "not answered";
    return result.value_or(ErrorCode::kUnknownServerError);
  }
  S state(const std::string& id) const {
    const Transaction* txn = registry_->find(id);
    return txn ? txn->state() : S::kDead;
  }

  TxnConfig config_;
  FakeLog log_;
  FakeMarkers markers_;
  int64_t next_producer_id_ = 1000;
  int64_t now_ms_ = 1'000'000;
  std::unique_ptr<TxnRegistry> registry_;
};

ProducerIdAndEpoch pe(const InitResult& r) { return {r.producer_id, r.producer_epoch}; }

TEST_F(TxnRegistryTest, NewTransactionalIdGetsANewProducerIdAtEpochZero) {
  const InitResult r = init("t1");
  EXPECT_EQ(r.error, ErrorCode::kNone);
  EXPECT_EQ(r.producer_id, 1000);
  EXPECT_EQ(r.producer_epoch, 0);
  ASSERT_TRUE(log_.last("t1").has_value());
  EXPECT_EQ(log_.last("t1")->state, S::kEmpty);
  EXPECT_EQ(log_.last("t1")->timeout_ms, 60000);
  // Again: the same producer id, the epoch bumped.
  const InitResult again = init("t1");
  EXPECT_EQ(again.producer_id, 1000);
  EXPECT_EQ(again.producer_epoch, 1);
}

TEST_F(TxnRegistryTest, TimeoutOutOfRangeIsRefused) {
  EXPECT_EQ(init("t", 0).error, ErrorCode::kInvalidTransactionTimeout);
  EXPECT_EQ(init("t", config_.max_timeout_ms + 1).error, ErrorCode::kInvalidTransactionTimeout);
  EXPECT_EQ(init("t", config_.max_timeout_ms).error, ErrorCode::kNone);
  EXPECT_EQ(init("").error, ErrorCode::kInvalidRequest);
}

TEST_F(TxnRegistryTest, CommitWritesPrepareThenMarkersThenComplete) {
  const InitResult r = init("t");
  now_ms_ += 10;
  EXPECT_EQ(add("t", pe(r), {{"orders", 1}, {"orders", 0}}), ErrorCode::kNone);
  EXPECT_EQ(state("t"), S::kOngoing);
  EXPECT_EQ(registry_->find("t")->current().start_ms, now_ms_);
  EXPECT_EQ(answer([&](DoneCallback d) { registry_->add_offsets("t", pe(r), "g", std::move(d)); }),
            ErrorCode::kNone);
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kNone);
  EXPECT_EQ(state("t"), S::kCompleteCommit);
  ASSERT_EQ(markers_.written.size(), 1u);
  const MarkerRequest& m = markers_.written[0];
  EXPECT_TRUE(m.commit);
  EXPECT_EQ(m.producer_id, r.producer_id);
  EXPECT_EQ(m.producer_epoch, r.producer_epoch);
  const std::vector<TopicPartition> expected = {
      {"__consumer_offsets", groups::offsets_partition_for("g", 50)}, {"orders", 0}, {"orders", 1}};
  EXPECT_EQ(m.partitions, expected);
  std::vector<S> states;
  for (const auto& record : log_.history("t")) states.push_back(record->state);
  EXPECT_EQ(states, (std::vector<S>{S::kEmpty, S::kOngoing, S::kOngoing, S::kPrepareCommit,
                                    S::kCompleteCommit}));
  EXPECT_TRUE(log_.last("t")->partitions.empty());
  // A retried EndTxn: same result fine, the other one not.
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kNone);
  EXPECT_EQ(end("t", pe(r), false), ErrorCode::kInvalidTxnState);
}

TEST_F(TxnRegistryTest, AddPartitionsChecksTheProducer) {
  const InitResult r = init("t");
  EXPECT_EQ(add("nope", pe(r), {{"a", 0}}), ErrorCode::kInvalidProducerIdMapping);
  EXPECT_EQ(add("", pe(r), {{"a", 0}}), ErrorCode::kInvalidRequest);
  EXPECT_EQ(end("", pe(r), true), ErrorCode::kInvalidRequest);
  EXPECT_EQ(add("t", {r.producer_id + 1, r.producer_epoch}, {{"a", 0}}),
            ErrorCode::kInvalidProducerIdMapping);
  EXPECT_EQ(add("t", {r.producer_id, static_cast<int16_t>(r.producer_epoch + 1)}, {{"a", 0}}),
            ErrorCode::kProducerFenced);
  EXPECT_EQ(add("t", pe(r), {{"a", 0}}), ErrorCode::kNone);
  const size_t written = log_.history("t").size();
  EXPECT_EQ(add("t", pe(r), {{"a", 0}}), ErrorCode::kNone);
  EXPECT_EQ(log_.history("t").size(), written) << "nothing new: no write";
}

TEST_F(TxnRegistryTest, WriteInFlightAnswersConcurrentTransactions) {
  const InitResult r = init("t");
  log_.mode = FakeLog::Mode::kDelay;
  std::optional<ErrorCode> first;
  registry_->add_partitions("t", pe(r), {{"a", 0}}, [&](ErrorCode e) { first = e; });
  EXPECT_FALSE(first.has_value());
  EXPECT_EQ(add("t", pe(r), {{"b", 0}}), ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kConcurrentTransactions);
  std::optional<InitResult> init_result;
  registry_->init_producer_id("t", 1000, std::nullopt, [&](InitResult x) { init_result = x; });
  ASSERT_TRUE(init_result.has_value());
  EXPECT_EQ(init_result->error, ErrorCode::kConcurrentTransactions);
  log_.release(true);
  EXPECT_EQ(first, ErrorCode::kNone);
  EXPECT_EQ(state("t"), S::kOngoing);
}

TEST_F(TxnRegistryTest, EndTxnInWrongStatesAndWhileMarkersAreWritten) {
  const InitResult r = init("t");
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kInvalidTxnState) << "Empty";
  EXPECT_EQ(add("t", pe(r), {{"a", 0}}), ErrorCode::kNone);
  markers_.mode = FakeMarkers::Mode::kDelay;
  std::optional<ErrorCode> commit;
  registry_->end_txn("t", pe(r), true, [&](ErrorCode e) { commit = e; });
  EXPECT_FALSE(commit.has_value()) << "answered after the markers";
  EXPECT_EQ(state("t"), S::kPrepareCommit);
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(end("t", pe(r), false), ErrorCode::kInvalidTxnState);
  EXPECT_EQ(add("t", pe(r), {{"a", 0}}), ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(init("t").error, ErrorCode::kConcurrentTransactions);
  markers_.release(true);
  EXPECT_EQ(commit, ErrorCode::kNone);
  EXPECT_EQ(state("t"), S::kCompleteCommit);
}

TEST_F(TxnRegistryTest, NewProducerFencesAnOngoingTransaction) {
  const InitResult old_producer = init("t");
  EXPECT_EQ(add("t", pe(old_producer), {{"a", 0}}), ErrorCode::kNone);
  EXPECT_EQ(init("t").error, ErrorCode::kConcurrentTransactions);
  ASSERT_EQ(markers_.written.size(), 1u);
  EXPECT_FALSE(markers_.written[0].commit);
  EXPECT_EQ(markers_.written[0].producer_epoch, old_producer.producer_epoch + 1);
  EXPECT_EQ(state("t"), S::kCompleteAbort);
  EXPECT_EQ(end("t", pe(old_producer), true), ErrorCode::kProducerFenced);
  EXPECT_EQ(add("t", pe(old_producer), {{"a", 0}}), ErrorCode::kProducerFenced);
  const InitResult retried = init("t");
  EXPECT_EQ(retried.error, ErrorCode::kNone);
  EXPECT_EQ(retried.producer_id, old_producer.producer_id);
  EXPECT_EQ(retried.producer_epoch, old_producer.producer_epoch + 2);
}

TEST_F(TxnRegistryTest, Kip360ExpectedProducerMustBeCurrent) {
  const InitResult r = init("t");
  EXPECT_EQ(init("t", 60000, ProducerIdAndEpoch{r.producer_id + 5, 0}).error,
            ErrorCode::kProducerFenced);
  const InitResult bumped = init("t", 60000, pe(r));
  EXPECT_EQ(bumped.error, ErrorCode::kNone);
  EXPECT_EQ(bumped.producer_epoch, r.producer_epoch + 1);
  // The same request retried: the same answer, no second bump.
  const InitResult retried = init("t", 60000, pe(r));
  EXPECT_EQ(retried.error, ErrorCode::kNone);
  EXPECT_EQ(retried.producer_epoch, bumped.producer_epoch);
}

TEST_F(TxnRegistryTest, ExhaustedEpochGetsANewProducerId) {
  TxnMetadata old;
  old.producer_id = 77;
  old.producer_epoch = INT16_MAX - 2;
  old.timeout_ms = 1000;
  old.state = S::kCompleteCommit;
  auto batch = build_batch(std::vector<TxnLogRecord>{{"t", old}}, now_ms_, 1 << 20);
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE(registry_->replay(*batch).ok());
  const InitResult r = init("t");
  EXPECT_EQ(r.producer_id, 77);
  EXPECT_EQ(r.producer_epoch, INT16_MAX - 1);
  const InitResult rotated = init("t");
  EXPECT_EQ(rotated.error, ErrorCode::kNone);
  EXPECT_NE(rotated.producer_id, r.producer_id);
  EXPECT_EQ(rotated.producer_epoch, 0);
}

TEST_F(TxnRegistryTest, TimedOutTransactionIsAbortedWithAnEpochBump) {
  const InitResult r = init("t", 1000);
  EXPECT_EQ(add("t", pe(r), {{"a", 0}}), ErrorCode::kNone);
  now_ms_ += 1000;
  registry_->abort_timed_out();
  EXPECT_EQ(state("t"), S::kOngoing) << "not past the timeout yet";
  now_ms_ += 1;
  registry_->abort_timed_out();
  EXPECT_EQ(state("t"), S::kCompleteAbort);
  ASSERT_EQ(markers_.written.size(), 1u);
  EXPECT_FALSE(markers_.written[0].commit);
  EXPECT_EQ(markers_.written[0].producer_epoch, r.producer_epoch + 1);
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kProducerFenced);
}

TEST_F(TxnRegistryTest, FailedMarkersStillAnswerAndAreRetried) {
  const InitResult r = init("t");
  EXPECT_EQ(add("t", pe(r), {{"a", 0}, {"b", 0}}), ErrorCode::kNone);
  markers_.mode = FakeMarkers::Mode::kFail;
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kNone) << "the decision is durable";
  EXPECT_EQ(state("t"), S::kPrepareCommit);
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(registry_->describe("t").partitions.size(), 2u) << "both still without a marker";
  markers_.mode = FakeMarkers::Mode::kFailFirst;
  registry_->retry_markers();
  EXPECT_EQ(state("t"), S::kPrepareCommit);
  EXPECT_EQ(registry_->describe("t").partitions, (std::vector<TopicPartition>{{"a", 0}}))
      << "only the partition whose marker failed";
  markers_.mode = FakeMarkers::Mode::kSucceed;
  registry_->retry_markers();
  EXPECT_EQ(state("t"), S::kCompleteCommit);
  ASSERT_EQ(markers_.written.size(), 3u);
  EXPECT_EQ(markers_.written[2].partitions, (std::vector<TopicPartition>{{"a", 0}}))
      << "markers already written are not written again";
}

TEST_F(TxnRegistryTest, FailedCompleteWriteIsRetried) {
  const InitResult r = init("t");
  EXPECT_EQ(add("t", pe(r), {{"a", 0}}), ErrorCode::kNone);
  markers_.mode = FakeMarkers::Mode::kDelay;
  std::optional<ErrorCode> result;
  registry_->end_txn("t", pe(r), false, [&](ErrorCode e) { result = e; });
  log_.mode = FakeLog::Mode::kFail;
  markers_.release(true);
  EXPECT_EQ(result, ErrorCode::kNone);
  EXPECT_EQ(state("t"), S::kPrepareAbort);
  log_.mode = FakeLog::Mode::kSucceed;
  registry_->retry_markers();
  EXPECT_EQ(state("t"), S::kCompleteAbort);
  EXPECT_EQ(markers_.written.size(), 1u) << "markers already written are not written again";
}

TEST_F(TxnRegistryTest, FailedWritesLeaveTheStateAndMapErrors) {
  const InitResult r = init("t");
  EXPECT_EQ(add("t", pe(r), {{"a", 0}}), ErrorCode::kNone);
  log_.mode = FakeLog::Mode::kFail;
  EXPECT_EQ(end("t", pe(r), true), ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(state("t"), S::kOngoing);
  EXPECT_TRUE(markers_.written.empty());
  log_.failure = ErrorCode::kNotLeaderOrFollower;
  EXPECT_EQ(add("t", pe(r), {{"b", 0}}), ErrorCode::kNotCoordinator);
  log_.failure = ErrorCode::kMessageTooLarge;
  EXPECT_EQ(init("fresh").error, ErrorCode::kUnknownServerError);
  EXPECT_EQ(registry_->find("fresh"), nullptr) << "an id never written is forgotten";
}

TEST_F(TxnRegistryTest, IdleIdsExpireWithATombstone) {
  const InitResult r = init("idle");
  const InitResult busy = init("busy");
  EXPECT_EQ(add("busy", pe(busy), {{"a", 0}}), ErrorCode::kNone);
  now_ms_ += config_.id_expiration_ms;
  registry_->expire_ids();
  EXPECT_EQ(registry_->find("idle"), nullptr);
  EXPECT_NE(registry_->find("busy"), nullptr) << "an ongoing transaction does not expire";
  EXPECT_FALSE(log_.last("idle").has_value()) << "a tombstone";
  EXPECT_EQ(registry_->describe("idle").error, ErrorCode::kTransactionalIdNotFound);
  EXPECT_EQ(add("idle", pe(r), {{"a", 0}}), ErrorCode::kInvalidProducerIdMapping);
}

TEST_F(TxnRegistryTest, ReplayRebuildsStateAndResumesDecidedTransactions) {
  const InitResult a = init("a");
  EXPECT_EQ(add("a", pe(a), {{"x", 0}}), ErrorCode::kNone);
  const InitResult b = init("b");
  EXPECT_EQ(add("b", pe(b), {{"x", 1}}), ErrorCode::kNone);
  markers_.mode = FakeMarkers::Mode::kFail;
  EXPECT_EQ(end("b", pe(b), true), ErrorCode::kNone);
  init("gone");
  now_ms_ += config_.id_expiration_ms;
  registry_->expire_ids();  // only "gone" is idle: a and b hold transactions

  markers_ = FakeMarkers{};
  auto reloaded = make_registry();
  for (const auto& [partition, bytes] : log_.partitions()) {
    ASSERT_TRUE(reloaded->replay(bytes).ok());
  }
  EXPECT_EQ(reloaded->find("gone"), nullptr);
  ASSERT_NE(reloaded->find("a"), nullptr);
  EXPECT_EQ(reloaded->find("a")->state(), S::kOngoing);
  EXPECT_EQ(reloaded->find("a")->current().partitions, (std::set<TopicPartition>{{"x", 0}}));
  EXPECT_EQ(reloaded->find("b")->state(), S::kPrepareCommit);
  reloaded->finish_load();
  ASSERT_EQ(markers_.written.size(), 1u);
  EXPECT_TRUE(markers_.written[0].commit);
  EXPECT_EQ(markers_.written[0].partitions, (std::vector<TopicPartition>{{"x", 1}}));
  EXPECT_EQ(reloaded->find("b")->state(), S::kCompleteCommit);
}

TEST_F(TxnRegistryTest, DescribeAndList) {
  const InitResult a = init("a");
  EXPECT_EQ(add("a", pe(a), {{"x", 0}}), ErrorCode::kNone);
  const InitResult b = init("b");
  const TxnDescription d = registry_->describe("a");
  EXPECT_EQ(d.error, ErrorCode::kNone);
  EXPECT_EQ(d.state, S::kOngoing);
  EXPECT_EQ(d.producer_id, a.producer_id);
  EXPECT_EQ(d.start_ms, now_ms_);
  EXPECT_EQ(d.partitions, (std::vector<TopicPartition>{{"x", 0}}));
  EXPECT_EQ(registry_->describe("zzz").error, ErrorCode::kTransactionalIdNotFound);

  EXPECT_EQ(registry_->list({}).size(), 2u);
  auto ongoing = registry_->list(ListFilter{{S::kOngoing}, {}, -1});
  ASSERT_EQ(ongoing.size(), 1u);
  EXPECT_EQ(ongoing[0].transactional_id, "a");
  auto by_producer = registry_->list(ListFilter{{}, {b.producer_id}, -1});
  ASSERT_EQ(by_producer.size(), 1u);
  EXPECT_EQ(by_producer[0].transactional_id, "b");
  now_ms_ += 500;
  auto long_running = registry_->list(ListFilter{{S::kOngoing}, {}, 500});
  EXPECT_TRUE(long_running.empty()) << "running exactly 500 ms is not longer than 500";
  now_ms_ += 1;
  EXPECT_EQ(registry_->list(ListFilter{{S::kOngoing}, {}, 500}).size(), 1u);
}

TEST_F(TxnRegistryTest, TransactionalIdsAreBounded) {
  config_.max_transactional_ids = 2;
  EXPECT_EQ(init("a").error, ErrorCode::kNone);
  EXPECT_EQ(init("b").error, ErrorCode::kNone);
  EXPECT_EQ(init("c").error, ErrorCode::kPolicyViolation);
  EXPECT_EQ(init("a").error, ErrorCode::kNone) << "known ids still work";
}

// Seeded random calls against a log and markers that succeed, fail or wait:
// every request is answered exactly once, at most one write is in flight per id,
// durable states move only along Kafka's transitions (FakeLog checks both), and
// the in-memory state is what the log says.
TEST_F(TxnRegistryTest, RandomSequencesKeepTheInvariants) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE(seed);
    log_ = FakeLog{};
    markers_ = FakeMarkers{};
    registry_ = make_registry();
    std::mt19937 rng(seed);
    const std::vector<std::string> ids = {"t0", "t1", "t2"};
    std::map<std::string, ProducerIdAndEpoch> producers;
    size_t asked = 0;
    size_t answered = 0;
    std::vector<int> answers_per_request;
    auto counter = [&]() {
      answers_per_request.push_back(0);
      ++asked;
      return answers_per_request.size() - 1;
    };
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };

    for (int step = 0; step < 400; ++step) {
      const int mode = pick(10);
      log_.mode = mode < 6 ? FakeLog::Mode::kSucceed
                           : (mode < 8 ? FakeLog::Mode::kDelay : FakeLog::Mode::kFail);
      const int marker_mode = pick(10);
      markers_.mode = marker_mode < 6 ? FakeMarkers::Mode::kSucceed
                                      : (marker_mode < 8 ? FakeMarkers::Mode::kDelay
                                                         : FakeMarkers::Mode::kFail);
      const std::string& id = ids[static_cast<size_t>(pick(3))];
      ProducerIdAndEpoch producer = producers.count(id) ? producers[id] : ProducerIdAndEpoch{};
      if (pick(8) == 0) producer.producer_epoch = static_cast<int16_t>(producer.producer_epoch - 1);
      const size_t request = counter();
      auto done = [&, request](ErrorCode) {
        ++answers_per_request[request];
        ++answered;
      };
      switch (pick(9)) {
        case 0:
        case 1: {
          std::optional<ProducerIdAndEpoch> expected;
          if (pick(2) == 0 && producers.count(id)) expected = producer;
          registry_->init_producer_id(id, 1 + pick(5000), expected, [&, request, id](InitResult r) {
            ++answers_per_request[request];
            ++answered;
            if (r.error == ErrorCode::kNone) producers[id] = pe(r);
          });
          break;
        }
        case 2:
        case 3:
          registry_->add_partitions(id, producer, {{"p", pick(3)}}, done);
          break;
        case 4:
          registry_->add_offsets(id, producer, "g" + std::to_string(pick(2)), done);
          break;
        case 5:
          registry_->end_txn(id, producer, pick(2) == 0, done);
          break;
        default: {
          // Not a request: time passes, the tick runs, delayed work finishes.
          --asked;
          answers_per_request.back() = 1;
          now_ms_ += pick(3000);
          registry_->abort_timed_out();
          registry_->retry_markers();
          if (pick(4) == 0) registry_->expire_ids();
          for (int i = pick(4); i > 0; --i) log_.release(pick(4) != 0);
          for (int i = pick(4); i > 0; --i) markers_.release(pick(4) != 0);
          break;
        }
      }
      ASSERT_FALSE(log_.checks_failed);
    }
    // Drain: everything in flight finishes, decided transactions complete.
    log_.mode = FakeLog::Mode::kSucceed;
    markers_.mode = FakeMarkers::Mode::kSucceed;
    for (int round = 0; round < 20; ++round) {
      while (log_.release(true) || markers_.release(true)) {
      }
      registry_->retry_markers();
    }
    EXPECT_EQ(answered, asked);
    EXPECT_GT(markers_.written.size(), 0u) << "the sequence reached no decision";
    for (size_t i = 0; i < answers_per_request.size(); ++i) {
      EXPECT_EQ(answers_per_request[i], 1) << "request " << i;
    }
    for (const std::string& id : ids) {
      const Transaction* txn = registry_->find(id);
      const auto durable = log_.last(id);
      if (!txn) {
        EXPECT_FALSE(durable.has_value()) << id;
        continue;
      }
      ASSERT_TRUE(durable.has_value()) << id;
      EXPECT_FALSE(txn->has_pending());
      EXPECT_EQ(txn->state(), durable->state) << id;
      EXPECT_EQ(txn->current().producer_epoch, durable->producer_epoch) << id;
      EXPECT_TRUE(txn->state() != S::kPrepareCommit && txn->state() != S::kPrepareAbort) << id;
    }
  }
}

}  // namespace
}  // namespace fjord::txn
