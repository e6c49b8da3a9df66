#include "report.h"

#include <fmt/core.h>

#include <boost/json.hpp>

namespace fjord::bench {
namespace {

boost::json::object to_object(const Settings& settings) {
  boost::json::object object;
  for (const auto& [key, value] : settings) object[key] = value;
  return object;
}

std::string join(const Settings& settings) {
  std::string text;
  for (const auto& [key, value] : settings) text += fmt::format(" {}={}", key, value);
  return text;
}

}  // namespace

double Report::metric(const std::string& name) const {
  for (const auto& [key, value] : metrics) {
    if (key == name) return value;
  }
  return 0;
}

std::string format_text(const Report& report) {
  std::string text = fmt::format("fjord-load {}:{}\n", report.mode, join(report.parameters));
  if (!report.producer_settings.empty()) {
    text += fmt::format("  producer settings:{}\n", join(report.producer_settings));
  }
  if (!report.consumer_settings.empty()) {
    text += fmt::format("  consumer settings:{}\n", join(report.consumer_settings));
  }
  for (const auto& [name, value] : report.metrics) {
    text += fmt::format("  {:<28} {:.6g}\n", name, value);
  }
  for (const std::string& note : report.notes) text += fmt::format("  NOTE: {}\n", note);
  return text;
}

std::string format_json(const Report& report) {
  boost::json::object metrics;
  for (const auto& [name, value] : report.metrics) metrics[name] = value;
  boost::json::array notes;
  for (const std::string& note : report.notes) notes.emplace_back(note);
  const boost::json::object root{
      {"mode", report.mode},
      {"librdkafka", rd_kafka_version_str()},
      {"parameters", to_object(report.parameters)},
      {"producer_settings", to_object(report.producer_settings)},
      {"consumer_settings", to_object(report.consumer_settings)},
      {"metrics", metrics},
      {"notes", notes},
  };
  return boost::json::serialize(root) + "\n";
}

}  // namespace fjord::bench
