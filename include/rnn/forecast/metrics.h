// Forecast accuracy (RMSE, MAE, sMAPE, MASE) and the regression losses used to train
// forecasters (MSE, MAE, Huber) with their gradients.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "rnn/core/tensor.h"
#include "rnn/train/losses.h"

namespace rnn::forecast {

struct Metrics {
  double rmse = 0.0;   // sqrt(mean (f - a)^2)
  double mae = 0.0;    // mean |f - a|
  double smape = 0.0;  // 100/n * sum 2|f - a| / (|a| + |f|)  (a term with a = f = 0 counts 0)
  double mase = 0.0;   // mae / mase_scale
  int64_t count = 0;
  nlohmann::json to_json() const;
};

// Mean |y[t] - y[t-season]| over t in [season, y.size()): the in-sample error of the
// seasonal naive forecast on the training part (Hyndman and Koehler's MASE scale).
// Throws when y is too short or the scale is zero.
double mase_scale(std::span<const double> y, int64_t season);

// Metrics of `forecast` against `actual` (same length, at least one value).
Metrics compute_metrics(std::span<const double> actual, std::span<const double> forecast,
                        double scale);

enum class LossKind { MSE, MAE, Huber };
LossKind loss_kind_from_string(const std::string& name);  // mse|mae|huber
std::string to_string(LossKind kind);

// Mean over all elements, as torch.nn.functional with reduction='mean':
//   MSE   (p - y)^2
//   MAE   |p - y|                       gradient sign(p - y) (0 at p = y, like torch)
//   Huber 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta),  d = p - y
// Returns the loss and d(loss)/d(pred) (when want_grad). Throws on shape mismatch or
// non-finite values.
template <class T>
LossResult<T> regression_loss(LossKind kind, const Tensor<T>& pred, const Tensor<T>& target,
                              double huber_delta = 1.0, bool want_grad = true);

}  // namespace rnn::forecast
