# The entry points. Each installs what it needs (scripts/deps.sh), configures and
# builds before it runs anything, so each works on a fresh Debian 12 machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all build run test test-asan test-tsan test-all bench bench-http bench-aio fuzz format tidy clean

all: build

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: $(BUILD)/build.ninja
	@scripts/deps.sh build
	cmake --build $(BUILD) -j $(JOBS)

# Builds and starts the server in the foreground (Ctrl-C stops it).
run:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory build
	scripts/run.sh $(BUILD)

# Builds and runs every unit and integration test.
test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build BUILD=$(ASAN_BUILD) CMAKE_ARGS="-DEVS_SANITIZE=address"
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) --timeout 600

# The multi-threaded tests (thread pools, notify, sendfile in the pool, and the server
# running its pools) under ThreadSanitizer. Only their source files are built.
TSAN_SOURCES := (thread|notify|uring_fallback|http_aio)[a-z_]*_test[.]cpp
TSAN_TESTS   := ThreadPool|Notify|ThreadSendfile
# Its check that some queued task met the reset needs the timing TSan's 5-15x slowdown
# takes away (and it takes 140 s there); it runs in the plain and ASan trees.
TSAN_SKIP    := ClientsThatResetMidTransfer
test-tsan:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build BUILD=$(TSAN_BUILD) \
	    CMAKE_ARGS="-DEVS_SANITIZE=thread '-DEVS_TEST_ONLY=$(TSAN_SOURCES)'"
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) --timeout 600 -R '$(TSAN_TESTS)' -E '$(TSAN_SKIP)'

test-all: test test-asan test-tsan

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build BUILD=build-bench CMAKE_ARGS="-DEVS_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release"
	bench/run.sh build-bench

# evserve against nginx, lighttpd and h2o over HTTP (bench/http, docs/BENCHMARKS.md).
bench-http:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build BUILD=build-bench CMAKE_ARGS="-DEVS_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release"
	bench/http/run.sh build-bench

# evserve against nginx reading large files cold, per aio mode (bench/aio, docs/BENCHMARKS.md).
bench-aio:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build BUILD=build-bench CMAKE_ARGS="-DEVS_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release"
	bench/aio/run.sh build-bench

fuzz:
	@scripts/deps.sh fuzz
	tests/fuzz/run.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-bench build-fuzz
