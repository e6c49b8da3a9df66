#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"
build_dir=build/fuzz
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFJORD_FUZZ=ON -DFJORD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
targets=$(find "$build_dir" -maxdepth 4 -type f -executable -name 'fuzz_*' | sort)
if [ -z "$targets" ]; then echo "no fuzz targets"; exit 0; fi
for target in $targets; do
  name=$(basename "$target")
  corpus="build/fuzz-corpus/$name"
  mkdir -p "$corpus"
  seeds=""
  [ -d "fuzz/seeds/$name" ] && seeds="fuzz/seeds/$name"
  echo "-- $name for ${seeds:+seeded }${seconds}s"
  "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=0 "$corpus" $seeds 2>&1 | tail -n 2
done
