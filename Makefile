# SPDX-License-Identifier: MIT
# Front door. `make run` and `make test` install what is missing, build, then
# start clover or run every test. The real build is CMake (CMakeLists.txt).

BUILD ?= build
ASAN_BUILD ?= build-asan
DATA ?= $(HOME)/.local/share/clover
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps build build-asan run test test-fast test-asan fuzz bench clean format

all: build

deps:
	@./scripts/install-deps
	@./scripts/install-browser-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCLOVER_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	./$(BUILD)/clover server --data $(DATA)

# Every test: the normal build, again under ASan+UBSan (without the slow
# tests; the browser test runs there too, its server under the sanitizers),
# then a short run of every fuzz target (clang, libFuzzer).
test: build build-asan fuzz
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE slow $(CTEST_ARGS)
	cd build-fuzz && ctest --output-on-failure -j $(JOBS) -L fuzz

# Quick loop for developers: unit tests of the normal build only.
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCLOVER_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

bench: build

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
