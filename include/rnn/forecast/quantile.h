// Quantile forecasts: the levels a model predicts, the pinball (quantile) loss that trains
// them, and how prediction intervals are scored (coverage, width, pinball).
//
// Letters: S steps, B batch, Nt targets, Q quantile levels. A quantile forecast keeps the
// levels of one target together: the last dimension is Nt*Q, index f*Q + q.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/tensor.h"
#include "rnn/train/losses.h"

namespace rnn::forecast {

// Throws rnn::Error unless every level is finite, in (0, 1), and the list is strictly
// increasing ("quantiles: 0.9 after 0.9: the levels must be increasing, no repeats").
void validate_quantiles(const std::vector<double>& levels);

// "0.1,0.5,0.9" -> {0.1, 0.5, 0.9}, validated. Throws rnn::Error naming the bad item.
std::vector<double> parse_quantiles(const std::string& text);

// The level whose forecast is the point forecast (metrics, the recursive and seq2seq
// feedback): the one nearest 0.5 (the median when 0.5 is a level; on a tie the lower).
// 0 for an empty list (a point model's single output).
int64_t point_quantile_index(const std::vector<double>& levels);

// "0.1" -> "q0.1": the suffix of a quantile's CSV column.
std::string quantile_label(double level);

// Pinball loss averaged over every step, window, target and level:
//   u = y - q,  rho_tau(u) = max(tau u, (tau - 1) u),  loss = mean rho
// pred [S, B, Nt*Q], target [S, B, Nt]. d(loss)/d(q) = (-tau if u > 0, 1 - tau if u < 0,
// 0.5 - tau at u = 0: torch.maximum's even split of a tie) / (S*B*Nt*Q). Throws on a
// shape mismatch, bad levels or non-finite values.
template <class T>
LossResult<T> pinball_loss(const Tensor<T>& pred, const Tensor<T>& target,
                           const std::vector<double>& levels, bool want_grad = true);

// Sorts each step's Q levels in place (quantile crossing: a network can put the 0.9
// forecast below the 0.5 one; sorting restores the order without changing the set).
// pred [S, B, Nt*Q].
void sort_quantiles(Tensor<float>& pred, int64_t n_levels);

// [S, B, Nt*Q] -> [S, B, Nt]: level `index` of every target.
Tensor<float> select_quantile(const Tensor<float>& pred, int64_t n_levels, int64_t index);

// Interval scores of n forecasts of one quantity, in its own units:
//   coverage  share of actual values inside [lowest level, highest level] (ends included);
//             nominal = highest - lowest level (0.1 .. 0.9 -> 0.8)
//   width     mean (highest - lowest)
//   pinball   mean over values and levels of rho_tau(actual - forecast)
struct IntervalMetrics {
  double coverage = 0.0;
  double nominal = 0.0;
  double width = 0.0;
  double pinball = 0.0;
  int64_t count = 0;
  nlohmann::json to_json() const;
};

// actual [n], quantiles [n*Q] (value i's levels at i*Q .. i*Q+Q-1, increasing). With a
// single level there is no interval: coverage, nominal and width are 0, pinball is set.
IntervalMetrics compute_interval_metrics(std::span<const double> actual,
                                         std::span<const double> quantiles,
                                         const std::vector<double>& levels);

}  // namespace rnn::forecast
