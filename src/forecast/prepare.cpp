#include "rnn/forecast/prepare.h"

#include <cmath>
#include <limits>

namespace rnn::forecast {

nlohmann::json Split::to_json() const {
  return {{"rows", rows}, {"train_end", train_end}, {"val_end", val_end}};
}

Split chronological_split(int64_t rows, double val_fraction, double test_fraction) {
  check(val_fraction >= 0.0 && test_fraction >= 0.0 && val_fraction + test_fraction < 1.0,
        "split: validation (", val_fraction, ") and test (", test_fraction,
        ") fractions must be >= 0 and sum to less than 1");
  const auto part = [&](double fraction) {
    const int64_t k = static_cast<int64_t>(std::llround(static_cast<double>(rows) * fraction));
    return fraction > 0.0 ? std::max<int64_t>(k, 1) : 0;
  };
  Split s;
  s.rows = rows;
  const int64_t test = part(test_fraction), val = part(val_fraction);
  s.val_end = rows - test;
  s.train_end = s.val_end - val;
  check(s.train_end >= 2, "too few rows: ", rows, " rows leave ", s.train_end,
        " for training after ", val, " validation and ", test, " test rows");
  return s;
}

ScaleKind scale_kind_from_string(const std::string& name) {
  if (name == "none") return ScaleKind::None;
  if (name == "standard") return ScaleKind::Standard;
  if (name == "minmax") return ScaleKind::MinMax;
  fail("unknown scaling '", name, "' (none, standard, minmax)");
}

std::string to_string(ScaleKind kind) {
  switch (kind) {
    case ScaleKind::None: return "none";
    case ScaleKind::Standard: return "standard";
    case ScaleKind::MinMax: return "minmax";
  }
  return "?";
}

Scaler Scaler::fit(const Tensor<double>& x, int64_t begin, int64_t end, ScaleKind kind,
                   const std::vector<std::string>& names) {
  check(x.rank() == 2, "Scaler::fit: x must be [N, F], got ", shape_str(x.shape()));
  const int64_t F = x.dim(1);
  check(static_cast<int64_t>(names.size()) == F, "Scaler::fit: ", names.size(), " names for ", F,
        " features");
  check(begin >= 0 && begin < end && end <= x.dim(0), "Scaler::fit: rows [", begin, ", ", end,
        ") outside [0, ", x.dim(0), ")");
  Scaler s;
  s.kind = kind;
  s.offset.assign(static_cast<size_t>(F), 0.0);
  s.scale.assign(static_cast<size_t>(F), 1.0);
  if (kind == ScaleKind::None) return s;
  for (int64_t f = 0; f < F; ++f) {
    double sum = 0.0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
    int64_t n = 0;
    for (int64_t r = begin; r < end; ++r) {
      const double v = x.at(r, f);
      if (std::isnan(v)) continue;
      sum += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      ++n;
    }
    check(n > 0, "column '", names[static_cast<size_t>(f)], "' has no values on the training part");
    const double mean = sum / static_cast<double>(n);
    double var = 0.0;
    for (int64_t r = begin; r < end; ++r) {
      const double v = x.at(r, f);
      if (!std::isnan(v)) var += (v - mean) * (v - mean);
    }
    const double stddev = std::sqrt(var / static_cast<double>(n));
    const double spread = kind == ScaleKind::Standard ? stddev : hi - lo;
    check(spread > 1e-12 * std::max(1.0, std::abs(mean)), "column '", names[static_cast<size_t>(f)],
          "' is constant on the training part (value ", mean,
          "): cannot scale by zero (use --scale none, or another column)");
    s.offset[static_cast<size_t>(f)] = kind == ScaleKind::Standard ? mean : lo;
    s.scale[static_cast<size_t>(f)] = spread;
  }
  return s;
}

nlohmann::json Scaler::to_json() const {
  return {{"kind", to_string(kind)}, {"offset", offset}, {"scale", scale}};
}

Scaler Scaler::from_json(const nlohmann::json& j) {
  try {
    Scaler s;
    s.kind = scale_kind_from_string(j.at("kind").get<std::string>());
    s.offset = j.at("offset").get<std::vector<double>>();
    s.scale = j.at("scale").get<std::vector<double>>();
    check(s.offset.size() == s.scale.size(), "scaler: offset and scale differ in length");
    for (double v : s.scale) check(std::isfinite(v) && v != 0.0, "scaler: bad scale ", v);
    return s;
  } catch (const nlohmann::json::exception& e) {
    fail("scaler: ", e.what());  // a missing or mistyped field: rnn::Error, one line
  }
}

nlohmann::json TransformSpec::to_json() const {
  return {{"log", log}, {"diff_lag", diff_lag}, {"scale", to_string(scale)}};
}

TransformSpec TransformSpec::from_json(const nlohmann::json& j) {
  try {
    TransformSpec t;
    t.log = j.at("log").get<bool>();
    t.diff_lag = j.at("diff_lag").get<int64_t>();
    t.scale = scale_kind_from_string(j.at("scale").get<std::string>());
    check(t.diff_lag >= 0, "transforms: diff_lag must be >= 0, got ", t.diff_lag);
    return t;
  } catch (const nlohmann::json::exception& e) {
    fail("transforms: ", e.what());  // a missing or mistyped field: rnn::Error, one line
  }
}

Tensor<double> Pipeline::levels(const Tensor<double>& values,
                                const std::vector<std::string>& names) const {
  Tensor<double> out = values;
  if (!spec_.log) return out;
  const int64_t N = values.dim(0), F = values.dim(1);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t f = 0; f < std::min(F, n_targets_); ++f) {
      const double v = values.at(r, f);
      check(v > 0.0, "--log needs positive values: column '", names[static_cast<size_t>(f)],
            "' row ", r + 1, " is ", v);
      out.at(r, f) = std::log(v);
    }
  return out;
}

