# The README's two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure --timeout 600 -j $(JOBS)
CMAKE_FLAGS ?=

.PHONY: all deps deps-build build build-asan test test-release test-asan run bench bench-micro format tidy clean

all: build

NPM_DIR := tests/integration

deps:
	@deploy/deps.sh test
	@if [ -f $(NPM_DIR)/package-lock.json ] && \
	    { [ ! -d $(NPM_DIR)/node_modules ] || [ $(NPM_DIR)/package-lock.json -nt $(NPM_DIR)/node_modules ]; }; then \
	  echo "deps: npm ci in $(NPM_DIR)"; \
	  npm ci --prefix $(NPM_DIR) --no-audit --no-fund --loglevel=error && touch $(NPM_DIR)/node_modules; \
	fi

deps-build:
	@deploy/deps.sh build

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSGATE_WERROR=ON $(CMAKE_FLAGS)

$(ASAN_DIR)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DWSGATE_WERROR=ON \
	  -DWSGATE_SANITIZE=ON -DWSGATE_BENCH=OFF $(CMAKE_FLAGS)

build: deps-build $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: deps-build $(ASAN_DIR)/CMakeCache.txt
	cmake --build $(ASAN_DIR) -j $(JOBS)

# The whole suite twice: an optimised gcc build, then a clang build with ASan + UBSan
# (which also runs the libFuzzer targets briefly).
test: deps
	$(MAKE) test-release
	$(MAKE) test-asan

test-release: build
	ctest --test-dir $(BUILD_DIR) $(CTEST_FLAGS)

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_DIR) $(CTEST_FLAGS)

run: deps build
	@deploy/run-demo.sh $(BUILD_DIR)

# The comparison with nginx and HAProxy (tests/bench/README.md); needs root for apt the first time.
bench: deps-build
	tests/bench/run.sh

# Micro-benchmarks of the frame path (parse, unmask, UTF-8).
bench-micro: build
	$(BUILD_DIR)/tests/bench/wsgate_microbench

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

tidy: $(BUILD_DIR)/CMakeCache.txt
	clang-tidy -p $(BUILD_DIR) $$(git ls-files 'common/*.cpp' 'proxy/*.cpp')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
