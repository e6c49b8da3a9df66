#include "producer_stats.h"

// Boost.JSON is header-only when its sources are compiled into exactly one file.
#include <boost/json/src.hpp>

namespace fjord::bench {
namespace {

// A window histogram's "sum" and "cnt"; zeros when absent.
std::pair<double, int64_t> sum_and_count(const boost::json::object& parent, std::string_view name) {
  const auto* histogram = parent.if_contains(name);
  if (histogram == nullptr || !histogram->is_object()) return {0, 0};
  const auto& object = histogram->get_object();
  const auto* sum = object.if_contains("sum");
  const auto* count = object.if_contains("cnt");
  if (sum == nullptr || count == nullptr) return {0, 0};
  return {sum->to_number<double>(), count->to_number<int64_t>()};
}

}  // namespace

bool ProducerStats::add_window(std::string_view json) {
  boost::json::error_code error;
  const boost::json::value root = boost::json::parse(json, error);
  if (error || !root.is_object()) return false;
  try {
    const auto& object = root.get_object();
    if (const auto* topics = object.if_contains("topics"); topics && topics->is_object()) {
      if (const auto* topic = topics->get_object().if_contains(topic_); topic) {
        const auto [bytes_sum, batch_count] = sum_and_count(topic->get_object(), "batchsize");
        const auto [messages_sum, unused] = sum_and_count(topic->get_object(), "batchcnt");
        batches_ += batch_count;
        batch_bytes_sum_ += bytes_sum;
        batch_messages_sum_ += messages_sum;
      }
    }
    int64_t requests = 0;
    int64_t request_bytes = 0;
    if (const auto* brokers = object.if_contains("brokers"); brokers && brokers->is_object()) {
      for (const auto& [name, broker] : brokers->get_object()) {
        const auto& fields = broker.get_object();
        const auto [rtt_sum, rtt_count] = sum_and_count(fields, "rtt");
        rtt_sum_us_ += rtt_sum;
        rtt_count_ += rtt_count;
        requests += fields.at("tx").to_number<int64_t>();
        request_bytes += fields.at("txbytes").to_number<int64_t>();
      }
    }
    requests_sent_ = requests;
    request_bytes_sent_ = request_bytes;
  } catch (const std::exception&) {
    return false;  // a field of an unexpected type: skip the window
  }
  return true;
}

double ProducerStats::mean_batch_bytes() const {
  return batches_ == 0 ? 0 : batch_bytes_sum_ / static_cast<double>(batches_);
}

double ProducerStats::mean_batch_messages() const {
  return batches_ == 0 ? 0 : batch_messages_sum_ / static_cast<double>(batches_);
}

double ProducerStats::mean_rtt_us() const {
  return rtt_count_ == 0 ? 0 : rtt_sum_us_ / static_cast<double>(rtt_count_);
}

}  // namespace fjord::bench