Tensor<double> Pipeline::transform(const Tensor<double>& values,
                                   const std::vector<std::string>& names) const {
  const Tensor<double> lv = levels(values, names);
  const int64_t N = values.dim(0), F = values.dim(1), lag = spec_.diff_lag;
  check(static_cast<int64_t>(scaler_.offset.size()) == F, "pipeline: the scaler has ",
        scaler_.offset.size(), " features, the series ", F);
  Tensor<double> z({N, F});
  for (int64_t r = 0; r < N; ++r)
    for (int64_t f = 0; f < F; ++f) {
      double v = lv.at(r, f);
      if (f < n_targets_ && lag > 0) v = r >= lag ? v - lv.at(r - lag, f) : std::nan("");
      z.at(r, f) = std::isnan(v) ? v : scaler_.apply(f, v);
    }
  return z;
}

Pipeline Pipeline::fit(const Series& series, const TransformSpec& spec, int64_t train_end) {
  check(spec.diff_lag >= 0, "--diff must be >= 0, got ", spec.diff_lag);
  check(spec.diff_lag < train_end, "--diff ", spec.diff_lag, " is not shorter than the ",
        train_end, " training rows");
  Pipeline p(spec, Scaler{}, series.n_targets);
  p.scaler_.kind = ScaleKind::None;
  p.scaler_.offset.assign(static_cast<size_t>(series.features()), 0.0);
  p.scaler_.scale.assign(static_cast<size_t>(series.features()), 1.0);
  // Unscaled transformed values, then the scaler fitted on the training rows only.
  const Tensor<double> raw = p.transform(series.values, series.names);
  p.scaler_ = Scaler::fit(raw, 0, train_end, spec.scale, series.names);
  return p;
}

