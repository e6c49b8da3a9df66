#!/usr/bin/env bash
# The end-to-end benchmark (`make bench`): builds release, measures this machine's
# limits (iperf3 loopback, fio fsync'd sequential writes), runs fjord-load
# produce / consume / latency, the consumer-group modes (group-join, commit) and
# the transactional producer (txn) against a fresh `fjord serve`, and writes docs/benchmarks.md with the results,
# the limits, the ratios against the targets and the exact commands. Takes about
# 15 minutes; run it on a quiet machine.
#
# Knobs (environment):
#   BENCH_DURATION_S=20   produce and latency run time
#   LATENCY_RATE_MB_S=20  latency run rate
#   MESSAGE_BYTES=1024 PARTITIONS=6
#   IPERF_SECONDS=10 FIO_RUNTIME_S=20 FIO_SIZE=2G
#   SKIP_LIMITS=1         skip iperf3 and fio (for trying the script out)
#   SKIP_BUILD=1          use the binaries already in build/release
#   BENCH_PARTS="core groups txn"  core = produce/consume/latency, groups =
#                         consumer groups, txn = transactions, raft = Raft commits
#                         on three in-process nodes (not in the default); without
#                         core only the "Consumer groups", "Transactions" and/or
#                         "Raft" sections of BENCH_OUT are replaced, the rest is kept
#   RAFT_SECONDS=10       measured time of each fjord-raft-bench run
#   BENCH_PARTS=metadata  the metadata image at a million partitions (not in the
#                         default): apply, snapshot write and load; its section is
#                         "Metadata". METADATA_TOPICS=10000 METADATA_PARTITIONS=100
#                         METADATA_BROKERS=3 METADATA_REPLICAS=3
#   BENCH_PARTS=cluster   controller failover on three local nodes (not in the
#                         default); its section is "Controller failover".
#                         FAILOVER_ROUNDS=5 FAILOVER_ELECTION_TIMEOUT_MS=1000
#   GROUP_MEMBERS="1 10 100" GROUP_ROUNDS=3 GROUP_PARTITIONS=100
#   COMMIT_SECONDS=10 COMMIT_IN_FLIGHT=32
#   TXN_MESSAGES="1 10 100"  messages per transaction, one row each
#   TXN_PRODUCERS="transactional idempotent plain"  the same load with each
#   TXN_SPLIT_MESSAGES=10 transactional runs with --flush-before-commit (where the
#                         time of a transaction goes), for these sizes
#   TXN_SECONDS=10 TXN_ROUNDS=3 TXN_PARTITIONS=6  rounds are interleaved; the
#                         report takes the median over them
#   LOAD_TIMEOUT_S=900    bound on one fjord-load run (a synchronous commit waits
#                         for ever if the broker dies under it)
#   FJORD_BENCH_BROKER=fake  benchmark librdkafka's mock cluster instead of Fjord
#                         (tests the script without the broker; numbers mean nothing)
#   BENCH_OUT=docs/benchmarks.md RELEASE_DIR=build/release
set -euo pipefail
cd "$(dirname "$0")/.."

