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

Tensor<double> forecast_origins(const ForecastData& data, const std::vector<int64_t>& origins,
                                int64_t lookback, int64_t horizon, const ZForecaster& forecaster) {
  const int64_t O = static_cast<int64_t>(origins.size()), nt = data.series.n_targets;
  Tensor<double> out({O, horizon, nt});
  constexpr int64_t kChunk = 256;
  for (int64_t start = 0; start < O; start += kChunk) {
    const int64_t end = std::min(O, start + kChunk);
    const std::vector<int64_t> chunk(origins.begin() + start, origins.begin() + end);
    const Tensor<float> z = forecaster(gather_inputs(data.z, chunk, lookback));
    check(z.rank() == 3 && z.dim(0) >= horizon && z.dim(1) == end - start && z.dim(2) == nt,
          "forecaster returned ", shape_str(z.shape()));
    for (int64_t b = 0; b < end - start; ++b) {
      Tensor<double> zb({horizon, nt});
      for (int64_t k = 0; k < horizon; ++k)
        for (int64_t f = 0; f < nt; ++f) zb.at(k, f) = z.at(k, b, f);
      const Tensor<double> y = data.pipeline.invert(zb, data.series.values, chunk[static_cast<size_t>(b)]);
      for (int64_t k = 0; k < horizon; ++k)
        for (int64_t f = 0; f < nt; ++f) out.at(start + b, k, f) = y.at(k, f);
    }
  }
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
    steps.push_back(s);
  }
  return {{"method", name}, {"steps", steps}};
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

}  // namespace rnn::forecast
