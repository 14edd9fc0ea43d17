#include "rnn/forecast/evaluate.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "rnn/forecast/baselines.h"

namespace rnn::forecast {

std::vector<int64_t> walk_forward_origins(const ForecastData& data, int64_t lookback,
                                          int64_t horizon) {
  const int64_t first = std::max(data.split.val_end - horizon + 1,
                                 data.pipeline.first_valid() + lookback);
  std::vector<int64_t> out;
  for (int64_t o = std::max<int64_t>(first, 1); o < data.split.rows; ++o) out.push_back(o);
  check(!out.empty(), "walk-forward: no origin for the test part (", data.split.rows - data.split.val_end,
        " rows)");
  return out;
}

Tensor<double> forecast_origins_quantiles(const ForecastData& data,
                                          const std::vector<int64_t>& origins, int64_t lookback,
                                          int64_t horizon, int64_t levels,
                                          const ZForecaster& forecaster) {
  const int64_t O = static_cast<int64_t>(origins.size()), nt = data.series.n_targets,
                Q = levels;
  check(Q >= 1, "forecast: levels must be >= 1, got ", Q);
  Tensor<double> out({O, horizon, nt, Q});
  constexpr int64_t kChunk = 256;
  for (int64_t start = 0; start < O; start += kChunk) {
    const int64_t end = std::min(O, start + kChunk);
    const std::vector<int64_t> chunk(origins.begin() + start, origins.begin() + end);
    const Tensor<float> z = forecaster(gather_inputs(data.z, chunk, lookback));
    check(z.rank() == 3 && z.dim(0) >= horizon && z.dim(1) == end - start && z.dim(2) == nt * Q,
          "forecaster returned ", shape_str(z.shape()));
    for (int64_t b = 0; b < end - start; ++b) {
      for (int64_t q = 0; q < Q; ++q) {
        Tensor<double> zb({horizon, nt});
        for (int64_t k = 0; k < horizon; ++k)
          for (int64_t f = 0; f < nt; ++f) zb.at(k, f) = z.at(k, b, f * Q + q);
        const Tensor<double> y =
            data.pipeline.invert(zb, data.series.values, chunk[static_cast<size_t>(b)]);
        for (int64_t k = 0; k < horizon; ++k)
          for (int64_t f = 0; f < nt; ++f) out.at(start + b, k, f, q) = y.at(k, f);
      }
    }
  }
  return out;
}

Tensor<double> forecast_origins(const ForecastData& data, const std::vector<int64_t>& origins,
                                int64_t lookback, int64_t horizon, const ZForecaster& forecaster) {
  Tensor<double> out = forecast_origins_quantiles(data, origins, lookback, horizon, 1, forecaster);
  out.reshape({out.dim(0), horizon, data.series.n_targets});
  return out;
}

Tensor<double> naive_origins(const ForecastData& data, const std::vector<int64_t>& origins,
                             int64_t horizon) {
  const int64_t O = static_cast<int64_t>(origins.size()), nt = data.series.n_targets;
  Tensor<double> out({O, horizon, nt});
  for (int64_t i = 0; i < O; ++i) {
    const Tensor<double> f = naive_forecast(data.series.values, nt, origins[static_cast<size_t>(i)], horizon);
    std::copy(f.values().begin(), f.values().end(), out.data() + i * horizon * nt);
  }
  return out;
}

Tensor<double> seasonal_naive_origins(const ForecastData& data,
                                      const std::vector<int64_t>& origins, int64_t horizon,
                                      int64_t season) {
  const int64_t O = static_cast<int64_t>(origins.size()), nt = data.series.n_targets;
  Tensor<double> out({O, horizon, nt});
  for (int64_t i = 0; i < O; ++i) {
    const Tensor<double> f = seasonal_naive_forecast(data.series.values, nt,
                                                     origins[static_cast<size_t>(i)], horizon, season);
    std::copy(f.values().begin(), f.values().end(), out.data() + i * horizon * nt);
  }
  return out;
}

nlohmann::json MethodScores::to_json(const std::vector<std::string>& target_names) const {
  nlohmann::json steps = nlohmann::json::array();
  for (size_t k = 0; k < by_step.size(); ++k) {
    nlohmann::json s = mean_by_step[k].to_json();
    s["step"] = k + 1;
    if (target_names.size() > 1) {
      nlohmann::json per = nlohmann::json::object();
      for (size_t f = 0; f < by_step[k].size(); ++f) per[target_names[f]] = by_step[k][f].to_json();
      s["targets"] = per;
    }
    if (!levels.empty()) {
      const nlohmann::json iv = mean_intervals_by_step[k].to_json();
      s.update(iv);
      if (target_names.size() > 1)
        for (size_t f = 0; f < by_step[k].size(); ++f)
          s["targets"][target_names[f]].update(intervals_by_step[k][f].to_json());
    }
    steps.push_back(s);
  }
  nlohmann::json j = {{"method", name}, {"steps", steps}};
  if (!levels.empty()) j["quantiles"] = levels;
  return j;
}

MethodScores score_forecasts(const std::string& name, const ForecastData& data,
                             const std::vector<int64_t>& origins, const Tensor<double>& forecasts,
                             int64_t season) {
  const int64_t O = static_cast<int64_t>(origins.size()), K = forecasts.dim(1),
                nt = data.series.n_targets;
  check(forecasts.dim(0) == O && forecasts.dim(2) == nt, "score: forecasts ",
        shape_str(forecasts.shape()), " do not match ", O, " origins and ", nt, " targets");
  const int64_t train = data.split.train_end;
  const int64_t m = train > season ? season : 1;
  MethodScores s;
  s.name = name;
  s.by_step.assign(static_cast<size_t>(K), std::vector<Metrics>(static_cast<size_t>(nt)));
  s.mean_by_step.assign(static_cast<size_t>(K), Metrics{});
  for (int64_t f = 0; f < nt; ++f) {
    std::vector<double> history(static_cast<size_t>(train));
    for (int64_t r = 0; r < train; ++r) history[static_cast<size_t>(r)] = data.series.at(r, f);
    const double scale = mase_scale(history, m);
    for (int64_t k = 0; k < K; ++k) {
      std::vector<double> actual, forecast;
      for (int64_t i = 0; i < O; ++i) {
        const int64_t row = origins[static_cast<size_t>(i)] + k;
        if (row < data.split.val_end || row >= data.split.rows) continue;
        actual.push_back(data.series.at(row, f));
        forecast.push_back(forecasts.at(i, k, f));
      }
      s.by_step[static_cast<size_t>(k)][static_cast<size_t>(f)] = compute_metrics(actual, forecast, scale);
    }
  }
  for (int64_t k = 0; k < K; ++k) {
    Metrics& mean = s.mean_by_step[static_cast<size_t>(k)];
    for (const Metrics& x : s.by_step[static_cast<size_t>(k)]) {
      mean.rmse += x.rmse / static_cast<double>(nt);
      mean.mae += x.mae / static_cast<double>(nt);
      mean.smape += x.smape / static_cast<double>(nt);
      mean.mase += x.mase / static_cast<double>(nt);
      mean.count += x.count;
    }
  }
  return s;
}

MethodScores score_quantile_forecasts(const std::string& name, const ForecastData& data,
                                      const std::vector<int64_t>& origins,
                                      const Tensor<double>& forecasts,
                                      const std::vector<double>& levels, int64_t point,
                                      int64_t season) {
  const int64_t Q = static_cast<int64_t>(levels.size());
  check(forecasts.rank() == 4 && forecasts.dim(3) == Q && point >= 0 && point < Q,
        "score: quantile forecasts ", shape_str(forecasts.shape()), " for ", Q, " levels");
  const int64_t O = forecasts.dim(0), K = forecasts.dim(1), nt = forecasts.dim(2);
  Tensor<double> median({O, K, nt});
  for (int64_t i = 0; i < O; ++i)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t f = 0; f < nt; ++f) median.at(i, k, f) = forecasts.at(i, k, f, point);
  MethodScores s = score_forecasts(name, data, origins, median, season);
  s.levels = levels;
  s.intervals_by_step.assign(static_cast<size_t>(K),
                             std::vector<IntervalMetrics>(static_cast<size_t>(nt)));
  s.mean_intervals_by_step.assign(static_cast<size_t>(K), IntervalMetrics{});
  for (int64_t k = 0; k < K; ++k) {
    IntervalMetrics& mean = s.mean_intervals_by_step[static_cast<size_t>(k)];
    for (int64_t f = 0; f < nt; ++f) {
      std::vector<double> actual, q;
      for (int64_t i = 0; i < O; ++i) {  // the rows score_forecasts scores
        const int64_t row = origins[static_cast<size_t>(i)] + k;
        if (row < data.split.val_end || row >= data.split.rows) continue;
        actual.push_back(data.series.at(row, f));
        for (int64_t j = 0; j < Q; ++j) q.push_back(forecasts.at(i, k, f, j));
      }
      const IntervalMetrics m = compute_interval_metrics(actual, q, levels);
      s.intervals_by_step[static_cast<size_t>(k)][static_cast<size_t>(f)] = m;
      const double w = 1.0 / static_cast<double>(nt);
      mean.coverage += w * m.coverage;
      mean.width += w * m.width;
      mean.pinball += w * m.pinball;
      mean.nominal = m.nominal;
      mean.count += m.count;
    }
  }
  return s;
}

