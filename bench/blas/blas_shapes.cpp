// sgemm / sgemv GFLOP/s of one CBLAS on the shapes of the recurrent layers, to choose between
// OpenBLAS and BLIS (RNN_BLAS). Built by hand against each library (not part of rnn_bench,
// which links the configured one):
//   g++ -O2 -std=c++20 bench/blas/blas_shapes.cpp -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -o /tmp/blas_openblas
//   g++ -O2 -std=c++20 bench/blas/blas_shapes.cpp -I/usr/include/x86_64-linux-gnu/blis-openmp -lblis -fopenmp -o /tmp/blas_blis
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 BLIS_NUM_THREADS=1 taskset -c 0 /tmp/blas_openblas
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

static double seconds_per_call(auto&& f) {
  f();
  std::vector<double> runs;
  for (int r = 0; r < 5; ++r) {
    int n = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double el = 0;
    do {
      f();
      ++n;
      el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } while (el < 0.05);
    runs.push_back(el / n);
  }
  std::sort(runs.begin(), runs.end());
  return runs[2];
}

int main() {
  std::printf("%-7s %6s %6s %6s %9s\n", "op", "M", "N", "K", "GFLOP/s");
  for (int h : {128, 256, 512, 1024}) {
    const int n = 4 * h, k = h;
    std::vector<float> w(static_cast<size_t>(n) * k, 0.01f), x(static_cast<size_t>(6400) * k, 0.02f),
        y(static_cast<size_t>(6400) * n);
    for (int m : {16, 64, 6400}) {  // per-step product (B=16, 64) and the all-steps projection
      const double s = seconds_per_call([&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x.data(), k, w.data(), k, 0.0f,
                    y.data(), n);
      });
      std::printf("%-7s %6d %6d %6d %9.1f\n", "sgemm", m, n, k, 2.0 * m * n * k / s * 1e-9);
    }
    const double s = seconds_per_call([&] {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w.data(), k, x.data(), 1, 0.0f, y.data(), 1);
    });
    std::printf("%-7s %6d %6d %6d %9.1f\n", "sgemv", 1, n, k, 2.0 * n * k / s * 1e-9);
    const double s1 = seconds_per_call([&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, n, k, 1.0f, x.data(), k, w.data(), k, 0.0f,
                  y.data(), n);
    });
    std::printf("%-7s %6d %6d %6d %9.1f\n", "sgemm", 1, n, k, 2.0 * n * k / s1 * 1e-9);
  }
  return 0;
}
