#!/usr/bin/env bash
# The Raft storage micro benchmark next to fio's fsync rate on the same disk, in
# one run: fio 4 KiB sequential writes with an fsync after each (what one
# append+sync of a small entry costs at best), then raft-storage-bench, then fio
# again (the machine is shared and noisy: compare within one run).
# Usage: bash bench/raft_storage.sh [build dir, default build/bench]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build/bench}"
work_dir="$(mktemp -d "$PWD/build/raft-storage-bench.XXXXXX")"
trap 'rm -rf "$work_dir"' EXIT
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFJORD_BENCH=ON -DFJORD_TESTS=OFF >/dev/null
cmake --build "$build_dir" --target raft-storage-bench >/dev/null

fio_fsync() {
  fio --name=fsync4k --directory="$work_dir" --rw=write --bs=4k --size=256m --fsync=1 \
    --direct=0 --fallocate=none --runtime=10 --time_based --output-format=json |
    python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]["write"]; print("fio 4 KiB write+fsync: %.0f fsyncs/s, %.1f MB/s" % (j["iops"], j["bw_bytes"] / 1e6))'
  rm -f "$work_dir"/fsync4k*
}

fio_fsync
FJORD_BENCH_DIR="$work_dir/raft" "$build_dir/bench/raft-storage-bench" --benchmark_counters_tabular=true
fio_fsync