duration_s=${BENCH_DURATION_S:-20}
latency_rate_mb_s=${LATENCY_RATE_MB_S:-20}
message_bytes=${MESSAGE_BYTES:-1024}
partitions=${PARTITIONS:-6}
iperf_seconds=${IPERF_SECONDS:-10}
fio_runtime_s=${FIO_RUNTIME_S:-20}
fio_size=${FIO_SIZE:-2G}
broker_kind=${FJORD_BENCH_BROKER:-fjord}
out=${BENCH_OUT:-docs/benchmarks.md}
release_dir=${RELEASE_DIR:-build/release}
bench_parts=${BENCH_PARTS:-core groups txn}
group_members=${GROUP_MEMBERS:-1 10 100}
group_rounds=${GROUP_ROUNDS:-3}
group_partitions=${GROUP_PARTITIONS:-100}
commit_seconds=${COMMIT_SECONDS:-10}
commit_in_flight=${COMMIT_IN_FLIGHT:-32}
txn_messages=${TXN_MESSAGES:-1 10 100}
txn_producers=${TXN_PRODUCERS:-transactional idempotent plain}
txn_split_messages=${TXN_SPLIT_MESSAGES:-10}
txn_seconds=${TXN_SECONDS:-10}
txn_rounds=${TXN_ROUNDS:-3}
txn_partitions=${TXN_PARTITIONS:-6}
load_timeout_s=${LOAD_TIMEOUT_S:-900}
raft_seconds=${RAFT_SECONDS:-10}
failover_rounds=${FAILOVER_ROUNDS:-5}
failover_election_timeout_ms=${FAILOVER_ELECTION_TIMEOUT_MS:-1000}
metadata_topics=${METADATA_TOPICS:-10000}
metadata_partitions=${METADATA_PARTITIONS:-100}
metadata_brokers=${METADATA_BROKERS:-3}
metadata_replicas=${METADATA_REPLICAS:-3}
load="$release_dir/bench/fjord-load"
topic="bench-$(date +%s)"
group_topic="bench-groups-$(date +%s)"
txn_topic="bench-txn-$(date +%s)"
# The mock cluster answers no CreateTopics: it has only the topic it starts with.
[ "$broker_kind" != fake ] || { group_topic=$topic; txn_topic=$topic; }

# On the build's disk (not a tmpfs), so fio and the broker write to the same device.
mkdir -p build
run_dir=$(mktemp -d "$PWD/build/bench-run.XXXXXX")
data_dir="$run_dir/data"
commands="$run_dir/commands.txt"
: >"$commands"
broker_pid=""

# SIGTERM, and SIGKILL (noted in the report) if the broker has not exited 30 s later.
stop_broker() {
  [ -n "$broker_pid" ] || return 0
  kill "$broker_pid" 2>/dev/null || true
  local waited_ds=0  # tenths of a second
  while kill -0 "$broker_pid" 2>/dev/null && [ "$waited_ds" -lt 300 ]; do
    sleep 0.1
    waited_ds=$((waited_ds + 1))
  done
  if kill -0 "$broker_pid" 2>/dev/null; then
    note "the broker did not exit within 30 s of SIGTERM; killed with SIGKILL"
    kill -9 "$broker_pid" 2>/dev/null || true
  fi
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}

cleanup() {
  stop_broker
  rm -rf "$data_dir" "$run_dir/fio"
}
trap cleanup EXIT

# Runs a command after recording it (for the report's "exact commands").
logged() {
  printf '%s\n' "$*" >>"$commands"
  "$@"
}

# A problem of this run, for the report.
note() {
  echo "!! $*" >&2
  printf '%s\n' "$*" >>"$run_dir/notes.txt"
}

# CPU seconds (user + system) used so far by a process.
cpu_seconds() {
  awk -v tck="$(getconf CLK_TCK)" '{ print ($14 + $15) / tck }' "/proc/$1/stat"
}

build() {
  echo "== build (release, with fjord-load)"
  logged cmake -S . -B "$release_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFJORD_TESTS=OFF -DFJORD_BENCH=ON >/dev/null
  local targets=""
  if has_part core || has_part groups || has_part txn || has_part cluster; then
    targets=fjord-load
    [ "$broker_kind" = fake ] || targets="fjord fjord-load"
  fi
  ! has_part raft || targets="$targets fjord-raft-bench"
  ! has_part metadata || targets="$targets fjord-metadata-bench"
  # shellcheck disable=SC2086
  logged cmake --build "$release_dir" -j 2 --target $targets
}

measure_iperf() {
  echo "== iperf3 loopback, 1 stream, ${iperf_seconds} s"
  local port=$((20000 + RANDOM % 20000))
  printf '%s\n' "iperf3 -s -1 -p $port &" >>"$commands"
  iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
  local server=$!
  sleep 0.5
  logged iperf3 -c 127.0.0.1 -p "$port" -t "$iperf_seconds" -J >"$run_dir/iperf3.json"
  wait "$server" || true
}

