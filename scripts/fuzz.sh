#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/targets, clang with ASan + UBSan) in build-fuzz and runs
# each for a bounded time; exits non-zero on any finding (crash, uncaught exception, leak,
# undefined behaviour, timeout, allocation over the limit) and prints where the input is.
#
#   scripts/fuzz.sh                 every target, FUZZ_SECONDS (default 30) each
#   scripts/fuzz.sh csv wav         some targets
#   FUZZ_SECONDS=120 scripts/fuzz.sh safetensors
#
# New interesting inputs go to build-fuzz/corpus/<target> (kept between runs, not committed);
# the committed seeds in fuzz/corpus/<target> are read only. A finding is written to
# build-fuzz/findings/<target>/; once fixed, commit it under fuzz/regressions/<target>/ so
# that the replay test (tests/robustness/fuzz_replay_test.cpp) keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 UBSAN_OPTIONS="print_stacktrace=1"

if [[ ! -f "$build/build.ninja" ]]; then
  CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRNN_FUZZ=ON \
    -DRNN_BUILD_TESTS=OFF -DRNN_BUILD_BENCHMARKS=OFF >/dev/null
fi

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for source in fuzz/targets/*_target.cpp; do
    name="$(basename "$source" _target.cpp)"
    targets+=("$name")
  done
fi
cmake --build "$build" --target "${targets[@]/#/fuzz_}"

# Longest input per target: enough for the seeds to grow a little, small enough to stay fast.
max_len() {
  case "$1" in
    checkpoint | model_file) echo 16384 ;;
    safetensors | wav) echo 8192 ;;
    cli) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

stat_of() {  # stat_of LOG NAME -> libFuzzer's final "stat::NAME: value"
  sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

failed=0
rows=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  log="$build/logs/$t.log"
  rm -rf "$findings"  # findings of an earlier run were fixed or are in fuzz/regressions
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  echo "fuzz.sh: $t for ${seconds}s" >&2
  status=0
  "$build/fuzz/fuzz_$t" "$corpus" "fuzz/corpus/$t" -max_total_time="$seconds" \
    -max_len="$(max_len "$t")" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$findings/" >"$log" 2>&1 || status=$?
  execs="$(stat_of "$log" number_of_executed_units)"
  speed="$(stat_of "$log" average_exec_per_sec)"
  rss="$(stat_of "$log" peak_rss_mb)"
  found="$(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
             -o -name 'oom-*' \) | sort)"
  result=ok
  if [[ $status -ne 0 || -n "$found" ]]; then
    result="FINDING (exit $status)"
    failed=1
    echo "fuzz.sh: $t found a problem; log: $log" >&2
    grep -m 5 -E 'ERROR|runtime error|terminate called|==[0-9]+==' "$log" >&2 || tail -n 20 "$log" >&2
    for f in $found; do echo "fuzz.sh: input: $f" >&2; done
  fi
  rows+=("$(printf '%-14s %8s %12s %10s %8s  %s' "$t" "$seconds" "${execs:-?}" "${speed:-?}" \
            "${rss:-?}" "$result")")
done

printf '%-14s %8s %12s %10s %8s  %s\n' target seconds executions exec/s rss_mb result
printf '%s\n' "${rows[@]}"
exit $failed