Tensor<double> Pipeline::invert(const Tensor<double>& z_hat, const Tensor<double>& values,
                                int64_t origin) const {
  check(z_hat.rank() == 2 && z_hat.dim(1) == n_targets_, "Pipeline::invert: z_hat must be [K, ",
        n_targets_, "], got ", shape_str(z_hat.shape()));
  const int64_t K = z_hat.dim(0), lag = spec_.diff_lag;
  check(origin >= std::max<int64_t>(lag, 1) && origin <= values.dim(0), "Pipeline::invert: origin ",
        origin, " outside [", std::max<int64_t>(lag, 1), ", ", values.dim(0), "]");
  Tensor<double> out({K, n_targets_});
  for (int64_t f = 0; f < n_targets_; ++f) {
    // Levels of the observed rows the differences refer to, then the forecast levels.
    std::vector<double> level(static_cast<size_t>(lag + K));
    for (int64_t i = 0; i < lag; ++i) {
      const double v = values.at(origin - lag + i, f);
      level[static_cast<size_t>(i)] = spec_.log ? std::log(v) : v;
    }
    for (int64_t k = 0; k < K; ++k) {
      const double d = scaler_.invert(f, z_hat.at(k, f));
      const double l = lag > 0 ? d + level[static_cast<size_t>(k)] : d;
      level[static_cast<size_t>(lag + k)] = l;
      out.at(k, f) = spec_.log ? std::exp(l) : l;
    }
  }
  return out;
}

nlohmann::json Pipeline::to_json() const {
  return {{"transforms", spec_.to_json()}, {"scaler", scaler_.to_json()}, {"n_targets", n_targets_}};
}

Pipeline Pipeline::from_json(const nlohmann::json& j) {
  try {
    return Pipeline(TransformSpec::from_json(j.at("transforms")), Scaler::from_json(j.at("scaler")),
                    j.at("n_targets").get<int64_t>());
  } catch (const nlohmann::json::exception& e) {
    fail("pipeline: ", e.what());  // a missing or mistyped field: rnn::Error, one line
  }
}

std::vector<int64_t> window_origins(int64_t first_valid, int64_t lookback, int64_t horizon,
                                    int64_t target_begin, int64_t target_end) {
  std::vector<int64_t> out;
  for (int64_t o = std::max(first_valid + lookback, target_begin); o + horizon <= target_end; ++o)
    out.push_back(o);
  return out;
}

Tensor<float> gather_inputs(const Tensor<double>& z, const std::vector<int64_t>& origins,
                            int64_t lookback) {
  const int64_t B = static_cast<int64_t>(origins.size()), F = z.dim(1);
  Tensor<float> x({lookback, B, F});
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = origins[static_cast<size_t>(b)];
    check(o - lookback >= 0 && o <= z.dim(0), "gather_inputs: origin ", o, " with lookback ",
          lookback, " outside the series of ", z.dim(0), " rows");
    for (int64_t t = 0; t < lookback; ++t)
      for (int64_t f = 0; f < F; ++f) {
        const double v = z.at(o - lookback + t, f);
        check(!std::isnan(v), "gather_inputs: row ", o - lookback + t, " is undefined (before the differencing lag)");
        x.at(t, b, f) = static_cast<float>(v);
      }
  }
  return x;
}

Tensor<float> gather_targets(const Tensor<double>& z, const std::vector<int64_t>& origins,
                             int64_t horizon, int64_t n_targets) {
  const int64_t B = static_cast<int64_t>(origins.size());
  Tensor<float> y({horizon, B, n_targets});
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = origins[static_cast<size_t>(b)];
    check(o >= 0 && o + horizon <= z.dim(0), "gather_targets: origin ", o, " with horizon ",
          horizon, " outside the series of ", z.dim(0), " rows");
    for (int64_t k = 0; k < horizon; ++k)
      for (int64_t f = 0; f < n_targets; ++f) y.at(k, b, f) = static_cast<float>(z.at(o + k, f));
  }
  return y;
}

}  // namespace rnn::forecast
