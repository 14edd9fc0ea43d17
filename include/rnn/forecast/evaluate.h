// Rolling-origin (walk-forward) evaluation on the test part: every test row is forecast
// h steps ahead from the origin h-1 rows before it (rows before the origin observed),
// for h = 1..K, by each method; the same code scores networks and baselines.
//
// Letters: N rows, F features, Nt targets, L lookback, K horizon, O origins.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/forecast/metrics.h"
#include "rnn/forecast/quantile.h"
#include "rnn/forecast/task.h"

namespace rnn::forecast {

// Origins o in [max(val_end - K + 1, first_valid + L), N): every (o, h) with
// o + h - 1 in the test rows is scored.
std::vector<int64_t> walk_forward_origins(const ForecastData& data, int64_t lookback,
                                          int64_t horizon);

// A forecaster in transformed units: inputs [L,B,F] -> forecasts [K,B,Nt].
using ZForecaster = std::function<Tensor<float>(const Tensor<float>& inputs)>;

// Forecasts in the series' units [O, K, Nt]: windows gathered from data.z, run through
// `forecaster`, inverted with data.pipeline from the rows before each origin.
Tensor<double> forecast_origins(const ForecastData& data, const std::vector<int64_t>& origins,
                                int64_t lookback, int64_t horizon, const ZForecaster& forecaster);

// Quantile forecasts in the series' units [O, K, Nt, Q]: `forecaster` returns every level
// [K,B,Nt*Q] (increasing within each step); each level's path is inverted like a point
// forecast. The transforms are increasing maps, so a quantile stays that quantile exactly
// while each step's differencing reads an observed row (step <= lag); beyond that the
// level's own earlier forecasts are added back, as if the steps' errors moved together.
Tensor<double> forecast_origins_quantiles(const ForecastData& data,
                                          const std::vector<int64_t>& origins, int64_t lookback,
                                          int64_t horizon, int64_t levels,
                                          const ZForecaster& forecaster);

// Baselines on the series itself [O, K, Nt].
Tensor<double> naive_origins(const ForecastData& data, const std::vector<int64_t>& origins,
                             int64_t horizon);
Tensor<double> seasonal_naive_origins(const ForecastData& data,
                                      const std::vector<int64_t>& origins, int64_t horizon,
                                      int64_t season);

struct MethodScores {
  std::string name;
  std::vector<std::vector<Metrics>> by_step;  // [K][Nt]
  std::vector<Metrics> mean_by_step;          // [K] averaged over targets
  // Quantile methods only (levels not empty):
  std::vector<double> levels;
  std::vector<std::vector<IntervalMetrics>> intervals_by_step;  // [K][Nt]
  std::vector<IntervalMetrics> mean_intervals_by_step;          // [K] averaged over targets
  nlohmann::json to_json(const std::vector<std::string>& target_names) const;
};

// Scores forecasts [O, K, Nt] on the test rows; MASE scale per target from the training
// rows with `season` (1 when the training part is too short for it).
MethodScores score_forecasts(const std::string& name, const ForecastData& data,
                             const std::vector<int64_t>& origins, const Tensor<double>& forecasts,
                             int64_t season);

// score_forecasts on the point level (`point`, the median) of quantile forecasts
// [O, K, Nt, Q], plus coverage, width and pinball of the intervals per step and target.
MethodScores score_quantile_forecasts(const std::string& name, const ForecastData& data,
                                      const std::vector<int64_t>& origins,
                                      const Tensor<double>& forecasts,
                                      const std::vector<double>& levels, int64_t point,
                                      int64_t season);

// The side-by-side table: one block per reported step (1-based), one row per method.
std::string format_table(const std::vector<MethodScores>& methods,
                         const std::vector<int64_t>& steps);
// The quantile methods' intervals per reported step (empty when there are none).
std::string format_interval_table(const std::vector<MethodScores>& methods,
                                  const std::vector<int64_t>& steps);

}  // namespace rnn::forecast
