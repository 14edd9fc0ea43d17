#!/usr/bin/env bash
# The main job, end to end: builds rnn.cpp, fetches the King James Bible into cache/,
# trains a character-level LSTM on it and prints a sample. Extra arguments go to
# `rnn demo charlm` (e.g. --steps 2000 --hidden 512).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
tools/fetch_text.sh kjv cache
build/rnn demo charlm --text cache/kjv.txt "$@"
