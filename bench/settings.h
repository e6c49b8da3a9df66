// The librdkafka settings of each mode. They are part of every report, because a
// throughput or latency figure means little without the batching behind it.
#pragma once

#include "options.h"

namespace fjord::bench {

enum class Mode { kProduce, kConsume, kLatency, kGroupJoin, kCommit };

// Producer settings for produce (throughput: large batches, 5 ms linger) and
// latency (1 ms linger) runs, with the user's overrides last.
Settings producer_settings(const LoadOptions& options, Mode mode);
// Producer settings for the txn mode: acks=all, at most 5 requests in flight
// (what idempotence allows) for every --producer kind so that only idempotence
// and transactions differ between them; transactional_id is used by the
// transactional kind only. The user's overrides last.
Settings txn_producer_settings(const LoadOptions& options, const std::string& transactional_id);
// Consumer settings for consume (large fetches) and latency (fetch returns as
// soon as one byte is there) runs, with the user's overrides last.
Settings consumer_settings(const LoadOptions& options, Mode mode);
// Group consumer settings: librdkafka's defaults for group-join (what an
// application gets), and no auto-commit and no Nagle for commit, whose loop is
// the only committer; the user's overrides last.
Settings group_consumer_settings(const LoadOptions& options, const std::string& group_id,
                                 Mode mode);

}  // namespace fjord::bench
