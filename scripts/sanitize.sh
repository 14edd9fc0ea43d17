#!/usr/bin/env bash
# Builds the whole test suite with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, -O1 -g)
# in build-asan and runs it with ctest, then runs the `rnn` program on a short real training
# (rnn lm train, then lm eval and lm sample on what it wrote) with LeakSanitizer on and checks
# that it is clean. Exits non-zero on any failure or sanitizer report.
#
#   scripts/sanitize.sh               everything
#   scripts/sanitize.sh -L unit       extra arguments go to ctest
#   ASAN_BUILD_TARGETS="rnn_test_robustness rnn_cli" scripts/sanitize.sh -L robustness
#
# Skipped: the install_consumer test (it installs the library and builds an outside project
# that does not link the sanitizer runtimes, so it cannot link against this build).
set -euo pipefail
cd "$(dirname "$0")/.."

build="${ASAN_BUILD_DIR:-build-asan}"
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="report_objects=1"

start=$SECONDS
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
  -DRNN_BUILD_BENCHMARKS=OFF >/dev/null
# ASAN_BUILD_TARGETS (e.g. "rnn_test_robustness rnn_cli", with -L robustness) builds less.
read -r -a build_targets <<<"${ASAN_BUILD_TARGETS:-all}"
cmake --build "$build" --target "${build_targets[@]}"
built=$SECONDS
echo "sanitize.sh: built in $((built - start)) s" >&2

(cd "$build" && ctest --output-on-failure --parallel "$(nproc)" --timeout 1800 -E '^install_consumer$' "$@")
tested=$SECONDS
echo "sanitize.sh: test suite clean under ASan+UBSan in $((tested - built)) s" >&2

# A short real training through the program, with LeakSanitizer watching every step.
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT
log="$run/stderr.log"
cli() {
  if ! "$build/rnn" "$@" >"$run/stdout" 2>>"$log"; then
    echo "sanitize.sh: 'rnn $*' failed under the sanitizers:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}
cli lm train --text data/sample/kjv_genesis.txt --hidden 32 --layers 1 --embed 16 --batch 4 \
  --seq-len 32 --steps 40 --eval-every 20 --checkpoint-every 20 --val-tokens 2000 \
  --sample-len 20 --progress off --run-dir "$run/lm" --json
cli lm train --text data/sample/kjv_genesis.txt --hidden 32 --layers 1 --embed 16 --batch 4 \
  --seq-len 32 --steps 50 --eval-every 20 --checkpoint-every 20 --val-tokens 2000 \
  --progress off --run-dir "$run/lm" --resume --skip-test --json
cli lm eval --model "$run/lm/last.ckpt" --text data/sample/kjv_genesis.txt --max-tokens 2000 --json
cli lm sample --model "$run/lm/last.ckpt" --length 50 --seed 3
if grep -qE 'LeakSanitizer|AddressSanitizer|runtime error' "$log"; then
  echo "sanitize.sh: sanitizer report from the rnn program:" >&2
  grep -m 20 -E 'LeakSanitizer|AddressSanitizer|runtime error|#[0-9]' "$log" >&2
  exit 1
fi
echo "sanitize.sh: rnn lm train/resume/eval/sample clean under LeakSanitizer in" \
  "$((SECONDS - tested)) s (total $((SECONDS - start)) s)" >&2
