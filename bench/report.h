// Report: what a run measured, with the parameters and librdkafka settings it
// ran with, printed as text for people and as JSON for bench/run.sh.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kafka.h"

namespace fjord::bench {

struct Report {
  explicit Report(std::string mode_name) : mode(std::move(mode_name)) {}

  std::string mode;
  Settings parameters;  // topic, message size, duration, ...
  Settings producer_settings;
  Settings consumer_settings;
  std::vector<std::pair<std::string, double>> metrics;  // in the order they were added
  std::vector<std::string> notes;                       // warnings, e.g. delivery errors

  void add(std::string name, double value) { metrics.emplace_back(std::move(name), value); }
  // The metric's value; 0 if absent.
  double metric(const std::string& name) const;
};

std::string format_text(const Report& report);
std::string format_json(const Report& report);

}  // namespace fjord::bench
