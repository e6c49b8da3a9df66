#include "cli/app.h"

#include <fmt/core.h>
#include <librdkafka/rdkafka.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <functional>

#include "cli/commands.h"
#include "cli/exit_code.h"

namespace fjord::cli {
namespace {

// Values the parser fills in; only the chosen command's are used.
struct Arguments {
  ClientOptions client;
  std::vector<std::string> client_properties;
  ServeOptions serve;
  int32_t node_id = -1;
  TopicCreateOptions create;
  bool list_internal = false;
  std::string topic_name;
  TopicAlterOptions alter;
  int32_t alter_partitions = 0;
  ProduceOptions produce;
  ConsumeOptions consume;
  int32_t consume_partition = -1;
  int64_t from_timestamp_ms = -1;
  uint64_t count = 0;
  std::vector<std::string> group_states;
  std::vector<std::string> group_names;
  GroupResetOptions reset;
  std::string reset_timestamp;
  std::string reset_offset;
  TxnListOptions txn_list;
  std::vector<std::string> transactional_ids;
  TxnProducersOptions txn_producers;
  int32_t txn_partition = -1;
  TxnAbortOptions txn_abort;
  int64_t abort_start_offset = -1;
  int64_t abort_producer_id = -1;
  int32_t abort_producer_epoch = -1;
  int32_t abort_coordinator_epoch = -1;
  std::string cluster_output = "text";
  ClusterVoterOptions voter;
};

// One key=value (or key) per occurrence, so that a following positional is
// not taken as a second value.
CLI::Option* add_repeated(CLI::App* command, const std::string& name,
                          std::vector<std::string>& values, const std::string& help) {
  return command->add_option(name, values, help)->allow_extra_args(false)->type_size(1);
}

void add_client_options(CLI::App* command, Arguments& args) {
  command
      ->add_option("-b,--bootstrap-server", args.client.bootstrap,
                   "Server to connect to, HOST:PORT")
      ->envname("FJORD_BOOTSTRAP")
      ->capture_default_str();
  command
      ->add_option("--timeout-ms", args.client.timeout_ms,
                   "How long to wait for the server (connection, requests, acknowledgements)")
      ->check(CLI::Range(1, INT_MAX))
      ->capture_default_str();
  command->add_flag("-v,--verbose", args.client.verbose, "Show librdkafka's log on stderr");
  add_repeated(command, "-X,--property", args.client_properties,
               "Extra librdkafka setting key=value (repeatable)");
}

// An integer option check with a plain message ("expected an integer >= 1, got 'x'").
CLI::Validator at_least(int64_t min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        int64_t number = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || number < min) {
          return fmt::format("expected an integer >= {}, got '{}'", min, text);
        }
        return {};
      },
      fmt::format("INT>={}", min));
}

using Action = std::function<int()>;
using Actions = std::vector<std::pair<CLI::App*, Action>>;

void add_serve(CLI::App& app, Arguments& args, Actions& actions) {
  CLI::App* serve = app.add_subcommand("serve", "Run a Fjord server node");
  serve->add_option("-c,--config", args.serve.config_file,
                    "Server properties file (Kafka key names, e.g. listeners, log.dirs)");
  serve->add_option("--data-dir", args.serve.data_dir, "Data directory (log.dirs)");
  serve->add_option("--listen", args.serve.listen,
                    "Kafka listener HOST:PORT (port 0: any free port, printed when ready)");
  serve->add_option("--node-id", args.node_id, "Node id (node.id)")->check(at_least(0));
  add_repeated(serve, "--set", args.serve.settings,
               "Server setting key=value, as in the properties file (repeatable)");
  actions.emplace_back(serve, [serve, &args] {
    if (serve->count("--node-id") > 0) args.serve.node_id = args.node_id;
    return cli::serve(args.serve);
  });
}

