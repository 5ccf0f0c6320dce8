#!/usr/bin/env bash
# Runs every test: installs what is missing, builds the test suite normally
# and with AddressSanitizer + UndefinedBehaviorSanitizer, runs both (the
# integration tests start their own redis-server on free loopback ports), and
# checks formatting. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
status=0

echo "== formatting (clang-format, Google style)"
mapfile -t sources < <(git ls-files '*.cc' '*.h')
if ! clang-format --dry-run -Werror "${sources[@]}"; then
  echo "some files are not clang-formatted: run clang-format -i on them"
  status=1
fi

# scripts/run.sh builds without tests: that configuration must stay valid.
echo "== configure without tests (as scripts/run.sh does)"
cmake -S . -B build/no-tests -DOMNIHUB_BUILD_TESTS=OFF >/dev/null || status=1

run_suite() {
  local name=$1 dir=$2
  shift 2
  echo "== $name build"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== $name tests"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 300
}

run_suite "normal" build/test || status=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite "sanitizer (ASan+UBSan)" build/asan -DOMNIHUB_SANITIZE=ON ||
  status=1

exit $status
