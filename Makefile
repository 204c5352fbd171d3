# The README's two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
JOBS ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure --timeout 600 -j $(JOBS)
CMAKE_FLAGS ?=

.PHONY: all deps deps-build deps-run build build-asan test test-release test-asan test-tsan run install deb bench bench-micro conformance format tidy clean

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

deps-run:
	@deploy/deps.sh run

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSGATE_WERROR=ON $(CMAKE_FLAGS)

$(ASAN_DIR)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DWSGATE_WERROR=ON \
	  -DWSGATE_SANITIZE=ON -DWSGATE_BENCH=OFF $(CMAKE_FLAGS)

$(TSAN_DIR)/CMakeCache.txt:
	CC=clang CXX=clang++ cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DWSGATE_WERROR=ON -DWSGATE_BENCH=OFF -DCMAKE_C_FLAGS=-fsanitize=thread \
	  -DCMAKE_CXX_FLAGS=-fsanitize=thread -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread $(CMAKE_FLAGS)

# A build directory first configured by `make run` has the tests off: turn them on.
build: deps-build $(BUILD_DIR)/CMakeCache.txt
	@if grep -q '^WSGATE_TESTS:BOOL=OFF' $(BUILD_DIR)/CMakeCache.txt; then \
	  cmake -S . -B $(BUILD_DIR) -DWSGATE_TESTS=ON -DWSGATE_BENCH=ON; fi
	cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: deps-build $(ASAN_DIR)/CMakeCache.txt
	cmake --build $(ASAN_DIR) -j $(JOBS)

# The whole suite twice: an optimised gcc build, then a clang build with ASan + UBSan
# (which also runs the libFuzzer targets briefly); then the multi-worker integration tests
# against a ThreadSanitizer build (a data race aborts wsgate, which fails the test).
test: deps
	$(MAKE) test-release
	$(MAKE) test-asan
	$(MAKE) test-tsan

test-release: build
	ctest --test-dir $(BUILD_DIR) $(CTEST_FLAGS)

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_DIR) $(CTEST_FLAGS)

test-tsan: deps-build $(TSAN_DIR)/CMakeCache.txt
	cmake --build $(TSAN_DIR) -j $(JOBS) --target wsgate wsgate-echo
	cd tests/integration && TSAN_OPTIONS=halt_on_error=1 \
	  WSGATE_BIN=$(CURDIR)/$(TSAN_DIR)/wsgate WSGATE_ECHO_BIN=$(CURDIR)/$(TSAN_DIR)/tests/echo/wsgate-echo \
	  node --test --test-concurrency=1 relay.test.mjs metrics.test.mjs status_page.test.mjs \
	  balancing_workers.test.mjs health.test.mjs

# Only what running needs: the run packages, then the wsgate and wsgate-echo targets (a new
# build directory is configured without the tests, so GoogleTest and Benchmark are not needed,
# and without debug information, which is a quarter of the compile time).
CONFIGURE_LEAN = [ -f $(BUILD_DIR)/CMakeCache.txt ] || \
	  cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSGATE_WERROR=ON \
	    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
	    -DWSGATE_TESTS=OFF -DWSGATE_BENCH=OFF $(CMAKE_FLAGS)
run: deps-run
	@$(CONFIGURE_LEAN)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target wsgate wsgate-echo
	@deploy/run-demo.sh $(BUILD_DIR)

# make install [PREFIX=/usr/local] [DESTDIR=DIR]: PREFIX/sbin/wsgate, the man pages and docs
# under PREFIX/share; /etc/wsgate/wsgate.toml, /etc/logrotate.d/wsgate and
# /lib/systemd/system/wsgate.service (under DESTDIR when given).
PREFIX ?= /usr/local
install: deps-run
	@$(CONFIGURE_LEAN)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target wsgate wsgate_docs
	DESTDIR=$(if $(DESTDIR),$(abspath $(DESTDIR))) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# The Debian package, $(DEB_DIR)/wsgate_VERSION_ARCH.deb: a build with the prefix /usr, stripped, its
# dependencies from dpkg-shlibdeps. Check it with lintian.
DEB_DIR ?= build-deb
deb: deps-run
	@[ -f $(DEB_DIR)/CMakeCache.txt ] || \
	  cmake -S . -B $(DEB_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSGATE_WERROR=ON \
	    -DWSGATE_TESTS=OFF -DWSGATE_BENCH=OFF -DCMAKE_INSTALL_PREFIX=/usr $(CMAKE_FLAGS)
	cmake --build $(DEB_DIR) -j $(JOBS)
	cd $(DEB_DIR) && cpack -G DEB

# The comparison with nginx and HAProxy (tests/bench/README.md); needs root for apt the first time.
bench: deps-build
	tests/bench/run.sh

# The Autobahn|Testsuite (groups 1-7, 9, 10) against the optimised build in front of the
# reference echo; fails on any FAILED case. AUTOBAHN_DIR holds the suite (run.sh, echo.mjs).
AUTOBAHN_DIR ?= $(CURDIR)/../shared/autobahn
conformance: build
	WSGATE_BIN=$(CURDIR)/$(BUILD_DIR)/wsgate CONFORMANCE_DIR=$(CURDIR)/$(BUILD_DIR)/conformance \
	  tests/conformance/run.sh $(AUTOBAHN_DIR)

# Micro-benchmarks of the frame path (parse, unmask, UTF-8).
bench-micro: build
	$(BUILD_DIR)/tests/bench/wsgate_microbench

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

tidy: $(BUILD_DIR)/CMakeCache.txt
	clang-tidy -p $(BUILD_DIR) $$(git ls-files 'common/*.cpp' 'proxy/*.cpp')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(DEB_DIR)