void add_topic(CLI::App& app, Arguments& args, Actions& actions) {
  CLI::App* topic = app.add_subcommand("topic", "Create, list, describe, alter and delete topics");
  topic->require_subcommand(1);

  CLI::App* create = topic->add_subcommand("create", "Create a topic");
  create->add_option("name", args.create.name, "Topic name")->required();
  create
      ->add_option("--partitions", args.create.partitions,
                   "Number of partitions (default: the server's num.partitions)")
      ->check(at_least(1));
  create
      ->add_option("--replication-factor", args.create.replication_factor,
                   "Replicas per partition (default: the server's default.replication.factor)")
      ->check(at_least(1));
  add_repeated(create, "--config", args.create.configs, "Topic config key=value (repeatable)");
  add_client_options(create, args);
  actions.emplace_back(create, [&args] { return topic_create(args.client, args.create); });

  CLI::App* list = topic->add_subcommand("list", "List topic names");
  list->add_flag("--all", args.list_internal, "Include internal topics (names starting with __)");
  add_client_options(list, args);
  actions.emplace_back(list, [&args] { return topic_list(args.client, args.list_internal); });

  CLI::App* describe = topic->add_subcommand(
      "describe", "Show a topic's partitions (leader, replicas, isr) and configs");
  describe->add_option("name", args.topic_name, "Topic name")->required();
  add_client_options(describe, args);
  actions.emplace_back(describe, [&args] { return topic_describe(args.client, args.topic_name); });

  CLI::App* alter = topic->add_subcommand("alter", "Add partitions or change a topic's configs");
  alter->add_option("name", args.alter.name, "Topic name")->required();
  alter->add_option("--partitions", args.alter_partitions, "New total number of partitions")
      ->check(at_least(1));
  add_repeated(alter, "--config", args.alter.configs, "Set topic config key=value (repeatable)");
  add_repeated(alter, "--delete-config", args.alter.delete_configs,
               "Remove a topic config override, back to the default (repeatable)");
  add_client_options(alter, args);
  actions.emplace_back(alter, [alter, &args] {
    if (alter->count("--partitions") > 0) args.alter.partitions = args.alter_partitions;
    return topic_alter(args.client, args.alter);
  });

  CLI::App* remove = topic->add_subcommand("delete", "Delete a topic and its data");
  remove->add_option("name", args.topic_name, "Topic name")->required();
  add_client_options(remove, args);
  actions.emplace_back(remove, [&args] { return topic_delete(args.client, args.topic_name); });
}

void add_produce(CLI::App& app, Arguments& args, Actions& actions) {
  CLI::App* produce = app.add_subcommand("produce", "Send one message per input line");
  ProduceOptions& o = args.produce;
  produce->add_option("topic", o.topic, "Topic name")->required();
  produce->add_option("-f,--file", o.file, "Read lines from this file (default: stdin)");
  produce->add_option("-K,--key-separator", o.key_separator,
                      "Split each line into key and value at the first SEP");
  produce
      ->add_option("-p,--partition", o.partition,
                   "Send every message to this partition (default: by key, or spread)")
      ->check(at_least(0));
  add_repeated(produce, "-H,--header", o.headers,
               "Header name=value on every message (repeatable)");
  produce->add_option("--acks", o.acks, "Acknowledgement: 0, 1 or all")->capture_default_str();
  produce->add_option("-z,--compression", o.compression, "none, gzip, snappy, lz4 or zstd")
      ->capture_default_str();
  produce->add_option("--max-line-bytes", o.max_line_bytes, "Longest accepted line")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->capture_default_str();
  produce->add_flag("-q,--quiet", o.quiet, "No progress or summary on stderr");
  add_client_options(produce, args);
  actions.emplace_back(produce, [&args] { return cli::produce(args.client, args.produce); });
}

