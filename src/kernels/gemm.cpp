#include "rnn/kernels/gemm.h"

#include <algorithm>
#include <atomic>

#include <cblas.h>
#include <omp.h>

#include <thread>

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

template <>
void gemm<float>(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (backend() == Backend::Reference || k == 0) {
    gemm_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
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
  cblas_dgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

template void gemm_reference<float>(Trans, Trans, int64_t, int64_t, int64_t, float, const float*,
                                    int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_reference<double>(Trans, Trans, int64_t, int64_t, int64_t, double,
                                     const double*, int64_t, const double*, int64_t, double,
                                     double*, int64_t);

}  // namespace rnn::kernels
