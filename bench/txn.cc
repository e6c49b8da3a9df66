// fjord-load txn: throughput and commit latency of one transactional producer.
// It calls init_transactions once, then loops begin / produce --messages-per-txn
// messages round-robin over the topic's partitions / commit, for --duration-s or
// --transactions. With --producer idempotent or plain it sends the same batches
// without transactions and waits for each batch's acknowledgements (rd_kafka_flush)
// where the transactional producer commits, so the cost of the transaction
// protocol (AddPartitionsToTxn, EndTxn and the markers) shows as a ratio.
#include <fmt/core.h>

#include "clock.h"
#include "histogram.h"
#include "modes.h"
#include "producer_session.h"
#include "settings.h"
#include "txn_options.h"

namespace fjord::bench {
namespace {

enum class BatchOutcome { kCommitted, kAborted };

struct TxnCounters {
  LatencyHistogram commit_ns;  // the commit call alone (flush for the other kinds)
  LatencyHistogram flush_ns;   // with --flush-before-commit: the flush before the commit
  LatencyHistogram batch_ns;   // begin to the end of the commit: one whole transaction
  int64_t committed = 0;
  int64_t aborted = 0;  // transactions aborted; for the other kinds, batches with a failed message
  std::string first_abort;
  int64_t last_commit_ns = 0;
};

int remaining_ms(int64_t deadline_ns) {
  return static_cast<int>(std::max<int64_t>(0, deadline_ns - now_ns()) / 1'000'000);
}

// Commits the open transaction, retrying what librdkafka calls retriable until
// deadline_ns and aborting what needs an abort; an error is fatal for the run.
Result<BatchOutcome> commit_transaction(rd_kafka_t* handle, int64_t deadline_ns,
                                        TxnCounters& counters) {
  for (;;) {
    ErrorPtr error(rd_kafka_commit_transaction(handle, remaining_ms(deadline_ns)));
    if (error == nullptr) return BatchOutcome::kCommitted;
    if (rd_kafka_error_is_retriable(error.get()) && now_ns() < deadline_ns) continue;
    if (!rd_kafka_error_txn_requires_abort(error.get())) {
      return kafka_error(*error, "commit_transaction");
    }
    if (counters.first_abort.empty()) counters.first_abort = rd_kafka_error_string(error.get());
    ErrorPtr abort_error(rd_kafka_abort_transaction(handle, remaining_ms(deadline_ns)));
    if (abort_error != nullptr) return kafka_error(*abort_error, "abort_transaction");
    return BatchOutcome::kAborted;
  }
}

// The non-transactional kinds' commit: every message of the batch acknowledged.
Result<BatchOutcome> flush_batch(ProducerSession& producer, int64_t deadline_ns,
                                 TxnCounters& counters) {
  const int64_t errors_before = producer.delivered().errors;
  if (Status flushed = producer.flush(remaining_ms(deadline_ns)); !flushed.ok()) {
    return flushed.error();
  }
  if (producer.delivered().errors == errors_before) return BatchOutcome::kCommitted;
  if (counters.first_abort.empty()) {
    counters.first_abort = rd_kafka_err2str(producer.delivered().first_error);
  }
  return BatchOutcome::kAborted;
}

// One batch: begin, produce, (flush,) commit. Returns the outcome or a fatal error.
Result<BatchOutcome> run_batch(const LoadOptions& options, ProducerSession& producer,
                               TxnCounters& counters) {
  const bool transactional = options.txn_producer == TxnProducer::kTransactional;
  const int64_t begin_ns = now_ns();
  const int64_t deadline_ns = begin_ns + seconds_to_ns(options.timeout_s);
  if (transactional) {
    ErrorPtr error(rd_kafka_begin_transaction(producer.handle()));
    if (error != nullptr) return kafka_error(*error, "begin_transaction");
  }
  const auto messages = static_cast<uint64_t>(options.messages_per_txn);
  if (Status produced = producer.produce_count(messages, deadline_ns); !produced.ok()) {
    return produced.error();
  }
  if (options.flush_before_commit) {
    const int64_t flush_start_ns = now_ns();
    if (Status flushed = producer.flush(remaining_ms(deadline_ns)); !flushed.ok()) {
      return flushed.error();
    }
    counters.flush_ns.record(now_ns() - flush_start_ns);
  }
  const int64_t commit_start_ns = now_ns();
  Result<BatchOutcome> outcome = transactional
                                     ? commit_transaction(producer.handle(), deadline_ns, counters)
                                     : flush_batch(producer, deadline_ns, counters);
  const int64_t done_ns = now_ns();
  if (!outcome.ok()) return outcome;
  counters.last_commit_ns = done_ns;
  if (*outcome == BatchOutcome::kAborted) {
    counters.aborted++;
    return outcome;
  }
  counters.committed++;
  counters.commit_ns.record(done_ns - commit_start_ns);
  counters.batch_ns.record(done_ns - begin_ns);
  return outcome;
}

void add_latency(Report& report, const std::string& name, const LatencyHistogram& histogram) {
  const auto us = [](int64_t ns) { return static_cast<double>(ns) / 1e3; };
  report.add(name + "_p50_us", us(histogram.value_at_quantile(0.50)));
  report.add(name + "_p90_us", us(histogram.value_at_quantile(0.90)));
  report.add(name + "_p99_us", us(histogram.value_at_quantile(0.99)));
  report.add(name + "_max_us", us(histogram.max()));
  report.add(name + "_mean_us", histogram.mean() / 1e3);
}

Report make_report(const LoadOptions& options, const ProducerSession& producer,
                   const std::string& transactional_id, double init_ms, int64_t start_ns,
                   double cpu_s, const TxnCounters& counters) {
  Report report("txn");
  report.parameters = {{"producer", std::string(txn_producer_name(options.txn_producer))},
                       {"topic", options.topic},
                       {"partitions", std::to_string(producer.partitions())},
                       {"messages_per_txn", std::to_string(options.messages_per_txn)},
                       {"message_bytes", std::to_string(options.message_bytes)},
                       {"duration_s", fmt::format("{}", options.duration_s)},
                       {"transactions_limit", std::to_string(options.transactions)},
                       {"flush_before_commit", options.flush_before_commit ? "yes" : "no"}};
  if (options.txn_producer == TxnProducer::kTransactional) {
    report.parameters.emplace_back("transactional_id", transactional_id);
  }
  report.producer_settings = producer.settings();
  const double elapsed_s = counters.last_commit_ns > start_ns
                               ? static_cast<double>(counters.last_commit_ns - start_ns) / 1e9
                               : 0;
  const double messages = static_cast<double>(counters.committed) * options.messages_per_txn;
  const double bytes = messages * static_cast<double>(options.message_bytes);
  const auto per_s = [elapsed_s](double count) { return elapsed_s > 0 ? count / elapsed_s : 0; };
  report.add("txn_per_s", per_s(static_cast<double>(counters.committed)));
  report.add("msgs_per_s", per_s(messages));
  report.add("mb_per_s", per_s(bytes / kBytesPerMb));
  report.add("transactions", static_cast<double>(counters.committed));
  report.add("messages", messages);
  report.add("bytes", bytes);
  report.add("elapsed_s", elapsed_s);
  add_latency(report, "commit", counters.commit_ns);
  add_latency(report, "txn", counters.batch_ns);
  if (options.flush_before_commit) add_latency(report, "flush", counters.flush_ns);
  report.add("aborted", static_cast<double>(counters.aborted));
  report.add("delivered", static_cast<double>(producer.delivered().messages));
  report.add("delivery_errors", static_cast<double>(producer.delivered().errors));
  report.add("init_ms", init_ms);
  report.add("request_rtt_us_mean", producer.stats().mean_rtt_us());
  report.add("client_cpu_us_per_msg", messages > 0 ? cpu_s * 1e6 / messages : 0);
  if (counters.aborted > 0) {
    report.notes.push_back(
        fmt::format("{} batches aborted, first: {}", counters.aborted, counters.first_abort));
  }
  return report;
}

}  // namespace

Result<Report> run_txn(const LoadOptions& options) {
  if (options.messages_per_txn < 1) {
    return Error{ErrorCode::kInvalidRequest, "txn needs --messages-per-txn >= 1"};
  }
  const uint64_t run_id = new_run_id();
  const std::string transactional_id = fmt::format("fjord-load-txn-{:x}", run_id);
  auto session = ProducerSession::open(options, txn_producer_settings(options, transactional_id),
                                       Partitioning::kRoundRobin, run_id);
  if (!session.ok()) return session.error();
  ProducerSession& producer = **session;
  const int timeout_ms = static_cast<int>(options.timeout_s * 1000);

  double init_ms = 0;
  if (options.txn_producer == TxnProducer::kTransactional) {
    const int64_t init_start_ns = now_ns();
    ErrorPtr error(rd_kafka_init_transactions(producer.handle(), timeout_ms));
    if (error != nullptr) return kafka_error(*error, "init_transactions");
    init_ms = static_cast<double>(now_ns() - init_start_ns) / 1e6;
  }

  TxnCounters counters;
  const double cpu_start_s = process_cpu_s();
  const int64_t start_ns = now_ns();
  const int64_t end_ns = start_ns + seconds_to_ns(options.duration_s);
  const auto more = [&] {
    if (options.transactions > 0)
      return counters.committed + counters.aborted < options.transactions;
    return now_ns() < end_ns;
  };
  while (more()) {
    Result<BatchOutcome> outcome = run_batch(options, producer, counters);
    if (!outcome.ok()) return outcome.error();
  }
  const double cpu_s = process_cpu_s() - cpu_start_s;
  return make_report(options, producer, transactional_id, init_ms, start_ns, cpu_s, counters);
}

}  // namespace fjord::bench