void add_consume(CLI::App& app, Arguments& args, Actions& actions) {
  CLI::App* consume = app.add_subcommand("consume", "Print messages of a topic");
  ConsumeOptions& o = args.consume;
  consume->add_option("topic", o.topic, "Topic name")->required();
  consume->add_option("-p,--partition", args.consume_partition, "Only this partition")
      ->check(at_least(0));
  consume
      ->add_option("-o,--offset", o.offset,
                   "Start at earliest, latest, offset N, or -N (the last N messages)")
      ->capture_default_str();
  consume
      ->add_option("--from-timestamp", args.from_timestamp_ms,
                   "Start at the first message at or after this time (ms since the epoch)")
      ->check(at_least(0));
  consume->add_option("-c,--count", args.count, "Stop after N messages")->check(at_least(1));
  consume->add_flag("-f,--follow", o.follow, "Keep waiting for new messages (stop with Ctrl-C)");
  consume
      ->add_option("-F,--format", o.format,
                   "Output format: %v value %k key %h headers %t topic %p partition "
                   "%o offset %T timestamp %S/%K value/key length, \\n \\t")
      ->capture_default_str();
  consume->add_option("-g,--group", o.group,
                      "Consume as a member of this consumer group (commits offsets)");
  consume->add_flag("-q,--quiet", o.quiet, "No progress or summary on stderr");
  add_client_options(consume, args);
  actions.emplace_back(consume, [consume, &args] {
    if (consume->count("--partition") > 0) args.consume.partition = args.consume_partition;
    if (consume->count("--from-timestamp") > 0) {
      args.consume.from_timestamp_ms = args.from_timestamp_ms;
    }
    if (consume->count("--count") > 0) args.consume.count = args.count;
    return cli::consume(args.client, args.consume);
  });
}

void add_group_reset(CLI::App* group, Arguments& args, Actions& actions) {
  CLI::App* reset = group->add_subcommand(
      "reset-offsets", "Plan (default) or commit new offsets for an inactive group");
  GroupResetOptions& o = args.reset;
  reset->add_option("group", o.group, "Group name")->required();
  add_repeated(reset, "--topic", o.topics,
               "Partitions to reset: TOPIC (all of them) or TOPIC:P,P,... (repeatable)");
  reset->add_flag("--all-topics", o.all_topics,
                  "Reset every partition the group has committed offsets for");
  reset->add_flag("--to-earliest", o.to_earliest, "To the first offset still in the log");
  reset->add_flag("--to-latest", o.to_latest, "To the log end (skip everything)");
  reset->add_option("--to-timestamp", args.reset_timestamp,
                    "To the first message at or after this time: ms since the epoch or ISO 8601 "
                    "(2024-03-01T12:30:00Z; UTC without a zone)");
  reset->add_option("--to-offset", args.reset_offset,
                    "To this offset (clamped to the log's start and end)");
  reset->add_flag("--execute", o.execute, "Commit the new offsets (default: only print the plan)");
  add_client_options(reset, args);
  actions.emplace_back(reset, [reset, &args] {
    if (reset->count("--to-timestamp") > 0) args.reset.to_timestamp = args.reset_timestamp;
    if (reset->count("--to-offset") > 0) args.reset.to_offset = args.reset_offset;
    return group_reset_offsets(args.client, args.reset);
  });
}

void add_group(CLI::App& app, Arguments& args, Actions& actions) {
  CLI::App* group = app.add_subcommand(
      "group", "List, describe (with lag), delete consumer groups and reset their offsets");
  group->require_subcommand(1);

  CLI::App* list = group->add_subcommand("list", "List consumer groups with state and type");
  add_repeated(list, "--state", args.group_states,
               "Only groups in this state: Stable, Empty, PreparingRebalance, "
               "CompletingRebalance, Dead (repeatable)");
  add_client_options(list, args);
  actions.emplace_back(list, [&args] { return group_list(args.client, args.group_states); });

  CLI::App* describe = group->add_subcommand(
      "describe", "Show groups' members, committed offsets, log end offsets and lag");
  describe->add_option("groups", args.group_names, "Group names")->required();
  add_client_options(describe, args);
  actions.emplace_back(describe, [&args] { return group_describe(args.client, args.group_names); });

  CLI::App* remove = group->add_subcommand("delete", "Delete groups without active members");
  remove->add_option("groups", args.group_names, "Group names")->required();
  add_client_options(remove, args);
  actions.emplace_back(remove, [&args] { return group_delete(args.client, args.group_names); });

  add_group_reset(group, args, actions);
}