std::string format_table(const std::vector<MethodScores>& methods,
                         const std::vector<int64_t>& steps) {
  std::ostringstream out;
  size_t width = 6;
  for (const auto& m : methods) width = std::max(width, m.name.size());
  char line[256];
  std::snprintf(line, sizeof line, "%-5s  %-*s  %12s  %12s  %8s  %7s\n", "step",
                static_cast<int>(width), "method", "RMSE", "MAE", "sMAPE%", "MASE");
  out << line;
  for (int64_t step : steps) {
    double best = INFINITY;
    for (const auto& m : methods) best = std::min(best, m.mean_by_step.at(static_cast<size_t>(step - 1)).mase);
    for (const auto& m : methods) {
      const Metrics& x = m.mean_by_step.at(static_cast<size_t>(step - 1));
      std::snprintf(line, sizeof line, "%-5lld  %-*s  %12.4g  %12.4g  %8.2f  %7.3f%s\n",
                    static_cast<long long>(step), static_cast<int>(width), m.name.c_str(), x.rmse,
                    x.mae, x.smape, x.mase, x.mase == best ? " *" : "");
      out << line;
    }
  }
  return out.str();
}

std::string format_interval_table(const std::vector<MethodScores>& methods,
                                  const std::vector<int64_t>& steps) {
  size_t width = 6;
  bool any = false;
  for (const auto& m : methods) {
    if (m.levels.empty()) continue;
    any = true;
    width = std::max(width, m.name.size());
  }
  if (!any) return "";
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-5s  %-*s  %-11s  %9s  %8s  %12s  %12s\n", "step",
                static_cast<int>(width), "method", "interval", "coverage", "nominal", "width",
                "pinball");
  out << line;
  for (int64_t step : steps) {
    for (const auto& m : methods) {
      if (m.levels.empty()) continue;
      const IntervalMetrics& x = m.mean_intervals_by_step.at(static_cast<size_t>(step - 1));
      char interval[64];
      std::snprintf(interval, sizeof interval, "%g-%g", m.levels.front(), m.levels.back());
      std::snprintf(line, sizeof line, "%-5lld  %-*s  %-11s  %8.1f%%  %7.0f%%  %12.4g  %12.4g\n",
                    static_cast<long long>(step), static_cast<int>(width), m.name.c_str(),
                    m.levels.size() >= 2 ? interval : "-", 100.0 * x.coverage, 100.0 * x.nominal,
                    x.width, x.pinball);
      out << line;
    }
  }
  return out.str();
}

}  // namespace rnn::forecast
