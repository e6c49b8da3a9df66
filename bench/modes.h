// The modes of fjord-load. Each runs to completion and returns its report, or
// the error that stopped it.
#pragma once

#include "options.h"
#include "report.h"

namespace fjord::bench {

// Produces for duration_s (at rate_mb_s if > 0) and waits for every delivery.
Result<Report> run_produce(const LoadOptions& options);
// Reads the topic from its first offset up to the high watermarks seen at start.
Result<Report> run_consume(const LoadOptions& options);
// Produces at rate_mb_s for duration_s while consuming in the same process;
// reports end-to-end latency percentiles.
Result<Report> run_latency(const LoadOptions& options);
// Creates the topic with `partitions` partitions unless it exists.
Result<Report> run_create_topic(const LoadOptions& options);
// `rounds` times: `members` consumers subscribe to the topic in a fresh group at
// once; reports the time until every member is assigned and the broker says Stable.
Result<Report> run_group_join(const LoadOptions& options);
// One group member commits offsets for `commit_partitions` partitions in a loop
// for duration_s, synchronously or with `commits_in_flight` outstanding.
Result<Report> run_commit(const LoadOptions& options);
// One producer loops begin / produce messages_per_txn messages / commit for
// duration_s (or `transactions` times); with txn_producer idempotent or plain the
// same batches are flushed instead of committed, for comparison.
Result<Report> run_txn(const LoadOptions& options);

// A random id that tells this run's messages from those of earlier runs.
uint64_t new_run_id();
// CPU time (user + system) this process has used so far, in seconds.
double process_cpu_s();

}  // namespace fjord::bench
