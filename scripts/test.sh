#!/usr/bin/env bash
# Runs every test: installs what is missing, checks formatting, builds the
# programs normally for the deployment check and a 60-second chaos soak,
# builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer
# and runs it (the integration tests start their own redis-server, or Redis
# Cluster, on free loopback ports), runs the tests that run threads against
# each other under ThreadSanitizer, and every fuzz target for 30 seconds.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
status=0
# Each stage's heading says how long the run has taken so far, so a slow CI
# run shows which stage to trim.
stage() { echo "== $* [$((SECONDS / 60))m$((SECONDS % 60))s in]"; }
# Line tables only (-g1): file and line in every stack trace, at a fraction
# of the compile time of full debug information (the test command builds
# the code four times).
test_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")

stage "formatting (clang-format, Google style)"
mapfile -t sources < <(git ls-files '*.cc' '*.h')
if ! clang-format --dry-run -Werror "${sources[@]}"; then
  echo "some files are not clang-formatted: run clang-format -i on them"
  status=1
fi

# scripts/run.sh builds without tests: that configuration must stay valid.
stage "configure without tests (as scripts/run.sh does)"
cmake -S . -B build/no-tests -DOMNIHUB_BUILD_TESTS=OFF >/dev/null || status=1

run_suite() {
  local name=$1 dir=$2
  shift 2
  stage "$name build"
  cmake -S . -B "$dir" "${test_flags[@]}" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  stage "$name tests"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 300
}

# The suite runs once, in the ASan + UBSan build below (optimised as a
# normal build is, so it fails wherever a normal build's run would, and on
# memory errors and undefined behaviour besides): two full builds of every
# test would not leave the run well under an hour on two cores. The normal
# build makes only the programs, for the chaos soak and the image check.
stage "normal build (the programs)"
cmake -S . -B build/test "${test_flags[@]}" >/dev/null &&
  cmake --build build/test -j"$jobs" --target omnihub-timeline omnihub-cli \
    omnihub-phone-adapter omnihub-web-adapter omnihub-visit-adapter \
    omnihub-chaos || status=1

stage "deployment (deploy/check.sh: alert rules and their tests, image \
packages against ldd, compose, Kubernetes manifests)"
deploy/check.sh build/test || status=1

stage "chaos soak (60 s: kill -9 and restart the hub, the adapters, Redis)"
scripts/chaos.sh 60 build/test || status=1

ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite "sanitizer (ASan+UBSan)" build/asan -DOMNIHUB_SANITIZE=ON ||
  status=1

# ThreadSanitizer is for what runs threads against each other: the tests
# labelled "unit-concurrency" (the spool's writer against its readers, the
# worker pool, the dead-letter file, the server security set-up, which starts
# gRPC's threads) and "integration-concurrency" (the Redis client's
# connections). The other unit tests run one thread, where TSan has nothing
# to find.
stage "ThreadSanitizer build (the concurrency tests)"
if cmake -S . -B build/tsan "${test_flags[@]}" -DOMNIHUB_TSAN=ON >/dev/null &&
    cmake --build build/tsan -j"$jobs" --target omnihub_tsan_tests; then
  stage "ThreadSanitizer tests"
  # Debian's gRPC and Abseil are not instrumented: ignore what they do
  # themselves (tests/tsan/suppressions.txt says why).
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 \
ignore_noninstrumented_modules=1 \
suppressions=$PWD/tests/tsan/suppressions.txt" \
    ctest --test-dir build/tsan --output-on-failure -j"$jobs" --timeout 300 \
    -L '^(unit|integration)-concurrency$' || status=1
else
  status=1
fi

stage "fuzzing (every parser of outside input, 30 s each)"
scripts/fuzz.sh 30 || status=1

stage "done, exit status $status"
exit $status