# fio: sequential appends with an fsync after every write, like a broker that
# syncs each write before acknowledging acks=all. Writes fio-<bs><suffix>.json.
measure_fio() {
  local block_size=$1 suffix=${2:-}
  echo "== fio sequential write + fsync, bs=$block_size$suffix"
  mkdir -p "$run_dir/fio"
  logged fio --name="seqwrite-$block_size" --directory="$run_dir/fio" --rw=write \
    --bs="$block_size" --size="$fio_size" --runtime="$fio_runtime_s" --ioengine=psync \
    --direct=0 --fsync=1 --fallocate=none --output-format=json \
    >"$run_dir/fio-$block_size$suffix.json"
  rm -rf "$run_dir/fio"
}

# Arguments: extra `fjord serve` arguments (--set key=value); the mock cluster
# takes none.
start_broker() {
  echo "== start $broker_kind $*"
  mkdir -p "$data_dir"
  if [ "$broker_kind" = fake ]; then
    printf '%s\n' "$load fake-broker --topic $topic --partitions $partitions" >>"$commands"
    "$load" fake-broker --topic "$topic" --partitions "$partitions" >"$run_dir/broker.log" 2>&1 &
  else
    printf '%s\n' "$release_dir/fjord serve --data-dir $data_dir --listen 127.0.0.1:0 $*" >>"$commands"
    "$release_dir/fjord" serve --data-dir "$data_dir" --listen 127.0.0.1:0 "$@" \
      >"$run_dir/broker.log" 2>&1 &
  fi
  broker_pid=$!
  local address=""
  for _ in $(seq 1 300); do
    address=$(grep -i ready "$run_dir/broker.log" |
      grep -oE '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]+' | head -1 || true)
    [ -n "$address" ] && break
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$address" ]; then
    echo "the broker did not print a ready line with host:port:" >&2
    cat "$run_dir/broker.log" >&2
    exit 1
  fi
  bootstrap=$address
  echo "   ready on $bootstrap (pid $broker_pid)"
}

# Runs one fjord-load mode on one topic and records the broker's CPU time around
# it; `label` names the result files (load-<label>.json, broker-cpu-<label>.json).
run_labelled_load() {
  local label=$1 mode=$2 load_topic=$3
  shift 3
  echo "== fjord-load $mode ($label)"
  local cpu_before cpu_after
  if ! kill -0 "$broker_pid" 2>/dev/null; then
    note "fjord-load $label: not run, the broker had exited (see $run_dir/broker.log)"
    return
  fi
  cpu_before=$(cpu_seconds "$broker_pid")
  # A failed mode is reported, not fatal: the other modes and the limits still run.
  logged timeout --kill-after=10 "$load_timeout_s" "$load" "$mode" --bootstrap "$bootstrap" \
    --topic "$load_topic" --json "$run_dir/load-$label.json" "$@" ||
    note "fjord-load $label failed (exit code $?; 124: killed after $load_timeout_s s)"
  if ! kill -0 "$broker_pid" 2>/dev/null; then
    note "the broker exited during fjord-load $label (see $run_dir/broker.log)"
    return
  fi
  cpu_after=$(cpu_seconds "$broker_pid")
  echo "{\"broker_cpu_s\": $(awk -v a="$cpu_after" -v b="$cpu_before" 'BEGIN { print a - b }')}" \
    >"$run_dir/broker-cpu-$label.json"
}

run_load() {
  local mode=$1
  shift
  run_labelled_load "$mode" "$mode" "$topic" "$@"
}

