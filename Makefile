# onecert — the README's two commands, and a few more.
#   make run    install what is missing, build, create the demo world, start
#   make test   the whole suite: a normal build and an ASan+UBSan build, and
#               the unit and end-to-end tests again under ThreadSanitizer
#   make bench  benchmarks against named peers (not part of make test)
#   make fuzz   each libFuzzer target for FUZZ_SECONDS (not part of make
#               test, which replays the committed corpora); clang, in
#               build-fuzz/ — see tests/fuzz/README.md

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all bootstrap build build-asan build-tsan test test-fast run bench fuzz demo-reset clean

all: build

bootstrap:
	@./scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: bootstrap
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Sanitize >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

build-tsan: bootstrap
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Tsan >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS)

# The whole suite: every test in the normal build, then every test again
# under ASan+UBSan, then the unit and end-to-end tests under
# ThreadSanitizer (scripts/run-tests).  The closing line is what CI reads.
test: build build-asan build-tsan
	@./scripts/run-tests $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)

# One build only, for quick iteration.
test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

run: build
	@./scripts/demo run $(BUILD)

fuzz:
	@./scripts/bootstrap fuzz
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
		-DONECERT_LIBFUZZER=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) \
		--target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@./scripts/run-fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo-reset:
	@./scripts/demo reset

bench: build
	@./bench/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
