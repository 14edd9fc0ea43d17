// Preparing a series for a network: chronological split, transforms fitted on the training
// part only (log, differencing, scaling) with exact inversion, and windows of lookback L
// and horizon K.
//
// Letters: N rows, F features (targets first), Nt targets, L lookback, K horizon,
// B windows (batch).
//
// Row index o is a forecast "origin": a window at o reads rows [o-L, o) and its targets
// are rows [o, o+K). Every array stays aligned with the CSV's rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/tensor.h"
#include "rnn/forecast/data.h"

namespace rnn::forecast {

// Rows [0, train_end) train, [train_end, val_end) validation, [val_end, rows) test.
struct Split {
  int64_t rows = 0;
  int64_t train_end = 0;
  int64_t val_end = 0;
  nlohmann::json to_json() const;
};
// The last round(rows*test) rows are the test part, the round(rows*val) before them the
// validation part. Throws when a part would be empty (test or val > 0) or train < 2 rows.
Split chronological_split(int64_t rows, double val_fraction, double test_fraction);

enum class ScaleKind { None, Standard, MinMax };
ScaleKind scale_kind_from_string(const std::string& name);  // none|standard|minmax
std::string to_string(ScaleKind kind);

// z = (x - offset[f]) / scale[f] per feature; standard: mean and population std,
// minmax: min and (max - min), so the training part maps into [0, 1].
struct Scaler {
  ScaleKind kind = ScaleKind::None;
  std::vector<double> offset;  // [F]
  std::vector<double> scale;   // [F]

  // Fits on rows [begin, end) of x [N,F], skipping NaN (rows before the differencing
  // lag). Throws for a constant column ("column 'x' is constant on the training part ...").
  static Scaler fit(const Tensor<double>& x, int64_t begin, int64_t end, ScaleKind kind,
                    const std::vector<std::string>& names);
  double apply(int64_t feature, double x) const { return (x - offset[f(feature)]) / scale[f(feature)]; }
  double invert(int64_t feature, double z) const { return z * scale[f(feature)] + offset[f(feature)]; }

  nlohmann::json to_json() const;
  static Scaler from_json(const nlohmann::json& j);

 private:
  static size_t f(int64_t feature) { return static_cast<size_t>(feature); }
};

struct TransformSpec {
  bool log = false;        // natural log of the targets (all values must be > 0)
  int64_t diff_lag = 0;    // 0 off; 1 first differences; s seasonal differences (targets)
  ScaleKind scale = ScaleKind::Standard;
  nlohmann::json to_json() const;
  static TransformSpec from_json(const nlohmann::json& j);
};

// The chain values -> levels (log on targets) -> differences (targets) -> scaled, fitted
// on the training rows only, and its exact inverse for forecasts.
class Pipeline {
 public:
  Pipeline() = default;
  Pipeline(TransformSpec spec, Scaler scaler, int64_t n_targets)
      : spec_(std::move(spec)), scaler_(std::move(scaler)), n_targets_(n_targets) {}

  // Fits the scaler on rows [0, train_end) of the transformed series.
  static Pipeline fit(const Series& series, const TransformSpec& spec, int64_t train_end);

  const TransformSpec& spec() const { return spec_; }
  const Scaler& scaler() const { return scaler_; }
  int64_t n_targets() const { return n_targets_; }
  // First row with a defined transformed value (= diff_lag).
  int64_t first_valid() const { return spec_.diff_lag; }

  // values [N,F] -> levels [N,F]: log of the targets when spec.log, else a copy.
  Tensor<double> levels(const Tensor<double>& values, const std::vector<std::string>& names) const;
  // values [N,F] -> z [N,F]; rows < first_valid() are NaN.
  Tensor<double> transform(const Tensor<double>& values,
                           const std::vector<std::string>& names) const;
  // Forecast z_hat [K, Nt] for rows origin..origin+K-1 -> values [K, Nt], using only the
  // observed rows [0, origin) of `values` [N,F] (exact inverse of `transform`).
  Tensor<double> invert(const Tensor<double>& z_hat, const Tensor<double>& values,
                        int64_t origin) const;

  nlohmann::json to_json() const;
  static Pipeline from_json(const nlohmann::json& j);

 private:
  TransformSpec spec_;
  Scaler scaler_;
  int64_t n_targets_ = 0;
};

// Origins o whose window reads rows [o-L, o) with o-L >= first_valid and whose targets
// rows [o, o+K) lie inside [target_begin, target_end).
std::vector<int64_t> window_origins(int64_t first_valid, int64_t lookback, int64_t horizon,
                                    int64_t target_begin, int64_t target_end);

// z [N,F] -> inputs [L, B, F] (float) for the given origins.
Tensor<float> gather_inputs(const Tensor<double>& z, const std::vector<int64_t>& origins,
                            int64_t lookback);
// z [N,F] -> targets [K, B, Nt] (the first Nt features) for the given origins.
Tensor<float> gather_targets(const Tensor<double>& z, const std::vector<int64_t>& origins,
                             int64_t horizon, int64_t n_targets);

}  // namespace rnn::forecast
