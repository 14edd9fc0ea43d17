#!/usr/bin/env bash
# Builds rnn.cpp and runs the whole test suite with ctest; exits non-zero on any failure.
# One kind of evidence alone: scripts/test.sh -L gradcheck (labels: unit, gradcheck,
# parity, contract, learning, robustness, install).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 900 "$@"