// The txn commands speak the protocol themselves, without librdkafka.
void warn_ignored_properties(const Arguments& args) {
  if (!args.client.properties.empty()) {
    warn(
        "-X settings are librdkafka's; 'fjord txn' and 'fjord cluster' do not use librdkafka "
        "and ignore them");
  }
}

void add_txn_abort(CLI::App* txn, Arguments& args, Actions& actions) {
  CLI::App* command = txn->add_subcommand(
      "abort",
      "Abort a hanging transaction on one partition: write its ABORT marker (WriteTxnMarkers)");
  TxnAbortOptions& o = args.txn_abort;
  command->add_option("--topic", o.topic, "Topic name")->required();
  command->add_option("-p,--partition", o.partition, "Partition")->required()->check(at_least(0));
  CLI::Option* start = command
                           ->add_option("--start-offset", args.abort_start_offset,
                                        "The offset the transaction starts at (as 'fjord txn "
                                        "producers' shows it)")
                           ->check(at_least(0));
  CLI::Option* producer =
      command->add_option("--producer-id", args.abort_producer_id, "The transaction's producer id")
          ->check(at_least(0));
  CLI::Option* epoch = command
                           ->add_option("--producer-epoch", args.abort_producer_epoch,
                                        "The producer's epoch (with --producer-id)")
                           ->check(CLI::Range(0, INT16_MAX));
  command
      ->add_option("--coordinator-epoch", args.abort_coordinator_epoch,
                   "Coordinator epoch of the marker (default: the producer's, or 0)")
      ->check(at_least(0));
  start->excludes(producer)->excludes(epoch);
  producer->needs(epoch);
  epoch->needs(producer);
  add_client_options(command, args);
  actions.emplace_back(command, [command, &args] {
    TxnAbortOptions& options = args.txn_abort;
    if (command->count("--start-offset") > 0) options.start_offset = args.abort_start_offset;
    if (command->count("--producer-id") > 0) {
      options.producer_id = args.abort_producer_id;
      options.producer_epoch = static_cast<int16_t>(args.abort_producer_epoch);
    }
    if (command->count("--coordinator-epoch") > 0) {
      options.coordinator_epoch = args.abort_coordinator_epoch;
    }
    if (!options.start_offset && !options.producer_id) {
      return fail(kExitUsage,
                  "name the transaction to abort: --start-offset O, or --producer-id X with "
                  "--producer-epoch E (see 'fjord txn producers --topic T')");
    }
    warn_ignored_properties(args);
    return txn_abort(args.client, options);
  });
}

void add_txn(CLI::App& app, Arguments& args, Actions& actions) {
  CLI::App* txn = app.add_subcommand(
      "txn",
      "List and describe transactions and the producers of a topic's partitions; abort a "
      "hanging one");
  txn->require_subcommand(1);

  CLI::App* list = txn->add_subcommand("list", "List transactions with producer id and state");
  add_repeated(list, "--state", args.txn_list.states,
               "Only transactions in this state: Empty, Ongoing, PrepareCommit, PrepareAbort, "
               "CompleteCommit, CompleteAbort, Dead, PrepareEpochFence (repeatable)");
  list->add_option("--producer-id", args.txn_list.producer_ids,
                   "Only the transaction of this producer id (repeatable)")
      ->allow_extra_args(false)
      ->type_size(1)
      ->check(at_least(0));
  add_client_options(list, args);
  actions.emplace_back(list, [&args] {
    warn_ignored_properties(args);
    return txn_list(args.client, args.txn_list);
  });

  CLI::App* describe = txn->add_subcommand(
      "describe", "Show transactions' state, producer, timeout, age and partitions");
  describe->add_option("transactional-ids", args.transactional_ids, "Transactional ids")
      ->required();
  add_client_options(describe, args);
  actions.emplace_back(describe, [&args] {
    warn_ignored_properties(args);
    return txn_describe(args.client, args.transactional_ids);
  });

  CLI::App* producers = txn->add_subcommand(
      "producers", "Show the active producers of a topic's partitions and their open transactions");
  producers->add_option("--topic", args.txn_producers.topic, "Topic name")->required();
  producers->add_option("-p,--partition", args.txn_partition, "Only this partition")
      ->check(at_least(0));
  add_client_options(producers, args);
  actions.emplace_back(producers, [producers, &args] {
    if (producers->count("--partition") > 0) args.txn_producers.partition = args.txn_partition;
    warn_ignored_properties(args);
    return txn_producers(args.client, args.txn_producers);
  });

  add_txn_abort(txn, args, actions);
}

