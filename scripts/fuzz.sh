#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, with ASan+UBSan) and runs each for a
# bounded time from its seed corpus in tests/fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh                 # every target, 30 s each (the test command)
#   scripts/fuzz.sh 3600            # a longer run: an hour each
#   scripts/fuzz.sh 600 visits_fuzzer
#
# New inputs the fuzzer finds go to build/fuzz/corpus/<target>/ (not into
# git); a crash leaves its input in build/fuzz/artifacts/ and fails the run.
# Reproduce one with: build/fuzz/tests/fuzz/<target> <input file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
dir=build/fuzz

CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG" \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG" \
  -DOMNIHUB_FUZZ=ON -DOMNIHUB_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target omnihub_fuzzers

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls tests/fuzz/corpus)
fi

mkdir -p "$dir/artifacts"
failed=()
run_one() {
  local target=$1
  local corpus="$dir/corpus/$target"
  mkdir -p "$corpus"
  # -timeout: one input slower than 10 s is a finding too (a hang).
  if "$dir/tests/fuzz/$target" "$corpus" "tests/fuzz/corpus/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/$target-" \
      >"$dir/$target.log" 2>&1; then
    echo "$target: $(grep -E '^stat::number_of_executed_units' "$dir/$target.log" |
      awk '{print $2}') inputs, no crash"
  else
    echo "$target: FAILED (log: $dir/$target.log)"
    tail -40 "$dir/$target.log"
    return 1
  fi
}

# The machine's cores each run one fuzzer at a time.
jobs=$(nproc)
pids=()
names=()
for target in "${targets[@]}"; do
  run_one "$target" &
  pids+=($!)
  names+=("$target")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed+=("${names[0]}")
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}"
  exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${seconds} s each, nothing found"
