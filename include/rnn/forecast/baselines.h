// Classical forecasts the networks are compared with. Each returns forecasts in the
// series' own units for origin o (rows [0, o) observed) and steps h = 1..K.
//
// Letters: N rows, F features, Nt targets, L lookback, K horizon.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/tensor.h"

namespace rnn::forecast {

// Naive: every step repeats the last observed value, f[h] = y[o-1].  -> [K, Nt]
Tensor<double> naive_forecast(const Tensor<double>& values, int64_t n_targets, int64_t origin,
                              int64_t horizon);

// Seasonal naive: the last observed value of the same season,
//   f[h] = y[o + h - 1 - m * ceil(h / m)].                              -> [K, Nt]
Tensor<double> seasonal_naive_forecast(const Tensor<double>& values, int64_t n_targets,
                                       int64_t origin, int64_t horizon, int64_t season);

// Linear autoregression on the lookback window, fitted by least squares (direct: one
// linear map from the L*F window plus an intercept to all K*Nt outputs):
//   minimise sum_b |[x_b, 1] W - y_b|^2 + ridge * |W|^2   (normal equations, Cholesky)
// x_b: the window [L, F] flattened row by row (time-major), y_b: targets [K, Nt].
class LinearAR {
 public:
  // inputs [L, B, F], targets [K, B, Nt] (as gather_inputs / gather_targets produce).
  static LinearAR fit(const Tensor<float>& inputs, const Tensor<float>& targets,
                      double ridge = 1e-6);
  // inputs [L, B, F] -> [K, B, Nt]
  Tensor<float> predict(const Tensor<float>& inputs) const;

  int64_t lookback() const { return lookback_; }
  const std::vector<double>& weights() const { return w_; }  // [(L*F + 1), K*Nt]

 private:
  int64_t lookback_ = 0, features_ = 0, horizon_ = 0, n_targets_ = 0;
  std::vector<double> w_;
};

// Solves (A + ridge I) X = B for symmetric positive definite A [n,n], B [n,m] (Cholesky,
// in double). Throws when the matrix is not positive definite.
std::vector<double> solve_spd(std::vector<double> a, std::vector<double> b, int64_t n, int64_t m,
                              double ridge);

}  // namespace rnn::forecast
