# Fjord: `make run` starts one node, `make cluster` three, `make test` runs every test. Both install
# missing Debian packages first (scripts/install-deps.sh, idempotent).
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
TEST_DIR := build/test
FUZZ_DIR := build/fuzz

.PHONY: deps build run cluster test unit-test integration-test fuzz soak bench clean format

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFJORD_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j $(JOBS) --target fjord

run: build
	@mkdir -p data
	./$(RELEASE_DIR)/fjord serve --data-dir ./data --listen 127.0.0.1:9092

# Three nodes (Kafka on 127.0.0.1:9092-9094, data in ./data/node-N), until Ctrl-C.
cluster: build
	@bash scripts/cluster.sh ./$(RELEASE_DIR)/fjord

# Unit tests, integration tests with real clients and bounded fuzz runs, all on
# the sanitized (ASan+UBSan) build.
test: deps
	@bash scripts/test.sh

fuzz: deps
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} bash scripts/fuzz.sh

# The Raft simulation for SOAK_SECONDS (default 30 min) on the sanitized build,
# from a first seed that differs per run (printed; any seed replays alone).
soak: deps
	@cmake -S . -B $(TEST_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFJORD_SANITIZE=ON -DCMAKE_CXX_FLAGS="-O1" >/dev/null
	@cmake --build $(TEST_DIR) -j $(JOBS) --target raft_sim
	./$(TEST_DIR)/src/raft/simulation/raft_sim --seed $${SOAK_FIRST_SEED:-$$(date +%s)000} \
	  --seeds 1000000000 --seconds $${SOAK_SECONDS:-1800}

bench: build
	@bash bench/run.sh

clean:
	rm -rf build

format:
	@git ls-files '*.cc' '*.h' | grep -v generated/ | xargs clang-format -i
