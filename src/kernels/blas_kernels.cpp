#include "rnn/kernels/blas_kernels.h"

#include <cstdlib>
#include <strings.h>

#ifndef RNN_USE_BLIS
// OpenBLAS (DYNAMIC_ARCH builds): its chosen core, and the pair of calls that forget and redo
// the choice (which reads OPENBLAS_CORETYPE first). Weak, so that a single-target OpenBLAS
// without them links and is left as it is.
extern "C" char* openblas_get_corename(void) __attribute__((weak));
extern "C" void gotoblas_dynamic_init(void) __attribute__((weak));
extern "C" void gotoblas_dynamic_quit(void) __attribute__((weak));
#endif

namespace rnn::kernels {

namespace {

#ifndef RNN_USE_BLIS
// OpenBLAS's cores whose single-precision kernels use AVX2 and FMA or wider.
bool core_uses_avx2(const char* name) {
  for (const char* c : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"}) {
    if (strcasecmp(name, c) == 0) return true;
  }
  return false;
}

// The core whose kernels fit this CPU's instructions, or null where no AVX2 one does.
const char* core_for_cpu() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return nullptr;
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return avx512 ? "SkylakeX" : "Haswell";
}
#endif

}  // namespace

std::string blas_core_name() {
#ifdef RNN_USE_BLIS
  return "BLIS";
#else
  const char* name = openblas_get_corename ? openblas_get_corename() : nullptr;
  return name ? name : "unknown";
#endif
}

bool match_blas_kernels_to_cpu() {
#ifdef RNN_USE_BLIS
  return false;
#else
  if (!openblas_get_corename || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return false;
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return false;  // the user's choice stands
  const char* current = openblas_get_corename();
  const char* wanted = core_for_cpu();
  if (current == nullptr || wanted == nullptr || core_uses_avx2(current)) return false;
  // OpenBLAS reads the core type from the environment only while choosing; the variable is
  // removed again so that the process's environment is as it was.
  setenv("OPENBLAS_CORETYPE", wanted, 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
  return true;
#endif
}

}  // namespace rnn::kernels
