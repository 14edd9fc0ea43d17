#pragma once

#include <string>

namespace rnn::kernels {

// The kernel set the BLAS runs on this CPU: OpenBLAS's core name ("Haswell", "SkylakeX", ...),
// or "BLIS" in a build against BLIS.
std::string blas_core_name();

// OpenBLAS builds with run-time dispatch choose their kernels by CPU model number, and a
// release older than the CPU falls back to its SSE3 kernels ("Prescott"; Debian 12's 0.3.21 on
// Emerald Rapids-class Xeons, family 6 model 207), which run sgemm 4-5x slower than the
// kernels for the instructions the CPU has. Where that happened and OPENBLAS_CORETYPE is not
// set, this re-runs OpenBLAS's kernel choice for the CPU's instructions: "SkylakeX" with
// AVX-512 (F, BW, DQ, VL), "Haswell" with AVX2 and FMA. Returns whether it changed the
// choice. The library does this once as it starts, before any product; it is idempotent.
bool match_blas_kernels_to_cpu();

}  // namespace rnn::kernels
