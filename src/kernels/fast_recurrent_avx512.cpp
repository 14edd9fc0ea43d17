// AVX-512 bodies of the fast kernels' matrix products (see fast_tiles_avx512.h). Compiled for
// AVX-512F after the target pragma only; callers check fast::avx512_enabled() first.
#include <cstdint>

#include <immintrin.h>

#include "fast_tiles_avx512.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

namespace rnn::kernels::fast::avx512 {

namespace {

// R rows x 16 columns. On Zen 4 a zmm FMA takes both 256-bit pipes, so the peak is the same
// as AVX2's, but a k step is 1 load + R FMAs (with the broadcast folded in) instead of
// 2 loads + R broadcasts + 2R FMAs: fewer instructions per FMA, which is what the AVX2 tile
// was short of.
template <int R>
inline void tile(const float* a, int64_t lda, const float* panel, int64_t K, float* c,
                 int64_t ldc) {
  __m512 acc[R];
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  #pragma GCC unroll 2
  for (int64_t k = 0; k < K; ++k) {
    const __m512 w = _mm512_load_ps(panel + k * 16);
    #pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + k]), w, acc[r]);
  }
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(c + r * ldc, acc[r]);
}

}  // namespace

void panel16(const float* a, int64_t lda, const float* panel, int64_t K, float* c, int64_t ldc,
             int64_t m) {
  int64_t b = 0;
  for (; b + 8 <= m; b += 8) tile<8>(a + b * lda, lda, panel, K, c + b * ldc, ldc);
  a += b * lda;
  c += b * ldc;
  switch (m - b) {
    case 7: tile<7>(a, lda, panel, K, c, ldc); break;
    case 6: tile<6>(a, lda, panel, K, c, ldc); break;
    case 5: tile<5>(a, lda, panel, K, c, ldc); break;
    case 4: tile<4>(a, lda, panel, K, c, ldc); break;
    case 3: tile<3>(a, lda, panel, K, c, ldc); break;
    case 2: tile<2>(a, lda, panel, K, c, ldc); break;
    case 1: tile<1>(a, lda, panel, K, c, ldc); break;
    default: break;
  }
}

}  // namespace rnn::kernels::fast::avx512

#pragma GCC pop_options
