#!/usr/bin/env bash
# Installs every Debian 12 package that rnn.cpp's build and tests need (apt-get update first).
#
#   scripts/setup.sh            build + tests
#   scripts/setup.sh --torch    also Debian's python3-torch and NumPy, for regenerating the
#                               PyTorch fixtures and for the side-by-side benchmarks
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ca-certificates
  libopenblas-dev libblis-dev          # BLAS through CBLAS (RNN_BLAS chooses)
  libcli11-dev nlohmann-json3-dev      # command line, JSON
  libfftw3-dev                         # FFT for speech features (fftw3f)
  espeak-ng flite python3-numpy        # tools/make_digits_corpus.sh (speech data)
  libgtest-dev libgmock-dev libbenchmark-dev
  python3                              # tools/safetensors_io.py (tests call no Python)
  clang libclang-rt-14-dev libomp-dev  # scripts/fuzz.sh: libFuzzer, sanitizers, OpenMP for clang
)
if [[ "${1:-}" == "--torch" ]]; then
  packages+=(python3-torch python3-numpy)
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "setup.sh: installed ${#packages[@]} packages" >&2
