// The BLAS runs kernels for the instructions this CPU has: an OpenBLAS release older than the
// CPU falls back to its SSE3 kernels (sgemm 4-5x slower), which the library corrects as it
// starts (rnn/kernels/blas_kernels.h) unless OPENBLAS_CORETYPE says otherwise.
#include "rnn/kernels/blas_kernels.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

namespace kernels = rnn::kernels;

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool openblas_in_charge() {
  const std::string core = kernels::blas_core_name();
  return core != "BLIS" && core != "unknown" && std::getenv("OPENBLAS_CORETYPE") == nullptr;
}

TEST(BlasKernels, UseTheCpusVectorInstructions) {
  if (!openblas_in_charge() || !cpu_has_avx2_fma()) GTEST_SKIP() << kernels::blas_core_name();
  const std::string core = kernels::blas_core_name();
  EXPECT_TRUE(core == "Haswell" || core == "Zen" || core == "SkylakeX" || core == "Cooperlake" ||
              core == "SapphireRapids")
      << "OpenBLAS runs its " << core << " kernels on a CPU with AVX2 and FMA";
}

TEST(BlasKernels, MatchingAgainChangesNothing) {
  const std::string before = kernels::blas_core_name();
  EXPECT_FALSE(kernels::match_blas_kernels_to_cpu());
  EXPECT_EQ(kernels::blas_core_name(), before);
}

}  // namespace