# group-join for each group size on a fresh broker, with the broker's default
# group.initial.rebalance.delay.ms (Kafka's 3000) or with the delay given; with
# delay 0 also the commit runs (the delay only stretches their group join).
run_group_loads() {
  local delay_ms=$1
  local broker_args=() label=default
  if [ "$delay_ms" != default ]; then
    broker_args=(--set "group.initial.rebalance.delay.ms=$delay_ms")
    label=$delay_ms
  fi
  rm -rf "$data_dir"
  start_broker "${broker_args[@]}"
  local members
  for members in $group_members; do
    run_labelled_load "group-join-$members-delay-$label" group-join "$group_topic" \
      --members "$members" --partitions "$group_partitions" --rounds "$group_rounds" \
      --timeout-s 120
  done
  if [ "$delay_ms" != default ]; then
    local load_timeout_s=$((commit_seconds + 120))
    run_labelled_load commit-sync-1 commit "$group_topic" --seconds "$commit_seconds" \
      --commit-partitions 1
    run_labelled_load commit-sync-6 commit "$group_topic" --seconds "$commit_seconds" \
      --commit-partitions 6
    run_labelled_load "commit-async-1" commit "$group_topic" --seconds "$commit_seconds" \
      --commit-partitions 1 --in-flight "$commit_in_flight"
  fi
  stop_broker
}

# Every TXN_PRODUCERS kind at every TXN_MESSAGES size (and the split runs), on
# one fresh broker and topic; round after round, so that a slower spell of the
# machine touches every row alike.
run_txn_loads() {
  # The disk is shared: a second fio run (the other is at the end) shows how
  # much its fsync rate moved during the runs.
  [ "${SKIP_LIMITS:-0}" = 1 ] || measure_fio 4k -before-txn
  rm -rf "$data_dir"
  start_broker
  logged "$load" create-topic --bootstrap "$bootstrap" --topic "$txn_topic" \
    --partitions "$txn_partitions" || note "create-topic $txn_topic failed"
  local load_timeout_s=$((txn_seconds + 120))
  local round messages producer
  for round in $(seq 1 "$txn_rounds"); do
    for messages in $txn_messages; do
      for producer in $txn_producers; do
        run_labelled_load "txn-$producer-$messages-r$round" txn "$txn_topic" \
          --producer "$producer" --messages-per-txn "$messages" \
          --message-bytes "$message_bytes" --partitions "$txn_partitions" \
          --duration-s "$txn_seconds"
      done
    done
    for messages in $txn_split_messages; do
      run_labelled_load "txn-split-$messages-r$round" txn "$txn_topic" \
        --producer transactional --flush-before-commit --messages-per-txn "$messages" \
        --message-bytes "$message_bytes" --partitions "$txn_partitions" \
        --duration-s "$txn_seconds"
    done
  done
  stop_broker
}

