// Spectral diagnostics of recurrent weight matrices: spectral radius (largest eigenvalue
// modulus) and largest singular value by power iteration, per gate block of weight_hh.
//
// Why both: the spectral radius rho(W) decides whether W^k v grows or shrinks in the long
// run (rho > 1 explodes, rho < 1 vanishes for a linear recurrence); the largest singular
// value sigma_max(W) >= rho(W) bounds the growth of a single step.
//
// Letters: N the side of a square matrix, R rows, C columns, G gate blocks, H hidden size.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rnn/core/parameters.h"

namespace rnn::diagnostics {

struct PowerIterationOptions {
  int64_t iterations = 300;  // matrix-vector products in all (burn-in included)
  int64_t burn_in = 50;      // products before the growth starts to be measured
  uint64_t seed = 0x5eed;    // start vector (a private generator: no training rng is touched)
};

// Spectral radius of the square matrix a [N,N] (row-major).
// Plain power iteration oscillates when the dominant eigenvalues are a complex pair (or
// +-rho), so the estimate is the mean growth rate instead:
//   v_0 random unit, w_k = A v_{k-1}, v_k = w_k / ||w_k||,
//   log rho ~ (1/K) sum_{k = burn_in+1}^{iterations} log ||w_k||,
// i.e. rho ~ (||A^{k1} v|| / ||A^{k0} v||)^(1/K) computed with renormalisation, so it
// neither overflows nor underflows. Exact (to rounding) once the start vector has
// converged into the dominant invariant subspace of a normal matrix; for non-normal
// matrices the error shrinks like 1/K. Returns 0 for a nilpotent matrix.
template <class T>
double spectral_radius(std::span<const T> a, int64_t n, const PowerIterationOptions& options = {});

// Largest singular value of a [R,C] (row-major) by power iteration on A^T A:
//   v <- A^T A v / ||A^T A v||;  sigma = ||A v|| at the end.
template <class T>
double largest_singular_value(std::span<const T> a, int64_t rows, int64_t cols,
                              const PowerIterationOptions& options = {});

// One recurrent weight matrix, e.g. "encoder.weight_hh_l0" [G*H, H]: each gate block
// [H, H] (rows g*H .. (g+1)*H) and the maximum over the blocks. G = R / C when C divides R
// (RNN 1, GRU 3, LSTM 4); otherwise (LSTM with projection) the whole matrix is one block and
// only the singular value is defined (radius NaN).
struct RecurrentMatrixStats {
  std::string name;
  int64_t blocks = 1;
  std::vector<double> block_radius;  // [G]
  std::vector<double> block_sigma;   // [G]
  double radius = 0.0;               // max over blocks
  double sigma = 0.0;                // max over blocks
  nlohmann::json to_json() const;
};

template <class T>
RecurrentMatrixStats recurrent_matrix_stats(const std::string& name, std::span<const T> w,
                                            int64_t rows, int64_t cols,
                                            const PowerIterationOptions& options = {});

// Every parameter of `store` whose name contains "weight_hh" (rank 2), in store order.
template <class T>
std::vector<RecurrentMatrixStats> recurrent_stats(const Parameters<T>& store,
                                                  const PowerIterationOptions& options = {});

// Multiplies each gate block [C, C] of w [G*C, C] by radius / rho(block), so that every
// block gets spectral radius `radius` (> 0). Throws if C does not divide the rows or a
// block has radius 0 (nothing to scale).
template <class T>
void scale_to_spectral_radius(std::span<T> w, int64_t rows, int64_t cols, double radius,
                              const PowerIterationOptions& options = {});

}  // namespace rnn::diagnostics
