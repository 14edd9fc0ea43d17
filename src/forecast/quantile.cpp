#include "rnn/forecast/quantile.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "rnn/core/error.h"

namespace rnn::forecast {

void validate_quantiles(const std::vector<double>& levels) {
  for (size_t i = 0; i < levels.size(); ++i) {
    const double tau = levels[i];
    check(std::isfinite(tau) && tau > 0.0 && tau < 1.0, "quantiles: level ", tau,
          " is outside (0, 1)");
    // Not check(i == 0 || ...): its message arguments, levels[i - 1] included, are evaluated
    // even for i == 0 (a read before the vector).
    if (i > 0) {
      check(tau > levels[i - 1], "quantiles: ", tau, " after ", levels[i - 1],
            ": the levels must be increasing, no repeats");
    }
  }
}

std::vector<double> parse_quantiles(const std::string& text) {
  std::vector<double> levels;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    const std::string s = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    size_t used = 0;
    double v = 0.0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check(!s.empty() && used == s.size(), "quantiles: '", s, "' is not a number");
    levels.push_back(v);
  }
  check(!levels.empty(), "quantiles: give at least one level, e.g. 0.1,0.5,0.9");
  validate_quantiles(levels);
  return levels;
}

int64_t point_quantile_index(const std::vector<double>& levels) {
  int64_t best = 0;
  for (size_t i = 1; i < levels.size(); ++i)
    if (std::abs(levels[i] - 0.5) < std::abs(levels[static_cast<size_t>(best)] - 0.5))
      best = static_cast<int64_t>(i);
  return best;
}

std::string quantile_label(double level) {
  std::ostringstream s;
  s.precision(6);
  s << "q" << level;
  return s.str();
}

template <class T>
LossResult<T> pinball_loss(const Tensor<T>& pred, const Tensor<T>& target,
                           const std::vector<double>& levels, bool want_grad) {
  validate_quantiles(levels);
  const int64_t Q = static_cast<int64_t>(levels.size());
  check(Q >= 1, "pinball: no quantile levels");
  check(target.rank() == 3 && pred.rank() == 3 && pred.dim(0) == target.dim(0) &&
            pred.dim(1) == target.dim(1) && pred.dim(2) == target.dim(2) * Q,
        "pinball: prediction ", shape_str(pred.shape()), " must be [S, B, Nt*", Q,
        "] for target ", shape_str(target.shape()));
  check(pred.numel() > 0, "pinball: empty prediction");
  check_finite<T>(pred.span(), "pinball: prediction");
  check_finite<T>(target.span(), "pinball: target");
  LossResult<T> r;
  if (want_grad) r.grad = Tensor<T>(pred.shape());
  const int64_t rows = target.numel();  // S*B*Nt values, Q forecasts each
  const double inv_n = 1.0 / static_cast<double>(pred.numel());
  double sum = 0.0;
  for (int64_t i = 0; i < rows; ++i) {
    const double y = static_cast<double>(target[i]);
    for (int64_t q = 0; q < Q; ++q) {
      const double tau = levels[static_cast<size_t>(q)];
      const double u = y - static_cast<double>(pred[i * Q + q]);
      sum += std::max(tau * u, (tau - 1.0) * u);
      if (want_grad) {
        const double g = u > 0.0 ? -tau : (u < 0.0 ? 1.0 - tau : 0.5 - tau);
        r.grad[i * Q + q] = static_cast<T>(g * inv_n);
      }
    }
  }
  r.loss = static_cast<T>(sum * inv_n);
  return r;
}

template LossResult<float> pinball_loss<float>(const Tensor<float>&, const Tensor<float>&,
                                               const std::vector<double>&, bool);
template LossResult<double> pinball_loss<double>(const Tensor<double>&, const Tensor<double>&,
                                                 const std::vector<double>&, bool);

void sort_quantiles(Tensor<float>& pred, int64_t n_levels) {
  check(n_levels >= 1 && pred.numel() % n_levels == 0, "sort_quantiles: ", pred.numel(),
        " values are not groups of ", n_levels);
  float* p = pred.data();
  for (int64_t i = 0; i < pred.numel(); i += n_levels) std::sort(p + i, p + i + n_levels);
}

Tensor<float> select_quantile(const Tensor<float>& pred, int64_t n_levels, int64_t index) {
  check(pred.rank() == 3 && pred.dim(2) % n_levels == 0 && index >= 0 && index < n_levels,
        "select_quantile: ", shape_str(pred.shape()), " with ", n_levels, " levels, index ", index);
  const int64_t S = pred.dim(0), B = pred.dim(1), nt = pred.dim(2) / n_levels;
  Tensor<float> out({S, B, nt});
  for (int64_t s = 0; s < S; ++s)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t f = 0; f < nt; ++f) out.at(s, b, f) = pred.at(s, b, f * n_levels + index);
  return out;
}

nlohmann::json IntervalMetrics::to_json() const {
  return {{"coverage", coverage}, {"nominal_coverage", nominal}, {"interval_width", width},
          {"pinball", pinball}};
}

IntervalMetrics compute_interval_metrics(std::span<const double> actual,
                                         std::span<const double> quantiles,
                                         const std::vector<double>& levels) {
  validate_quantiles(levels);
  const size_t Q = levels.size();
  check(Q >= 1 && !actual.empty() && quantiles.size() == actual.size() * Q, "intervals: ",
        actual.size(), " actual values and ", quantiles.size(), " quantile forecasts for ", Q,
        " levels");
  IntervalMetrics m;
  m.count = static_cast<int64_t>(actual.size());
  double inside = 0.0, width = 0.0, pinball = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i];
    const double* q = quantiles.data() + i * Q;
    for (size_t j = 0; j < Q; ++j) {
      check(std::isfinite(a) && std::isfinite(q[j]), "intervals: non-finite value at ", i);
      const double u = a - q[j];
      pinball += std::max(levels[j] * u, (levels[j] - 1.0) * u);
    }
    if (Q >= 2) {
      inside += (a >= q[0] && a <= q[Q - 1]) ? 1.0 : 0.0;
      width += q[Q - 1] - q[0];
    }
  }
  const double n = static_cast<double>(actual.size());
  if (Q >= 2) {
    m.coverage = inside / n;
    m.nominal = levels[Q - 1] - levels[0];
    m.width = width / n;
  }
  m.pinball = pinball / (n * static_cast<double>(Q));
  return m;
}

}  // namespace rnn::forecast
