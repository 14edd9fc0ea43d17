#include "rnn/forecast/metrics.h"

#include <cmath>

namespace rnn::forecast {

nlohmann::json Metrics::to_json() const {
  return {{"rmse", rmse}, {"mae", mae}, {"smape", smape}, {"mase", mase}, {"count", count}};
}

double mase_scale(std::span<const double> y, int64_t season) {
  const int64_t n = static_cast<int64_t>(y.size());
  check(season >= 1, "MASE: season must be >= 1, got ", season);
  check(n > season, "MASE: ", n, " training values are too few for season ", season);
  double sum = 0.0;
  for (int64_t t = season; t < n; ++t)
    sum += std::abs(y[static_cast<size_t>(t)] - y[static_cast<size_t>(t - season)]);
  const double scale = sum / static_cast<double>(n - season);
  check(scale > 0.0, "MASE: the training part's seasonal naive error is zero (season ", season,
        "): the scale is undefined");
  return scale;
}

Metrics compute_metrics(std::span<const double> actual, std::span<const double> forecast,
                        double scale) {
  check(actual.size() == forecast.size() && !actual.empty(), "metrics: ", actual.size(),
        " actual and ", forecast.size(), " forecast values");
  check(scale > 0.0, "metrics: MASE scale must be positive, got ", scale);
  Metrics m;
  m.count = static_cast<int64_t>(actual.size());
  double se = 0.0, ae = 0.0, sm = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], f = forecast[i], e = f - a;
    check(std::isfinite(a) && std::isfinite(f), "metrics: non-finite value at ", i, " (actual ", a,
          ", forecast ", f, ")");
    se += e * e;
    ae += std::abs(e);
    const double denom = std::abs(a) + std::abs(f);
    if (denom > 0.0) sm += 2.0 * std::abs(e) / denom;
  }
  const double n = static_cast<double>(m.count);
  m.rmse = std::sqrt(se / n);
  m.mae = ae / n;
  m.smape = 100.0 * sm / n;
  m.mase = m.mae / scale;
  return m;
}

LossKind loss_kind_from_string(const std::string& name) {
  if (name == "mse") return LossKind::MSE;
  if (name == "mae") return LossKind::MAE;
  if (name == "huber") return LossKind::Huber;
  fail("unknown loss '", name, "' (mse, mae, huber)");
}

std::string to_string(LossKind kind) {
  switch (kind) {
    case LossKind::MSE: return "mse";
    case LossKind::MAE: return "mae";
    case LossKind::Huber: return "huber";
  }
  return "?";
}

template <class T>
LossResult<T> regression_loss(LossKind kind, const Tensor<T>& pred, const Tensor<T>& target,
                              double huber_delta, bool want_grad) {
  check(pred.shape() == target.shape(), to_string(kind), ": prediction ", shape_str(pred.shape()),
        " and target ", shape_str(target.shape()), " differ");
  check(pred.numel() > 0, to_string(kind), ": empty prediction");
  check(huber_delta > 0.0, "huber: delta must be positive, got ", huber_delta);
  check_finite<T>(pred.span(), to_string(kind) + ": prediction");
  check_finite<T>(target.span(), to_string(kind) + ": target");
  LossResult<T> r;
  if (want_grad) r.grad = Tensor<T>(pred.shape());
  const int64_t n = pred.numel();
  const double inv_n = 1.0 / static_cast<double>(n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(pred[i]) - static_cast<double>(target[i]);
    double l = 0.0, g = 0.0;
    switch (kind) {
      case LossKind::MSE:
        l = d * d;
        g = 2.0 * d;
        break;
      case LossKind::MAE:
        l = std::abs(d);
        g = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : 0.0);
        break;
      case LossKind::Huber:
        if (std::abs(d) < huber_delta) {
          l = 0.5 * d * d;
          g = d;
        } else {
          l = huber_delta * (std::abs(d) - 0.5 * huber_delta);
          g = d > 0.0 ? huber_delta : -huber_delta;
        }
        break;
    }
    sum += l;
    if (want_grad) r.grad[i] = static_cast<T>(g * inv_n);
  }
  r.loss = static_cast<T>(sum * inv_n);
  return r;
}

template LossResult<float> regression_loss<float>(LossKind, const Tensor<float>&,
                                                  const Tensor<float>&, double, bool);
template LossResult<double> regression_loss<double>(LossKind, const Tensor<double>&,
                                                    const Tensor<double>&, double, bool);

}  // namespace rnn::forecast
