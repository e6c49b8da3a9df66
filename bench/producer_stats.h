// ProducerStats: batching figures taken from librdkafka's statistics JSON (one
// window per statistics.interval.ms), summed over the windows of a run.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fjord::bench {

class ProducerStats {
 public:
  explicit ProducerStats(std::string topic) : topic_(std::move(topic)) {}

  // Adds one statistics window; ignores JSON it cannot read (returns false).
  bool add_window(std::string_view json);

  int64_t batches() const { return batches_; }
  double mean_batch_bytes() const;  // produce batch (MessageSet) size, per partition
  double mean_batch_messages() const;
  double mean_rtt_us() const;  // broker round trip of the client's requests
  int64_t requests_sent() const { return requests_sent_; }  // cumulative, last window
  int64_t request_bytes_sent() const { return request_bytes_sent_; }

 private:
  std::string topic_;
  int64_t batches_ = 0;
  double batch_bytes_sum_ = 0;
  double batch_messages_sum_ = 0;
  int64_t rtt_count_ = 0;
  double rtt_sum_us_ = 0;
  int64_t requests_sent_ = 0;
  int64_t request_bytes_sent_ = 0;
};

}  // namespace fjord::bench
