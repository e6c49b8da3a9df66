#!/usr/bin/env bash
# Everything `make test` runs: sanitized build, unit tests, integration tests
# with real Kafka clients, and a bounded run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
build_dir=build/test

echo "== build (ASan+UBSan)"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFJORD_SANITIZE=ON \
  -DFJORD_WERROR="${FJORD_WERROR:-OFF}" -DCMAKE_CXX_FLAGS="-O1" >/dev/null
cmake --build "$build_dir" -j "$jobs"

echo "== unit tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build_dir" -j "$jobs" --output-on-failure

echo "== threading tests (ThreadSanitizer)"
tsan_dir=build/tsan
cmake -S . -B "$tsan_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -O1 -Wno-tsan" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DFJORD_WERROR="${FJORD_WERROR:-OFF}" >/dev/null
cmake --build "$tsan_dir" -j "$jobs" --target net_test raft_transport_test raft_runtime_test
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$tsan_dir" -L threading -j "$jobs" --output-on-failure

if [ -d tests/integration ] && ls tests/integration/test_*.py >/dev/null 2>&1; then
  echo "== integration tests (real clients)"
  FJORD_BIN="$PWD/$build_dir/fjord" /usr/bin/python3 -m pytest -q tests/integration
fi

echo "== fuzz (bounded)"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash scripts/fuzz.sh
