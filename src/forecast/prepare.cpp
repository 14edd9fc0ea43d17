#include "rnn/core/json_int.h"
#include "rnn/forecast/prepare.h"
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
#include <cmath>
#include "rnn/core/json_int.h"
#include <limits>
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
namespace rnn::forecast {
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
nlohmann::json Split::to_json() const {
#include "rnn/core/json_int.h"
  return {{"rows", rows}, {"train_end", train_end}, {"val_end", val_end}};
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Split chronological_split(int64_t rows, double val_fraction, double test_fraction) {
#include "rnn/core/json_int.h"
  check(val_fraction >= 0.0 && test_fraction >= 0.0 && val_fraction + test_fraction < 1.0,
#include "rnn/core/json_int.h"
        "split: validation (", val_fraction, ") and test (", test_fraction,
#include "rnn/core/json_int.h"
        ") fractions must be >= 0 and sum to less than 1");
#include "rnn/core/json_int.h"
  const auto part = [&](double fraction) {
#include "rnn/core/json_int.h"
    const int64_t k = static_cast<int64_t>(std::llround(static_cast<double>(rows) * fraction));
#include "rnn/core/json_int.h"
    return fraction > 0.0 ? std::max<int64_t>(k, 1) : 0;
#include "rnn/core/json_int.h"
  };
#include "rnn/core/json_int.h"
  Split s;
#include "rnn/core/json_int.h"
  s.rows = rows;
#include "rnn/core/json_int.h"
  const int64_t test = part(test_fraction), val = part(val_fraction);
#include "rnn/core/json_int.h"
  s.val_end = rows - test;
#include "rnn/core/json_int.h"
  s.train_end = s.val_end - val;
#include "rnn/core/json_int.h"
  check(s.train_end >= 2, "too few rows: ", rows, " rows leave ", s.train_end,
#include "rnn/core/json_int.h"
        " for training after ", val, " validation and ", test, " test rows");
#include "rnn/core/json_int.h"
  return s;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
ScaleKind scale_kind_from_string(const std::string& name) {
#include "rnn/core/json_int.h"
  if (name == "none") return ScaleKind::None;
#include "rnn/core/json_int.h"
  if (name == "standard") return ScaleKind::Standard;
#include "rnn/core/json_int.h"
  if (name == "minmax") return ScaleKind::MinMax;
#include "rnn/core/json_int.h"
  fail("unknown scaling '", name, "' (none, standard, minmax)");
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
std::string to_string(ScaleKind kind) {
#include "rnn/core/json_int.h"
  switch (kind) {
#include "rnn/core/json_int.h"
    case ScaleKind::None: return "none";
#include "rnn/core/json_int.h"
    case ScaleKind::Standard: return "standard";
#include "rnn/core/json_int.h"
    case ScaleKind::MinMax: return "minmax";
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  return "?";
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Scaler Scaler::fit(const Tensor<double>& x, int64_t begin, int64_t end, ScaleKind kind,
#include "rnn/core/json_int.h"
                   const std::vector<std::string>& names) {
#include "rnn/core/json_int.h"
  check(x.rank() == 2, "Scaler::fit: x must be [N, F], got ", shape_str(x.shape()));
#include "rnn/core/json_int.h"
  const int64_t F = x.dim(1);
#include "rnn/core/json_int.h"
  check(static_cast<int64_t>(names.size()) == F, "Scaler::fit: ", names.size(), " names for ", F,
#include "rnn/core/json_int.h"
        " features");
#include "rnn/core/json_int.h"
  check(begin >= 0 && begin < end && end <= x.dim(0), "Scaler::fit: rows [", begin, ", ", end,
#include "rnn/core/json_int.h"
        ") outside [0, ", x.dim(0), ")");
#include "rnn/core/json_int.h"
  Scaler s;
#include "rnn/core/json_int.h"
  s.kind = kind;
#include "rnn/core/json_int.h"
  s.offset.assign(static_cast<size_t>(F), 0.0);
#include "rnn/core/json_int.h"
  s.scale.assign(static_cast<size_t>(F), 1.0);
#include "rnn/core/json_int.h"
  if (kind == ScaleKind::None) return s;
#include "rnn/core/json_int.h"
  for (int64_t f = 0; f < F; ++f) {
#include "rnn/core/json_int.h"
    double sum = 0.0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
#include "rnn/core/json_int.h"
    int64_t n = 0;
#include "rnn/core/json_int.h"
    for (int64_t r = begin; r < end; ++r) {
#include "rnn/core/json_int.h"
      const double v = x.at(r, f);
#include "rnn/core/json_int.h"
      if (std::isnan(v)) continue;
#include "rnn/core/json_int.h"
      sum += v;
#include "rnn/core/json_int.h"
      lo = std::min(lo, v);
#include "rnn/core/json_int.h"
      hi = std::max(hi, v);
#include "rnn/core/json_int.h"
      ++n;
#include "rnn/core/json_int.h"
    }
#include "rnn/core/json_int.h"
    check(n > 0, "column '", names[static_cast<size_t>(f)], "' has no values on the training part");
#include "rnn/core/json_int.h"
    const double mean = sum / static_cast<double>(n);
#include "rnn/core/json_int.h"
    double var = 0.0;
#include "rnn/core/json_int.h"
    for (int64_t r = begin; r < end; ++r) {
#include "rnn/core/json_int.h"
      const double v = x.at(r, f);
#include "rnn/core/json_int.h"
      if (!std::isnan(v)) var += (v - mean) * (v - mean);
#include "rnn/core/json_int.h"
    }
#include "rnn/core/json_int.h"
    const double stddev = std::sqrt(var / static_cast<double>(n));
#include "rnn/core/json_int.h"
    const double spread = kind == ScaleKind::Standard ? stddev : hi - lo;
#include "rnn/core/json_int.h"
    check(spread > 1e-12 * std::max(1.0, std::abs(mean)), "column '", names[static_cast<size_t>(f)],
#include "rnn/core/json_int.h"
          "' is constant on the training part (value ", mean,
#include "rnn/core/json_int.h"
          "): cannot scale by zero (use --scale none, or another column)");
#include "rnn/core/json_int.h"
    s.offset[static_cast<size_t>(f)] = kind == ScaleKind::Standard ? mean : lo;
#include "rnn/core/json_int.h"
    s.scale[static_cast<size_t>(f)] = spread;
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  return s;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
nlohmann::json Scaler::to_json() const {
#include "rnn/core/json_int.h"
  return {{"kind", to_string(kind)}, {"offset", offset}, {"scale", scale}};
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Scaler Scaler::from_json(const nlohmann::json& j) {
#include "rnn/core/json_int.h"
  try {
#include "rnn/core/json_int.h"
    Scaler s;
#include "rnn/core/json_int.h"
    s.kind = scale_kind_from_string(j.at("kind").get<std::string>());
#include "rnn/core/json_int.h"
    s.offset = j.at("offset").get<std::vector<double>>();
#include "rnn/core/json_int.h"
    s.scale = j.at("scale").get<std::vector<double>>();
#include "rnn/core/json_int.h"
    check(s.offset.size() == s.scale.size(), "scaler: offset and scale differ in length");
#include "rnn/core/json_int.h"
    for (double v : s.scale) check(std::isfinite(v) && v != 0.0, "scaler: bad scale ", v);
#include "rnn/core/json_int.h"
    return s;
#include "rnn/core/json_int.h"
  } catch (const nlohmann::json::exception& e) {
#include "rnn/core/json_int.h"
    fail("scaler: ", e.what());  // a missing or mistyped field: rnn::Error, one line
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
nlohmann::json TransformSpec::to_json() const {
#include "rnn/core/json_int.h"
  return {{"log", log}, {"diff_lag", diff_lag}, {"scale", to_string(scale)}};
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
TransformSpec TransformSpec::from_json(const nlohmann::json& j) {
#include "rnn/core/json_int.h"
  try {
#include "rnn/core/json_int.h"
    TransformSpec t;
#include "rnn/core/json_int.h"
    t.log = j.at("log").get<bool>();
#include "rnn/core/json_int.h"
    t.diff_lag = j.at("diff_lag").get<JsonInt<int64_t>>().value;
#include "rnn/core/json_int.h"
    t.scale = scale_kind_from_string(j.at("scale").get<std::string>());
#include "rnn/core/json_int.h"
    check(t.diff_lag >= 0, "transforms: diff_lag must be >= 0, got ", t.diff_lag);
#include "rnn/core/json_int.h"
    return t;
#include "rnn/core/json_int.h"
  } catch (const nlohmann::json::exception& e) {
#include "rnn/core/json_int.h"
    fail("transforms: ", e.what());  // a missing or mistyped field: rnn::Error, one line
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Tensor<double> Pipeline::levels(const Tensor<double>& values,
#include "rnn/core/json_int.h"
                                const std::vector<std::string>& names) const {
#include "rnn/core/json_int.h"
  Tensor<double> out = values;
#include "rnn/core/json_int.h"
  if (!spec_.log) return out;
#include "rnn/core/json_int.h"
  const int64_t N = values.dim(0), F = values.dim(1);
#include "rnn/core/json_int.h"
  for (int64_t r = 0; r < N; ++r)
#include "rnn/core/json_int.h"
    for (int64_t f = 0; f < std::min(F, n_targets_); ++f) {
#include "rnn/core/json_int.h"
      const double v = values.at(r, f);
#include "rnn/core/json_int.h"
      check(v > 0.0, "--log needs positive values: column '", names[static_cast<size_t>(f)],
#include "rnn/core/json_int.h"
            "' row ", r + 1, " is ", v);
#include "rnn/core/json_int.h"
      out.at(r, f) = std::log(v);
#include "rnn/core/json_int.h"
    }
#include "rnn/core/json_int.h"
  return out;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Tensor<double> Pipeline::transform(const Tensor<double>& values,
#include "rnn/core/json_int.h"
                                   const std::vector<std::string>& names) const {
#include "rnn/core/json_int.h"
  const Tensor<double> lv = levels(values, names);
#include "rnn/core/json_int.h"
  const int64_t N = values.dim(0), F = values.dim(1), lag = spec_.diff_lag;
#include "rnn/core/json_int.h"
  check(static_cast<int64_t>(scaler_.offset.size()) == F, "pipeline: the scaler has ",
#include "rnn/core/json_int.h"
        scaler_.offset.size(), " features, the series ", F);
#include "rnn/core/json_int.h"
  Tensor<double> z({N, F});
#include "rnn/core/json_int.h"
  for (int64_t r = 0; r < N; ++r)
#include "rnn/core/json_int.h"
    for (int64_t f = 0; f < F; ++f) {
#include "rnn/core/json_int.h"
      double v = lv.at(r, f);
#include "rnn/core/json_int.h"
      if (f < n_targets_ && lag > 0) v = r >= lag ? v - lv.at(r - lag, f) : std::nan("");
#include "rnn/core/json_int.h"
      z.at(r, f) = std::isnan(v) ? v : scaler_.apply(f, v);
#include "rnn/core/json_int.h"
    }
#include "rnn/core/json_int.h"
  return z;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Pipeline Pipeline::fit(const Series& series, const TransformSpec& spec, int64_t train_end) {
#include "rnn/core/json_int.h"
  check(spec.diff_lag >= 0, "--diff must be >= 0, got ", spec.diff_lag);
#include "rnn/core/json_int.h"
  check(spec.diff_lag < train_end, "--diff ", spec.diff_lag, " is not shorter than the ",
#include "rnn/core/json_int.h"
        train_end, " training rows");
#include "rnn/core/json_int.h"
  Pipeline p(spec, Scaler{}, series.n_targets);
#include "rnn/core/json_int.h"
  p.scaler_.kind = ScaleKind::None;
#include "rnn/core/json_int.h"
  p.scaler_.offset.assign(static_cast<size_t>(series.features()), 0.0);
#include "rnn/core/json_int.h"
  p.scaler_.scale.assign(static_cast<size_t>(series.features()), 1.0);
#include "rnn/core/json_int.h"
  // Unscaled transformed values, then the scaler fitted on the training rows only.
#include "rnn/core/json_int.h"
  const Tensor<double> raw = p.transform(series.values, series.names);
#include "rnn/core/json_int.h"
  p.scaler_ = Scaler::fit(raw, 0, train_end, spec.scale, series.names);
#include "rnn/core/json_int.h"
  return p;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Tensor<double> Pipeline::invert(const Tensor<double>& z_hat, const Tensor<double>& values,
#include "rnn/core/json_int.h"
                                int64_t origin) const {
#include "rnn/core/json_int.h"
  check(z_hat.rank() == 2 && z_hat.dim(1) == n_targets_, "Pipeline::invert: z_hat must be [K, ",
#include "rnn/core/json_int.h"
        n_targets_, "], got ", shape_str(z_hat.shape()));
#include "rnn/core/json_int.h"
  const int64_t K = z_hat.dim(0), lag = spec_.diff_lag;
#include "rnn/core/json_int.h"
  check(origin >= std::max<int64_t>(lag, 1) && origin <= values.dim(0), "Pipeline::invert: origin ",
#include "rnn/core/json_int.h"
        origin, " outside [", std::max<int64_t>(lag, 1), ", ", values.dim(0), "]");
#include "rnn/core/json_int.h"
  Tensor<double> out({K, n_targets_});
#include "rnn/core/json_int.h"
  for (int64_t f = 0; f < n_targets_; ++f) {
#include "rnn/core/json_int.h"
    // Levels of the observed rows the differences refer to, then the forecast levels.
#include "rnn/core/json_int.h"
    std::vector<double> level(static_cast<size_t>(lag + K));
#include "rnn/core/json_int.h"
    for (int64_t i = 0; i < lag; ++i) {
#include "rnn/core/json_int.h"
      const double v = values.at(origin - lag + i, f);
#include "rnn/core/json_int.h"
      level[static_cast<size_t>(i)] = spec_.log ? std::log(v) : v;
#include "rnn/core/json_int.h"
    }
#include "rnn/core/json_int.h"
    for (int64_t k = 0; k < K; ++k) {
#include "rnn/core/json_int.h"
      const double d = scaler_.invert(f, z_hat.at(k, f));
#include "rnn/core/json_int.h"
      const double l = lag > 0 ? d + level[static_cast<size_t>(k)] : d;
#include "rnn/core/json_int.h"
      level[static_cast<size_t>(lag + k)] = l;
#include "rnn/core/json_int.h"
      out.at(k, f) = spec_.log ? std::exp(l) : l;
#include "rnn/core/json_int.h"
    }
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  return out;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
nlohmann::json Pipeline::to_json() const {
#include "rnn/core/json_int.h"
  return {{"transforms", spec_.to_json()}, {"scaler", scaler_.to_json()}, {"n_targets", n_targets_}};
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Pipeline Pipeline::from_json(const nlohmann::json& j) {
#include "rnn/core/json_int.h"
  try {
#include "rnn/core/json_int.h"
    return Pipeline(TransformSpec::from_json(j.at("transforms")), Scaler::from_json(j.at("scaler")),
#include "rnn/core/json_int.h"
                    j.at("n_targets").get<JsonInt<int64_t>>().value);
#include "rnn/core/json_int.h"
  } catch (const nlohmann::json::exception& e) {
#include "rnn/core/json_int.h"
    fail("pipeline: ", e.what());  // a missing or mistyped field: rnn::Error, one line
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
std::vector<int64_t> window_origins(int64_t first_valid, int64_t lookback, int64_t horizon,
#include "rnn/core/json_int.h"
                                    int64_t target_begin, int64_t target_end) {
#include "rnn/core/json_int.h"
  std::vector<int64_t> out;
#include "rnn/core/json_int.h"
  for (int64_t o = std::max(first_valid + lookback, target_begin); o + horizon <= target_end; ++o)
#include "rnn/core/json_int.h"
    out.push_back(o);
#include "rnn/core/json_int.h"
  return out;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Tensor<float> gather_inputs(const Tensor<double>& z, const std::vector<int64_t>& origins,
#include "rnn/core/json_int.h"
                            int64_t lookback) {
#include "rnn/core/json_int.h"
  const int64_t B = static_cast<int64_t>(origins.size()), F = z.dim(1);
#include "rnn/core/json_int.h"
  Tensor<float> x({lookback, B, F});
#include "rnn/core/json_int.h"
  for (int64_t b = 0; b < B; ++b) {
#include "rnn/core/json_int.h"
    const int64_t o = origins[static_cast<size_t>(b)];
#include "rnn/core/json_int.h"
    check(o - lookback >= 0 && o <= z.dim(0), "gather_inputs: origin ", o, " with lookback ",
#include "rnn/core/json_int.h"
          lookback, " outside the series of ", z.dim(0), " rows");
#include "rnn/core/json_int.h"
    for (int64_t t = 0; t < lookback; ++t)
#include "rnn/core/json_int.h"
      for (int64_t f = 0; f < F; ++f) {
#include "rnn/core/json_int.h"
        const double v = z.at(o - lookback + t, f);
#include "rnn/core/json_int.h"
        check(!std::isnan(v), "gather_inputs: row ", o - lookback + t, " is undefined (before the differencing lag)");
#include "rnn/core/json_int.h"
        x.at(t, b, f) = static_cast<float>(v);
#include "rnn/core/json_int.h"
      }
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  return x;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
Tensor<float> gather_targets(const Tensor<double>& z, const std::vector<int64_t>& origins,
#include "rnn/core/json_int.h"
                             int64_t horizon, int64_t n_targets) {
#include "rnn/core/json_int.h"
  const int64_t B = static_cast<int64_t>(origins.size());
#include "rnn/core/json_int.h"
  Tensor<float> y({horizon, B, n_targets});
#include "rnn/core/json_int.h"
  for (int64_t b = 0; b < B; ++b) {
#include "rnn/core/json_int.h"
    const int64_t o = origins[static_cast<size_t>(b)];
#include "rnn/core/json_int.h"
    check(o >= 0 && o + horizon <= z.dim(0), "gather_targets: origin ", o, " with horizon ",
#include "rnn/core/json_int.h"
          horizon, " outside the series of ", z.dim(0), " rows");
#include "rnn/core/json_int.h"
    for (int64_t k = 0; k < horizon; ++k)
#include "rnn/core/json_int.h"
      for (int64_t f = 0; f < n_targets; ++f) y.at(k, b, f) = static_cast<float>(z.at(o + k, f));
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  return y;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
}  // namespace rnn::forecast