has_part() {
  case " $bench_parts " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# One fjord-raft-bench run, its report in raft-<label>.json.
raft_run() {
  local label=$1
  shift
  echo "== fjord-raft-bench run ($label)"
  logged timeout --kill-after=10 "$load_timeout_s" "$release_dir/bench/fjord-raft-bench" run \
    --seconds "$raft_seconds" --dir "$run_dir/raft" --json "$run_dir/raft-$label.json" "$@" \
    >/dev/null || note "fjord-raft-bench $label failed (exit code $?)"
}

# Raft commits on three in-process nodes (docs/benchmarks.md "Raft"), with this
# run's loopback round trip and fsync latency next to them.
run_raft() {
  [ "${SKIP_LIMITS:-0}" = 1 ] || measure_fio 4k -raft
  echo "== fjord-raft-bench limits"
  logged "$release_dir/bench/fjord-raft-bench" limits --dir "$run_dir/raft" \
    --json "$run_dir/raft-limits.json" >/dev/null || note "fjord-raft-bench limits failed"
  raft_run 1-group-latency --groups 1 --in-flight 1
  raft_run 1-group-latency-log --groups 1 --in-flight 1 --storage log
  raft_run 1-group-throughput --groups 1 --in-flight 64
  # Heartbeats every 500 ms: at 100 ms the idle groups' heartbeats overload
  # three nodes on 2 cores (see the section's notes).
  raft_run 10000-groups --groups 10000 --in-flight 1 --heartbeat-ticks 10 --election-ticks 60
  rm -rf "$run_dir/raft"
}

# The metadata image at a million partitions (docs/benchmarks.md "Metadata"):
# apply with one publish at the end and with one per batch, then load the
# snapshot the first run wrote in a fresh process.
run_metadata() {
  cp /proc/meminfo "$run_dir/metadata-meminfo.txt"
  local bench="$release_dir/bench/fjord-metadata-bench"
  local shape=(--topics "$metadata_topics" --partitions "$metadata_partitions"
    --brokers "$metadata_brokers" --replicas "$metadata_replicas")
  local publish
  for publish in end each; do
    echo "== fjord-metadata-bench apply (publish $publish)"
    logged timeout --kill-after=10 "$load_timeout_s" "$bench" apply "${shape[@]}" \
      --publish "$publish" --snapshot "$run_dir/metadata-$publish.checkpoint" \
      --json "$run_dir/metadata-apply-$publish.json" ||
      note "fjord-metadata-bench apply --publish $publish failed (exit code $?)"
  done
  echo "== fjord-metadata-bench load"
  logged timeout --kill-after=10 "$load_timeout_s" "$bench" load \
    --snapshot "$run_dir/metadata-end.checkpoint" --json "$run_dir/metadata-load.json" ||
    note "fjord-metadata-bench load failed (exit code $?)"
  rm -f "$run_dir"/metadata-*.checkpoint
}

# Controller failover on three local nodes (docs/benchmarks.md "Controller failover").
run_cluster() {
  echo "== controller failover"
  logged timeout --kill-after=10 "$load_timeout_s" /usr/bin/python3 bench/cluster_failover.py \
    "$release_dir/fjord" "$failover_rounds" "$failover_election_timeout_ms" \
    "$run_dir/cluster-failover.json" >/dev/null || note "cluster_failover.py failed (exit code $?)"
}

# The mean produce batch rounded to 4 KiB: the size each acks=all append has to sync.
batch_block_size() {
  [ -f "$run_dir/load-produce.json" ] || { echo 1M; return; }
  /usr/bin/python3 -c '
import json, sys
batch = json.load(open(sys.argv[1]))["metrics"].get("batch_bytes_mean", 0)
print("%dk" % max(4, round(batch / 4096) * 4))' "$run_dir/load-produce.json"
}

# The commit measured: the working tree as it is built (or, with SKIP_BUILD, as it is now).
dirty=""
[ -z "$(git status --porcelain 2>/dev/null)" ] || dirty=" (working tree had uncommitted changes)"
echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$dirty" >"$run_dir/commit.txt"
[ "${SKIP_BUILD:-0}" = 1 ] || build
# Other people's work shares these cores and this disk: say how busy they were.
cp /proc/loadavg "$run_dir/loadavg.txt"
if has_part core; then
  start_broker
  logged "$load" create-topic --bootstrap "$bootstrap" --topic "$topic" --partitions "$partitions" ||
    note "create-topic failed; produce tries again, and may get an auto-created topic"
  run_load produce --message-bytes "$message_bytes" --partitions "$partitions" \
    --duration-s "$duration_s" --acks all
  run_load consume --timeout-s 120
  run_load latency --message-bytes "$message_bytes" --partitions "$partitions" \
    --duration-s "$duration_s" --acks all --rate-mb-s "$latency_rate_mb_s"
  stop_broker
fi
if has_part groups; then
  run_group_loads default
  run_group_loads 0
fi
has_part txn && run_txn_loads
has_part raft && run_raft
has_part metadata && run_metadata
has_part cluster && run_cluster

if [ "${SKIP_LIMITS:-0}" != 1 ]; then
  if has_part core; then
    measure_iperf
    measure_fio 1M
    batch_bs=$(batch_block_size)
    [ "$batch_bs" = 1M ] || [ "$batch_bs" = 1024k ] || measure_fio "$batch_bs"
  fi
  # An offset commit and a transaction's control records are small appends: the
  # fsync rate of 4 KiB appends bounds synchronous commits without group commit.
  if has_part groups || has_part txn; then measure_fio 4k; fi
fi

/usr/bin/python3 bench/write_report.py --run-dir "$run_dir" --broker "$broker_kind" \
  --out "$out" --commands "$commands" --parts "$bench_parts"
echo "== wrote $out (raw results in $run_dir)"