void add_cluster(CLI::App& app, Arguments& args, Actions& actions) {
  CLI::App* cluster = app.add_subcommand(
      "cluster", "Show the metadata quorum and the brokers; add and remove voters");
  cluster->require_subcommand(1);

  CLI::App* status = cluster->add_subcommand(
      "status",
      "Show the quorum (leader, epoch, each voter's log end, lag and last contact) "
      "and the brokers");
  status->add_option("-o,--output", args.cluster_output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_client_options(status, args);
  actions.emplace_back(status, [&args] {
    warn_ignored_properties(args);
    return cluster_status(args.client, ClusterStatusOptions{args.cluster_output == "json"});
  });

  CLI::App* add = cluster->add_subcommand(
      "add-voter", "Make a running node a voter of the metadata quorum (AddRaftVoter)");
  add->add_option("--id", args.voter.node_id, "The node's id (its node.id)")
      ->required()
      ->check(at_least(0));
  add->add_option("--endpoint", args.voter.endpoint,
                  "HOST:PORT where the node's Raft transport listens (its "
                  "controller.quorum.voters entry)")
      ->required();
  add_client_options(add, args);
  actions.emplace_back(add, [&args] {
    warn_ignored_properties(args);
    return cluster_add_voter(args.client, args.voter);
  });

  CLI::App* remove = cluster->add_subcommand(
      "remove-voter", "Remove a voter from the metadata quorum (RemoveRaftVoter)");
  remove->add_option("--id", args.voter.node_id, "The voter's node id")
      ->required()
      ->check(at_least(0));
  add_client_options(remove, args);
  actions.emplace_back(remove, [&args] {
    warn_ignored_properties(args);
    return cluster_remove_voter(args.client, args.voter);
  });
}

// "fjord topic create": the command whose help to point at.
std::string command_path(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
    sub = sub->get_subcommands().front();
    path += " " + sub->get_name();
  }
  return path;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"Fjord: a Kafka-compatible streaming server and its command line", "fjord"};
  app.set_version_flag(
      "--version", fmt::format("fjord {} (librdkafka {})", kFjordVersion, rd_kafka_version_str()));
  app.require_subcommand(1);
  Arguments args;
  Actions actions;
  add_serve(app, args, actions);
  add_topic(app, args, actions);
  add_produce(app, args, actions);
  add_consume(app, args, actions);
  add_group(app, args, actions);
  add_txn(app, args, actions);
  add_cluster(app, args, actions);
  app.footer(
      "Run 'fjord <command> --help' for a command's options. "
      "Client commands connect to --bootstrap-server (or $FJORD_BOOTSTRAP).\n");

  if (argc <= 1) {
    fmt::print(stderr, "{}", app.help());
    return kExitUsage;
  }
  const std::string_view first = argv[1];
  const auto commands = app.get_subcommands([](CLI::App*) { return true; });
  const bool known = std::any_of(commands.begin(), commands.end(), [&](const CLI::App* command) {
    return command->check_name(std::string(first));
  });
  if (!first.empty() && first.front() != '-' && !known) {
    return fail(kExitUsage,
                fmt::format("unknown command '{}': the commands are serve, topic, "
                            "produce, consume, group, txn and cluster; see 'fjord --help'",
                            first));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(kExitUsage, fmt::format("{}: see '{} --help'", e.what(), command_path(app)));
  }
  Status properties = parse_client_properties(args.client_properties, args.client);
  if (!properties.ok()) return fail(kExitUsage, properties.error().message);
  for (const auto& [command, action] : actions) {
    if (command->parsed()) return action();
  }
  return fail(kExitUsage, "no command given: see 'fjord --help'");
}

}  // namespace fjord::cli
