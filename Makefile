# Fjord: `make run` starts one node, `make cluster` three, `make test` runs every test. Both install
# missing Debian packages first (scripts/install-deps.sh, idempotent).
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
TEST_DIR := build/test
FUZZ_DIR := build/fuzz

.PHONY: deps build run cluster test unit-test integration-test fuzz bench clean format

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

bench: build
	@bash bench/run.sh

clean:
	rm -rf build

format:
	@git ls-files '*.cc' '*.h' | grep -v generated/ | xargs clang-format -i
