#include "rnn/kernels/gemm.h"

#include <algorithm>
#include <atomic>

#include <cblas.h>
#include <omp.h>

#include <thread>
#include <type_traits>

#include "rnn/kernels/blas_kernels.h"

#ifndef RNN_USE_BLIS
extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);
#else
extern "C" void bli_thread_set_num_threads(long);
extern "C" long bli_thread_get_num_threads(void);
#endif

namespace rnn::kernels {

namespace {
std::atomic<Backend> g_backend{Backend::Blas};

// As the program starts, before any thread or product: OpenBLAS's kernels for the CPU's
// instructions where its own choice fell back to SSE3 ones (see blas_kernels.h).
const bool blas_kernels_matched = match_blas_kernels_to_cpu();

CBLAS_TRANSPOSE to_cblas(Trans t) { return t == Trans::Yes ? CblasTrans : CblasNoTrans; }
}  // namespace

void set_backend(Backend b) { g_backend.store(b); }

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  omp_set_num_threads(n);
#ifndef RNN_USE_BLIS
  openblas_set_num_threads(n);
#else
  bli_thread_set_num_threads(n);
#endif
}
int num_threads() { return omp_get_max_threads(); }

namespace {
constexpr int64_t kDefaultMinParallelStepMacs = int64_t{1} << 16;
std::atomic<int64_t> min_parallel_macs{kDefaultMinParallelStepMacs};
}  // namespace

void set_min_parallel_step_macs(int64_t n) {
  min_parallel_macs.store(n <= 0 ? kDefaultMinParallelStepMacs : n, std::memory_order_relaxed);
}
int64_t min_parallel_step_macs() { return min_parallel_macs.load(std::memory_order_relaxed); }

namespace {
std::atomic<StepSplit> g_step_split{StepSplit::Auto};
}  // namespace

void set_step_split(StepSplit split) { g_step_split.store(split, std::memory_order_relaxed); }
StepSplit step_split() { return g_step_split.load(std::memory_order_relaxed); }

#ifndef RNN_USE_BLIS
ScopedBlasThreads::ScopedBlasThreads(int n) : saved_(openblas_get_num_threads()) {
  if (n != saved_) openblas_set_num_threads(n);
}
ScopedBlasThreads::~ScopedBlasThreads() {
  if (openblas_get_num_threads() != saved_) openblas_set_num_threads(saved_);
}
#else
ScopedBlasThreads::ScopedBlasThreads(int n) : saved_(static_cast<int>(bli_thread_get_num_threads())) {
  if (n != saved_) bli_thread_set_num_threads(n);
}
ScopedBlasThreads::~ScopedBlasThreads() {
  if (static_cast<int>(bli_thread_get_num_threads()) != saved_) bli_thread_set_num_threads(saved_);
}
#endif
Backend backend() { return g_backend.load(); }

template <class T>
void gemm_reference(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T sum = T(0);
      for (int64_t p = 0; p < k; ++p) {
        const T av = trans_a == Trans::No ? a[i * lda + p] : a[p * lda + i];
        const T bv = trans_b == Trans::No ? b[p * ldb + j] : b[j * ldb + p];
        sum += av * bv;
      }
      T& out = c[i * ldc + j];
      out = (beta == T(0) ? T(0) : beta * out) + alpha * sum;
    }
  }
}

namespace {

// One BLAS call for rows [i0, i1) and columns [j0, j1) of the row-major C, issued in the
// column-major form (C^T = op(B)^T op(A)^T) that the BLAS uses internally: OpenBLAS's
// row-major-only "direct" small-matrix kernel, taken or not depending on its thread count,
// is never chosen, so every call sums in the BLAS's one single-threaded order.
template <class T>
void blas_block(Trans ta, Trans tb, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t k,
                T alpha, const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
                int64_t ldc) {
  const T* a_rows = ta == Trans::No ? a + i0 * lda : a + i0;
  const T* b_cols = tb == Trans::No ? b + j0 : b + j0 * ldb;
  const int mm = static_cast<int>(j1 - j0), nn = static_cast<int>(i1 - i0);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasColMajor, to_cblas(tb), to_cblas(ta), mm, nn, static_cast<int>(k), alpha,
                b_cols, static_cast<int>(ldb), a_rows, static_cast<int>(lda), beta,
                c + i0 * ldc + j0, static_cast<int>(ldc));
  } else {
    cblas_dgemm(CblasColMajor, to_cblas(tb), to_cblas(ta), mm, nn, static_cast<int>(k), alpha,
                b_cols, static_cast<int>(ldb), a_rows, static_cast<int>(lda), beta,
                c + i0 * ldc + j0, static_cast<int>(ldc));
  }
}

// Products from this many multiply-adds on are split over the library's threads.
constexpr int64_t kMinParallelGemmMacs = int64_t{1} << 22;

// The BLAS threads a product by its own rules, and OpenBLAS 0.3.21 then splits the reduction
// differently than with one thread (dx of a small batch differed in the last bits between 1
// and 2 threads). So the BLAS always runs single-threaded here, and a large product is cut
// into kGemmPieces slices of the larger output dimension (at multiples of 64) whatever the
// thread count, which the library's threads share out. A slice's sums depend on the slice's
// size too (on Zen 3, OpenBLAS's Haswell kernels summed the last 4 rows of a 256-row slice
// otherwise than inside a 512-row one), so the slices are the same at every thread count:
// each output element comes from the same call on the same slice, summed in the same order.
// With one thread the other operand is packed once a slice instead of once.
constexpr int64_t kGemmPieces = 4;

template <class T>
void blas_gemm(Trans ta, Trans tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
               int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const ScopedBlasThreads one(1);
  const int64_t along = std::max(m, n);
  const int64_t chunks = (along + 63) / 64;
  const int64_t pieces = m * n * k < kMinParallelGemmMacs ? 1 : std::min(kGemmPieces, chunks);
  auto piece = [&](int64_t p) {
    const int64_t begin = std::min(along, chunks * p / pieces * 64);
    const int64_t end = std::min(along, chunks * (p + 1) / pieces * 64);
    if (begin >= end) return;
    if (n >= m) {
      blas_block(ta, tb, 0, m, begin, end, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else {
      blas_block(ta, tb, begin, end, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
  };
  const int threads =
      omp_in_parallel() ? 1 : static_cast<int>(std::min<int64_t>(num_threads(), pieces));
  if (threads <= 1) {
    for (int64_t p = 0; p < pieces; ++p) piece(p);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < pieces; ++p) piece(p);
}

}  // namespace

template <>
void gemm<float>(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (backend() == Backend::Reference || k == 0) {
    gemm_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  blas_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <>
void gemm<double>(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                  const double* a, int64_t lda, const double* b, int64_t ldb, double beta,
                  double* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (backend() == Backend::Reference || k == 0) {
    gemm_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  blas_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template void gemm_reference<float>(Trans, Trans, int64_t, int64_t, int64_t, float, const float*,
                                    int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_reference<double>(Trans, Trans, int64_t, int64_t, int64_t, double,
                                     const double*, int64_t, const double*, int64_t, double,
                                     double*, int64_t);

}  // namespace rnn::kernels
