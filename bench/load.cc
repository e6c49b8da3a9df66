// fjord-load: an end-to-end load tool for Kafka-compatible brokers, on librdkafka.
//   fjord-load produce --bootstrap B --topic T --message-bytes 1024 --partitions 6
//                      --duration-s 20 --acks all [--rate-mb-s X]
//   fjord-load consume --bootstrap B --topic T
//   fjord-load latency --bootstrap B --topic T --rate-mb-s 20 --duration-s 20
//   fjord-load create-topic --bootstrap B --topic T --partitions 6
//   fjord-load group-join --bootstrap B --topic T --members N --partitions P --rounds 3
//   fjord-load commit --bootstrap B --topic T --seconds S [--commit-partitions 6]
//                     [--in-flight K]
//   fjord-load txn --bootstrap B --topic T --messages-per-txn 10 --message-bytes 1024
//                  --partitions 6 --duration-s 20 [--producer transactional|idempotent|plain]
//                  [--transactions N] [--flush-before-commit]
//   fjord-load fake-broker --topic T --partitions 6   (librdkafka's mock cluster)
// Every mode prints its report, and writes it as JSON with --json FILE.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>

#include "fake_broker.h"
#include "group_options.h"
#include "modes.h"
#include "txn_options.h"

namespace fjord::bench {
namespace {

void add_common_options(CLI::App& command, LoadOptions& options) {
  command.add_option("--bootstrap", options.bootstrap, "host:port of the broker")
      ->capture_default_str();
  command.add_option("--topic", options.topic)->capture_default_str();
  command.add_option("--partitions", options.partitions, "partitions when creating the topic")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  command.add_option("--timeout-s", options.timeout_s, "bound on flush, drain and consume")
      ->capture_default_str();
  command.add_option("--json", options.json_path, "also write the report as JSON here");
  command
      .add_option_function<std::vector<std::string>>(
          "-X",
          [&options](const std::vector<std::string>& pairs) {
            for (const std::string& pair : pairs) {
              const size_t equals = pair.find('=');
              if (equals == std::string::npos) throw CLI::ValidationError("-X", "key=value");
              options.overrides.emplace_back(pair.substr(0, equals), pair.substr(equals + 1));
            }
          },
          "librdkafka setting key=value, applied last")
      ->allow_extra_args(false);
}

void add_producer_options(CLI::App& command, LoadOptions& options) {
  command.add_option("--message-bytes", options.message_bytes)
      ->capture_default_str()
      ->check(CLI::Range(int64_t{40}, int64_t{1} << 20));
  command.add_option("--duration-s", options.duration_s)->capture_default_str();
  command.add_option("--acks", options.acks)
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "-1", "0", "1"}));
  command.add_option("--rate-mb-s", options.rate_mb_s, "MB/s (10^6 B), 0 = unlimited")
      ->capture_default_str();
}

int print_report(const Result<Report>& report, const LoadOptions& options) {
  if (!report.ok()) {
    fmt::print(stderr, "fjord-load: {}\n", report.error().message);
    return 1;
  }
  fmt::print("{}", format_text(*report));
  std::fflush(stdout);
  if (options.json_path.empty()) return 0;
  std::FILE* file = std::fopen(options.json_path.c_str(), "w");
  if (file == nullptr) {
    fmt::print(stderr, "fjord-load: cannot write {}\n", options.json_path);
    return 1;
  }
  fmt::print(file, "{}", format_json(*report));
  std::fclose(file);
  return 0;
}

}  // namespace
}  // namespace fjord::bench

int main(int argc, char** argv) {
  using namespace fjord::bench;
  LoadOptions options;
  CLI::App app{
      "fjord-load: produce, consume, end-to-end latency, consumer-group and transactional load "
      "on librdkafka"};
  app.require_subcommand(1);
  std::function<int()> run;

  CLI::App* produce = app.add_subcommand("produce", "producer throughput");
  add_common_options(*produce, options);
  add_producer_options(*produce, options);
  produce->callback([&] { run = [&] { return print_report(run_produce(options), options); }; });

  CLI::App* consume = app.add_subcommand("consume", "read the topic from the start");
  add_common_options(*consume, options);
  consume->callback([&] { run = [&] { return print_report(run_consume(options), options); }; });

  CLI::App* latency = app.add_subcommand("latency", "end-to-end latency at a fixed rate");
  add_common_options(*latency, options);
  add_producer_options(*latency, options);
  latency->add_option("--warmup-s", options.warmup_s, "not measured")->capture_default_str();
  latency->callback([&] {
    if (options.rate_mb_s <= 0) options.rate_mb_s = 20;
    run = [&] { return print_report(run_latency(options), options); };
  });

  CLI::App* create = app.add_subcommand("create-topic", "create the topic unless it exists");
  add_common_options(*create, options);
  create->callback([&] { run = [&] { return print_report(run_create_topic(options), options); }; });

  CLI::App* join = app.add_subcommand("group-join", "time for a fresh group to become stable");
  add_common_options(*join, options);
  add_group_join_options(*join, options);
  join->callback([&] { run = [&] { return print_report(run_group_join(options), options); }; });

  CLI::App* commit = app.add_subcommand("commit", "offset commits per second of one member");
  add_common_options(*commit, options);
  add_commit_options(*commit, options);
  commit->callback([&] { run = [&] { return print_report(run_commit(options), options); }; });

  CLI::App* txn = app.add_subcommand("txn", "transactions per second and commit latency");
  add_common_options(*txn, options);
  add_txn_options(*txn, options);
  txn->callback([&] { run = [&] { return print_report(run_txn(options), options); }; });

  CLI::App* fake = app.add_subcommand("fake-broker", "serve librdkafka's mock cluster");
  add_common_options(*fake, options);
  fake->callback([&] { run = [&] { return serve_fake_broker(options); }; });

  CLI11_PARSE(app, argc, argv);
  return run();
}
