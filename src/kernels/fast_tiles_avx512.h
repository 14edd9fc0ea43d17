// AVX-512 register tiles shared by the fast kernels (internal to src/kernels).
#pragma once

#include <cstdint>

namespace rnn::kernels::fast::avx512 {

// c[r*ldc + 0..15] = sum_k a[r*lda + k] * panel[k*16 + 0..15] for rows r in [0, m): the same
// products, summed in the same k order with one FMA each, as the AVX2 6 x 16 tile, on 8 x 16
// zmm tiles (8 accumulators, one panel load and eight broadcast FMAs per k). Needs AVX-512F.
void panel16(const float* a, int64_t lda, const float* panel, int64_t K, float* c, int64_t ldc,
             int64_t m);

}  // namespace rnn::kernels::fast::avx512
