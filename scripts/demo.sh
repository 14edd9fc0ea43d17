#!/usr/bin/env bash
# The main job, end to end, in under 10 minutes on 2 cores: builds the `rnn` program,
# fetches the King James Bible into cache/, trains a 2-layer character-level LSTM on it
# for a fixed wall-clock budget (runs/demo-<time>: checkpoints, metrics.jsonl, curves.svg),
# prints the validation and test bits per character and a sample.
#
#   scripts/demo.sh                   # defaults below
#   DEMO_SECONDS=120 scripts/demo.sh  # a shorter training
#   scripts/demo.sh --hidden 512      # extra arguments go to `rnn lm train`
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${DEMO_SECONDS:-330}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target rnn_cli --parallel "$(nproc)"
tools/fetch_text.sh kjv cache
# A new run folder each time, so an earlier demo's checkpoints are never overwritten.
run_dir="runs/demo-$(date +%Y%m%d-%H%M%S)"
build/rnn lm train --text cache/kjv.txt --run-dir "$run_dir" \
  --cell lstm --layers 2 --hidden 256 --embed 64 --batch 32 --seq-len 128 \
  --lr 3e-3 --clip 5 --steps 100000 --time "$seconds" --eval-every 250 --val-tokens 40000 \
  "$@"
echo
echo "--- sample (rnn lm sample --model $run_dir/model.safetensors --prime 'And God said'):"
build/rnn lm sample --model "$run_dir/model.safetensors" --prime "And God said" --length 400 \
  --temperature 0.7 --seed 1
