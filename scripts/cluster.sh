#!/usr/bin/env bash
# `make cluster`: three Fjord nodes on this machine, in the foreground until
# Ctrl-C. Node N (1..3) serves Kafka on 127.0.0.1:909(1+N), keeps its data under
# ./data/node-N and runs its Raft transport on its controller.quorum.voters entry
# 127.0.0.1:1909(1+N). Each output line is prefixed with [node-N].
# Usage: scripts/cluster.sh [path to fjord] (default: build/release/fjord).
set -euo pipefail

FJORD=${1:-build/release/fjord}
NODES=(1 2 3)
VOTERS="1@127.0.0.1:19092,2@127.0.0.1:19093,3@127.0.0.1:19094"

if [[ ! -x "$FJORD" ]]; then
  echo "cluster.sh: $FJORD is not an executable; run 'make cluster' (it builds it)" >&2
  exit 2
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "cluster.sh: stopping the nodes" >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Each node finishes its in-flight requests and fsyncs its logs, then exits.
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all INT TERM EXIT

for n in "${NODES[@]}"; do
  mkdir -p "data/node-$n"
  # Process substitution keeps $! the node's pid (not the prefixing sed's), so
  # the trap signals the nodes themselves; sed -u flushes every line at once.
  "$FJORD" serve --node-id "$n" --data-dir "data/node-$n" --listen "127.0.0.1:$((9091 + n))" \
    --set "controller.quorum.voters=$VOTERS" \
    > >(sed -u "s/^/[node-$n] /") 2> >(sed -u "s/^/[node-$n] /" >&2) &
  pids+=("$!")
done

echo "cluster.sh: nodes 1-3 on 127.0.0.1:9092,9093,9094 (Ctrl-C stops all three)" >&2
# Returns when any node exits (or on Ctrl-C); the trap then stops the others.
wait -n "${pids[@]}" || true
