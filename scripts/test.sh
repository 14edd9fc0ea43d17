#!/usr/bin/env bash
# Builds rnn.cpp and runs the whole test suite with ctest; exits non-zero on any failure.
# One kind of evidence alone: scripts/test.sh -L gradcheck (labels: unit, gradcheck,
# parity, contract, learning, robustness, install).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
# ctest runs two test programs at once on 2 cores: one thread each keeps them from
# oversubscribing (tests that need threads set their own count through the library).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
ctest --output-on-failure --parallel "$(nproc)" --timeout 900 "$@"
