// Matrix products, the narrow kernel layer the layers call for every GEMM.
//
// Row-major throughout: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, with
// op(X) = X or X^T and leading dimensions in elements. The BLAS path calls CBLAS; the
// reference path is three plain loops that tests compare the fast paths against.
#pragma once

#include <cstdint>

namespace rnn::kernels {

enum class Backend { Blas, Reference };

// Process-wide choice (default Blas). Tests switch to Reference to compare.
void set_backend(Backend backend);
Backend backend();

// Restores the previous backend when it goes out of scope.
class ScopedBackend {
 public:
  explicit ScopedBackend(Backend b) : saved_(backend()) { set_backend(b); }
  ~ScopedBackend() { set_backend(saved_); }
  ScopedBackend(const ScopedBackend&) = delete;
  ScopedBackend& operator=(const ScopedBackend&) = delete;

 private:
  Backend saved_;
};

// Threads used by the library: the OpenMP loops of the fast recurrent path and the BLAS.
// Results do not depend on it. n <= 0 restores the default (all cores).
void set_num_threads(int n);
int num_threads();

// The recurrent loops synchronise their threads once per time step, so they use one thread
// below this many multiply-adds per step (default 2^16; see docs/PERFORMANCE.md). Tests lower
// it to run the threaded loops on small shapes; n <= 0 restores the default.
void set_min_parallel_step_macs(int64_t n);
int64_t min_parallel_step_macs();

// How the recurrent loops share a step between their threads. Units: each thread computes
// its hidden units for every row, then all wait for each other (the next step reads every
// unit). Rows: each thread runs its own rows through all the steps with no waiting, reading
// all the weights. Auto (default) takes Rows where the weights fit in a core's L2 and the
// batch is large enough for the 16-column panel tiles (16 rows), else Units; forcing Rows
// below 16 rows keeps Units, whose few-row tiles sum a row differently by row count. Tests
// force each to compare it with one thread.
enum class StepSplit { Auto, Units, Rows };
void set_step_split(StepSplit split);
StepSplit step_split();

// Sets the BLAS's own thread count for a scope (used around loops that are threaded
// with OpenMP and call the BLAS from each thread), restoring it afterwards.
class ScopedBlasThreads {
 public:
  explicit ScopedBlasThreads(int n);
  ~ScopedBlasThreads();
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  int saved_;
};

enum class Trans { No, Yes };

template <class T>
void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

template <class T>
void gemm_reference(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                    const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

// C[M,N] (+)= A[M,K] * B[N,K]^T, the shape of every "x W^T" in the layers.
template <class T>
inline void matmul_nt(int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c, bool accumulate) {
  gemm<T>(Trans::No, Trans::Yes, m, n, k, T(1), a, k, b, k, accumulate ? T(1) : T(0), c, n);
}
// C[M,N] (+)= A[M,K] * B[K,N]
template <class T>
inline void matmul_nn(int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c, bool accumulate) {
  gemm<T>(Trans::No, Trans::No, m, n, k, T(1), a, k, b, n, accumulate ? T(1) : T(0), c, n);
}
// C[M,N] (+)= A[K,M]^T * B[K,N]   (weight gradients: dW += dG^T X)
template <class T>
inline void matmul_tn(int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c, bool accumulate) {
  gemm<T>(Trans::Yes, Trans::No, m, n, k, T(1), a, m, b, n, accumulate ? T(1) : T(0), c, n);
}

}  // namespace rnn::kernels
