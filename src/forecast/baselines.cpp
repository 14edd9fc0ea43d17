#include "rnn/forecast/baselines.h"

#include <cmath>

namespace rnn::forecast {

namespace {
void check_origin(const Tensor<double>& values, int64_t n_targets, int64_t origin,
                  int64_t horizon, const char* who) {
  check(values.rank() == 2 && n_targets >= 1 && n_targets <= values.dim(1), who,
        ": values must be [N, F] with F >= ", n_targets, ", got ", shape_str(values.shape()));
  check(origin >= 1 && origin <= values.dim(0), who, ": origin ", origin, " outside [1, ",
        values.dim(0), "]");
  check(horizon >= 1, who, ": horizon must be >= 1, got ", horizon);
}
}  // namespace

Tensor<double> naive_forecast(const Tensor<double>& values, int64_t n_targets, int64_t origin,
                              int64_t horizon) {
  check_origin(values, n_targets, origin, horizon, "naive");
  Tensor<double> out({horizon, n_targets});
  for (int64_t h = 0; h < horizon; ++h)
    for (int64_t f = 0; f < n_targets; ++f) out.at(h, f) = values.at(origin - 1, f);
  return out;
}

Tensor<double> seasonal_naive_forecast(const Tensor<double>& values, int64_t n_targets,
                                       int64_t origin, int64_t horizon, int64_t season) {
  check_origin(values, n_targets, origin, horizon, "seasonal naive");
  check(season >= 1, "seasonal naive: season must be >= 1, got ", season);
  check(origin >= season, "seasonal naive: origin ", origin, " has less than one season (",
        season, ") of history");
  Tensor<double> out({horizon, n_targets});
  for (int64_t h = 1; h <= horizon; ++h) {
    const int64_t seasons_back = (h + season - 1) / season;
    const int64_t row = origin + h - 1 - season * seasons_back;
    for (int64_t f = 0; f < n_targets; ++f) out.at(h - 1, f) = values.at(row, f);
  }
  return out;
}

std::vector<double> solve_spd(std::vector<double> a, std::vector<double> b, int64_t n, int64_t m,
                              double ridge) {
  auto A = [&](int64_t i, int64_t j) -> double& { return a[static_cast<size_t>(i * n + j)]; };
  for (int64_t i = 0; i < n; ++i) A(i, i) += ridge;
  // A = L L^T, L stored in the lower triangle of a.
  for (int64_t j = 0; j < n; ++j) {
    double d = A(j, j);
    for (int64_t k = 0; k < j; ++k) d -= A(j, k) * A(j, k);
    check(d > 0.0, "least squares: the normal equations are not positive definite (pivot ", j,
          " = ", d, "); the inputs are collinear");
    A(j, j) = std::sqrt(d);
    for (int64_t i = j + 1; i < n; ++i) {
      double s = A(i, j);
      for (int64_t k = 0; k < j; ++k) s -= A(i, k) * A(j, k);
      A(i, j) = s / A(j, j);
    }
  }
  for (int64_t c = 0; c < m; ++c) {
    auto B = [&](int64_t i) -> double& { return b[static_cast<size_t>(i * m + c)]; };
    for (int64_t i = 0; i < n; ++i) {  // L y = b
      double s = B(i);
      for (int64_t k = 0; k < i; ++k) s -= A(i, k) * B(k);
      B(i) = s / A(i, i);
    }
    for (int64_t i = n - 1; i >= 0; --i) {  // L^T x = y
      double s = B(i);
      for (int64_t k = i + 1; k < n; ++k) s -= A(k, i) * B(k);
      B(i) = s / A(i, i);
    }
  }
  return b;
}

LinearAR LinearAR::fit(const Tensor<float>& inputs, const Tensor<float>& targets, double ridge) {
  check(inputs.rank() == 3 && targets.rank() == 3 && inputs.dim(1) == targets.dim(1),
        "LinearAR::fit: inputs [L,B,F] and targets [K,B,Nt] expected, got ",
        shape_str(inputs.shape()), " and ", shape_str(targets.shape()));
  LinearAR ar;
  ar.lookback_ = inputs.dim(0);
  ar.features_ = inputs.dim(2);
  ar.horizon_ = targets.dim(0);
  ar.n_targets_ = targets.dim(2);
  const int64_t B = inputs.dim(1), n = ar.lookback_ * ar.features_ + 1,
                m = ar.horizon_ * ar.n_targets_;
  check(B >= 1, "LinearAR::fit: no training windows");
  std::vector<double> xtx(static_cast<size_t>(n * n), 0.0), xty(static_cast<size_t>(n * m), 0.0);
  std::vector<double> row(static_cast<size_t>(n)), y(static_cast<size_t>(m));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < ar.lookback_; ++t)
      for (int64_t f = 0; f < ar.features_; ++f)
        row[static_cast<size_t>(t * ar.features_ + f)] = inputs.at(t, b, f);
    row[static_cast<size_t>(n - 1)] = 1.0;
    for (int64_t k = 0; k < ar.horizon_; ++k)
      for (int64_t f = 0; f < ar.n_targets_; ++f)
        y[static_cast<size_t>(k * ar.n_targets_ + f)] = targets.at(k, b, f);
    for (int64_t i = 0; i < n; ++i) {
      const double ri = row[static_cast<size_t>(i)];
      for (int64_t j = 0; j < n; ++j) xtx[static_cast<size_t>(i * n + j)] += ri * row[static_cast<size_t>(j)];
      for (int64_t j = 0; j < m; ++j) xty[static_cast<size_t>(i * m + j)] += ri * y[static_cast<size_t>(j)];
    }
  }
  ar.w_ = solve_spd(std::move(xtx), std::move(xty), n, m, ridge * static_cast<double>(B));
  return ar;
}

Tensor<float> LinearAR::predict(const Tensor<float>& inputs) const {
  check(inputs.rank() == 3 && inputs.dim(0) == lookback_ && inputs.dim(2) == features_,
        "LinearAR::predict: inputs must be [", lookback_, ", B, ", features_, "], got ",
        shape_str(inputs.shape()));
  const int64_t B = inputs.dim(1), n = lookback_ * features_ + 1, m = horizon_ * n_targets_;
  Tensor<float> out({horizon_, B, n_targets_});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < m; ++j) {
      double s = w_[static_cast<size_t>((n - 1) * m + j)];
      for (int64_t t = 0; t < lookback_; ++t)
        for (int64_t f = 0; f < features_; ++f)
          s += static_cast<double>(inputs.at(t, b, f)) *
               w_[static_cast<size_t>((t * features_ + f) * m + j)];
      out.at(j / n_targets_, b, j % n_targets_) = static_cast<float>(s);
    }
  return out;
}

}  // namespace rnn::forecast
