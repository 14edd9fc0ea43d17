// Forecasting building blocks: CSV reading and missing values, the chronological split
// (no future value reaches training), scaling and transforms with their exact inverse,
// windowing edges, each metric and loss against hand-computed values, and the baselines.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/forecast/baselines.h"
#include "rnn/forecast/data.h"
#include "rnn/forecast/evaluate.h"
#include "rnn/forecast/metrics.h"
#include "rnn/forecast/prepare.h"
#include "rnn/forecast/task.h"

namespace rnn::forecast {
namespace {

const std::string kFixtures = std::string(RNN_FIXTURE_DIR) + "/forecast/";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

SeriesSpec spec_of(std::vector<std::string> targets, std::vector<std::string> covariates = {},
                   std::string time = "", MissingPolicy missing = MissingPolicy::Error) {
  SeriesSpec spec;
  spec.targets = std::move(targets);
  spec.covariates = std::move(covariates);
  spec.time_column = std::move(time);
  spec.missing = missing;
  return spec;
}

Series series_of(const std::vector<double>& v, const std::string& name = "y") {
  Series s;
  s.source = "test";
  s.names = {name};
  s.n_targets = 1;
  s.values = Tensor<double>({static_cast<int64_t>(v.size()), 1}, v);
  for (size_t i = 0; i < v.size(); ++i) s.time.push_back(std::to_string(i));
  return s;
}

// ---- CSV ----------------------------------------------------------------------------------

TEST(ForecastCsv, QuotesCrlfBomAndBlankLines) {
  const CsvTable t = parse_csv("\xEF\xBB\xBF\"a\",b\r\n1,\"x,\"\"y\"\"\"\r\n\r\n2, 3 \n", "mem");
  ASSERT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][1], "x,\"y\"");
  EXPECT_EQ(t.rows[1][1], "3");
  EXPECT_EQ(t.line_numbers[1], 4);
  EXPECT_NE(error_of([&] { t.column("c"); }).find("no column 'c' (columns: a, b)"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_csv("a,b\n1\n", "f.csv"); }).find("f.csv:2: 1 fields"),
            std::string::npos);
}

TEST(ForecastCsv, ColumnsByNameTargetsFirstThenCovariates) {
  const Series s = load_series(read_csv(kFixtures + "seasonal.csv"),
                               spec_of({"value"}, {"temp"}, "month"));
  EXPECT_EQ(s.rows(), 96);
  EXPECT_EQ(s.names, (std::vector<std::string>{"value", "temp"}));
  EXPECT_EQ(s.time[1], "m2");
  EXPECT_DOUBLE_EQ(s.at(1, 0), 105.5);
  EXPECT_DOUBLE_EQ(s.at(0, 1), 25.0);
}

TEST(ForecastCsv, MissingValuePolicies) {
  const CsvTable t = read_csv(kFixtures + "missing.csv");  // rows 5 and 9 (m5, m9) missing
  const std::string err = error_of([&] { load_series(t, spec_of({"value"})); });
  EXPECT_NE(err.find("missing.csv:6: column 'value': missing value"), std::string::npos) << err;

  const Series dropped = load_series(t, spec_of({"value"}, {}, "", MissingPolicy::Drop));
  EXPECT_EQ(dropped.rows(), 94);
  EXPECT_EQ(dropped.rows_dropped, 2);
  EXPECT_EQ(dropped.missing_found, 2);

  const Series full = load_series(read_csv(kFixtures + "seasonal.csv"), spec_of({"value"}));
  const Series ffill = load_series(t, spec_of({"value"}, {}, "", MissingPolicy::ForwardFill));
  EXPECT_DOUBLE_EQ(ffill.at(4, 0), full.at(3, 0));
  const Series interp = load_series(t, spec_of({"value"}, {}, "", MissingPolicy::Interpolate));
  EXPECT_DOUBLE_EQ(interp.at(4, 0), 0.5 * (full.at(3, 0) + full.at(5, 0)));
  EXPECT_DOUBLE_EQ(interp.at(8, 0), 0.5 * (full.at(7, 0) + full.at(9, 0)));
  EXPECT_DOUBLE_EQ(interp.at(10, 0), full.at(10, 0));
}

TEST(ForecastCsv, LeadingAndTrailingGapsTakeTheNearestValue) {
  const CsvTable t = parse_csv("y\nNA\n2\n\n", "mem");  // blank line skipped: rows NA, 2
  const CsvTable t2 = parse_csv("y\nNA\n2\n4\nnan\n", "mem");
  const Series s = load_series(t2, spec_of({"y"}, {}, "", MissingPolicy::Interpolate));
  EXPECT_EQ(s.values.values(), (std::vector<double>{2, 2, 4, 4}));
  const Series f = load_series(t2, spec_of({"y"}, {}, "", MissingPolicy::ForwardFill));
  EXPECT_EQ(f.values.values(), (std::vector<double>{2, 2, 4, 4}));
  EXPECT_EQ(load_series(t, spec_of({"y"}, {}, "", MissingPolicy::ForwardFill)).rows(), 2);
}

TEST(ForecastCsv, NonNumericAndDuplicateColumns) {
  const CsvTable t = read_csv(kFixtures + "non_numeric.csv");
  EXPECT_NE(error_of([&] { load_series(t, spec_of({"value"})); })
                .find("non_numeric.csv:8: column 'value': 'abc' is not a number"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_series(t, spec_of({"value"}, {"value"})); })
                .find("chosen twice"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_series(t, spec_of({"nope"})); }).find("no column 'nope'"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_series(parse_csv("y\ninf\n", "m"), spec_of({"y"})); })
                .find("not finite"),
            std::string::npos);
}

// ---- split, scaling, transforms -------------------------------------------------------------

TEST(ForecastPrepare, ChronologicalSplitSizes) {
  const Split s = chronological_split(144, 0.1, 0.1);
  EXPECT_EQ(s.val_end, 144 - 14);
  EXPECT_EQ(s.train_end, 144 - 28);
  const Split t = chronological_split(10, 0.0, 0.05);  // a non-zero fraction keeps >= 1 row
  EXPECT_EQ(t.val_end, 9);
  EXPECT_EQ(t.train_end, 9);
  EXPECT_THROW(chronological_split(3, 0.4, 0.4), Error);
  EXPECT_THROW(chronological_split(100, 0.6, 0.5), Error);
}

TEST(ForecastPrepare, ScalersFitOnTheGivenRowsAndInvertExactly) {
  const Tensor<double> x({5, 2}, {1, 10, 2, 20, 3, 30, 100, -5, 200, 7});
  const Scaler st = Scaler::fit(x, 0, 3, ScaleKind::Standard, {"a", "b"});
  EXPECT_DOUBLE_EQ(st.offset[0], 2.0);
  EXPECT_DOUBLE_EQ(st.scale[0], std::sqrt(2.0 / 3.0));  // population std of 1, 2, 3
  EXPECT_DOUBLE_EQ(st.offset[1], 20.0);
  const Scaler mm = Scaler::fit(x, 0, 3, ScaleKind::MinMax, {"a", "b"});
  EXPECT_DOUBLE_EQ(mm.apply(0, 1.0), 0.0);
  EXPECT_DOUBLE_EQ(mm.apply(0, 3.0), 1.0);
  EXPECT_DOUBLE_EQ(mm.apply(1, 30.0), 1.0);
  for (const Scaler* s : {&st, &mm})
    for (double v : {-3.7, 0.0, 12.25, 1e4}) EXPECT_NEAR(s->invert(1, s->apply(1, v)), v, 1e-12 * std::max(1.0, std::abs(v)));
  const Scaler back = Scaler::from_json(st.to_json());
  EXPECT_EQ(back.offset, st.offset);
  EXPECT_EQ(back.scale, st.scale);
}

TEST(ForecastPrepare, ConstantColumnIsRefused) {
  const Tensor<double> x({4, 1}, {5, 5, 5, 9});
  const std::string err = error_of([&] { Scaler::fit(x, 0, 3, ScaleKind::Standard, {"flat"}); });
  EXPECT_NE(err.find("column 'flat' is constant on the training part"), std::string::npos) << err;
  EXPECT_THROW(Scaler::fit(x, 0, 3, ScaleKind::MinMax, {"flat"}), Error);
  EXPECT_NO_THROW(Scaler::fit(x, 0, 3, ScaleKind::None, {"flat"}));
}

TEST(ForecastPrepare, LogDiffScaleInvertsExactly) {
  std::vector<double> v;
  for (int i = 0; i < 60; ++i) v.push_back(50.0 + i + 8.0 * std::sin(i * 0.5236) + (i % 5));
  const Series s = series_of(v);
  for (const TransformSpec spec : {TransformSpec{false, 0, ScaleKind::Standard},
                                   TransformSpec{true, 1, ScaleKind::MinMax},
                                   TransformSpec{true, 12, ScaleKind::Standard},
                                   TransformSpec{false, 3, ScaleKind::None}}) {
    const Pipeline p = Pipeline::fit(s, spec, 40);
    const Tensor<double> z = p.transform(s.values, s.names);
    for (int64_t r = 0; r < spec.diff_lag; ++r) EXPECT_TRUE(std::isnan(z.at(r, 0)));
    // The true future, transformed and inverted from each origin, is the series itself,
    // even 20 steps out (longer than the seasonal lag: forecasts build on forecasts).
    for (int64_t origin : {std::max<int64_t>(spec.diff_lag, 1), int64_t{25}, int64_t{40}}) {
      Tensor<double> zh({20, 1});
      for (int64_t k = 0; k < 20; ++k) zh.at(k, 0) = z.at(origin + k, 0);
      const Tensor<double> back = p.invert(zh, s.values, origin);
      for (int64_t k = 0; k < 20; ++k)
        EXPECT_NEAR(back.at(k, 0), v[static_cast<size_t>(origin + k)], 1e-9)
            << "log " << spec.log << " diff " << spec.diff_lag << " origin " << origin << " k " << k;
    }
    const Pipeline q = Pipeline::from_json(p.to_json());
    EXPECT_EQ(q.transform(s.values, s.names).values().back(), z.values().back());
  }
  EXPECT_THROW(Pipeline::fit(series_of({1, 2, -3, 4, 5, 6}), {true, 0, ScaleKind::None}, 4), Error);
}

TEST(ForecastPrepare, SplitNeverLeaksFutureValuesIntoTraining) {
  std::vector<double> v;
  for (int i = 0; i < 100; ++i) v.push_back(10.0 + std::sin(i * 0.3) + 0.01 * i);
  const TransformSpec spec{true, 1, ScaleKind::Standard};
  const ForecastData a = ForecastData::prepare(series_of(v), 0.15, 0.15, spec, 8, 4);
  std::vector<double> w = v;
  for (int64_t r = a.split.train_end; r < 100; ++r) w[static_cast<size_t>(r)] *= 50.0;  // change the future
  const ForecastData b = ForecastData::prepare(series_of(w), 0.15, 0.15, spec, 8, 4);
  EXPECT_EQ(a.pipeline.scaler().offset, b.pipeline.scaler().offset);
  EXPECT_EQ(a.pipeline.scaler().scale, b.pipeline.scaler().scale);
  const auto origins = a.train_origins(8, 4);
  ASSERT_FALSE(origins.empty());
  EXPECT_EQ(origins.back() + 4, a.split.train_end);  // the last target is the last training row
  EXPECT_EQ(gather_inputs(a.z, origins, 8).values(), gather_inputs(b.z, origins, 8).values());
  EXPECT_EQ(gather_targets(a.z, origins, 4, 1).values(), gather_targets(b.z, origins, 4, 1).values());
  for (int64_t o : a.val_origins(8, 4)) {
    EXPECT_GE(o, a.split.train_end);
    EXPECT_LE(o + 4, a.split.val_end);
  }
}

TEST(ForecastPrepare, WindowEdges) {
  // first_valid 2 (lag), L 3, K 2, targets in [0, 10): origins 5..8.
  EXPECT_EQ(window_origins(2, 3, 2, 0, 10), (std::vector<int64_t>{5, 6, 7, 8}));
  EXPECT_EQ(window_origins(0, 3, 2, 7, 10), (std::vector<int64_t>{7, 8}));
  EXPECT_TRUE(window_origins(0, 3, 2, 0, 4).empty());  // one window needs 5 rows
  EXPECT_EQ(window_origins(0, 3, 2, 0, 5), (std::vector<int64_t>{3}));
  Tensor<double> z({6, 2});
  for (int64_t i = 0; i < 12; ++i) z[i] = static_cast<double>(i);
  const Tensor<float> x = gather_inputs(z, {3, 4}, 3);
  EXPECT_EQ(x.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(x.at(0, 0, 0), 0.0f);  // row 0 feature 0
  EXPECT_EQ(x.at(2, 1, 1), 7.0f);  // origin 4: last input row 3, feature 1
  const Tensor<float> y = gather_targets(z, {3, 4}, 2, 1);
  EXPECT_EQ(y.at(0, 0, 0), 6.0f);  // row 3
  EXPECT_EQ(y.at(1, 1, 0), 10.0f); // row 5
  EXPECT_THROW(gather_targets(z, {5}, 2, 1), Error);
  EXPECT_THROW(gather_inputs(z, {2}, 3), Error);
}

TEST(ForecastPrepare, TooFewRowsNamesTheNeed) {
  std::vector<double> v(30, 0.0);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 7);
  const std::string err = error_of([&] {
    ForecastData::prepare(series_of(v), 0.1, 0.1, {false, 1, ScaleKind::Standard}, 20, 6);
  });
  EXPECT_NE(err.find("too few rows"), std::string::npos) << err;
  EXPECT_NE(err.find("lookback 20 + horizon 6 + differencing lag 1"), std::string::npos) << err;
}

// ---- metrics and losses -------------------------------------------------------------------

TEST(ForecastMetrics, HandComputedValues) {
  const std::vector<double> a{1, 2, 4, 0}, f{2, 2, 1, 0};
  const Metrics m = compute_metrics(a, f, 2.0);
  // errors 1, 0, -3, 0
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(10.0 / 4.0));
  EXPECT_DOUBLE_EQ(m.mae, 1.0);
  EXPECT_DOUBLE_EQ(m.smape, 100.0 / 4.0 * (2.0 / 3.0 + 0.0 + 6.0 / 5.0 + 0.0));
  EXPECT_DOUBLE_EQ(m.mase, 0.5);
  EXPECT_EQ(m.count, 4);
  // seasonal naive in-sample: |3-1| + |5-2| + |4-3| over 3 (season 2)
  const std::vector<double> y{1, 2, 3, 5, 4};
  EXPECT_DOUBLE_EQ(mase_scale(y, 2), 2.0);
  EXPECT_DOUBLE_EQ(mase_scale(y, 1), (1.0 + 1.0 + 2.0 + 1.0) / 4.0);
  EXPECT_THROW(mase_scale(y, 5), Error);
  EXPECT_THROW(mase_scale(std::vector<double>{3, 3, 3}, 1), Error);
  EXPECT_THROW(compute_metrics(a, std::vector<double>{1.0}, 1.0), Error);
}

TEST(ForecastMetrics, LossesHandComputed) {
  const Tensor<double> p({4}, {0.5, -2.0, 3.0, 1.0}), y({4}, {0.0, 0.0, 0.0, 1.0});
  // d = 0.5, -2, 3, 0
  const auto mse = regression_loss(LossKind::MSE, p, y);
  EXPECT_DOUBLE_EQ(mse.loss, (0.25 + 4 + 9 + 0) / 4);
  EXPECT_DOUBLE_EQ(mse.grad[1], 2 * -2.0 / 4);
  const auto mae = regression_loss(LossKind::MAE, p, y);
  EXPECT_DOUBLE_EQ(mae.loss, 5.5 / 4);
  EXPECT_EQ(mae.grad.values(), (std::vector<double>{0.25, -0.25, 0.25, 0.0}));
  const auto hub = regression_loss(LossKind::Huber, p, y, 1.0);
  EXPECT_DOUBLE_EQ(hub.loss, (0.125 + 1.5 + 2.5 + 0) / 4);
  EXPECT_EQ(hub.grad.values(), (std::vector<double>{0.125, -0.25, 0.25, 0.0}));
  EXPECT_THROW(regression_loss(LossKind::MSE, p, Tensor<double>({3})), Error);
  EXPECT_THROW(regression_loss(LossKind::Huber, p, y, 0.0), Error);
}

// ---- baselines ----------------------------------------------------------------------------

TEST(ForecastBaselines, NaiveAndSeasonalNaive) {
  Tensor<double> v({10, 1});
  for (int64_t i = 0; i < 10; ++i) v[i] = static_cast<double>(i * i);
  const Tensor<double> n = naive_forecast(v, 1, 6, 3);
  EXPECT_EQ(n.values(), (std::vector<double>{25, 25, 25}));
  // season 4, origin 6 (rows 0..5 seen): h=1..4 -> rows 2,3,4,5; h=5 -> row 2 again
  const Tensor<double> s = seasonal_naive_forecast(v, 1, 6, 5, 4);
  EXPECT_EQ(s.values(), (std::vector<double>{4, 9, 16, 25, 4}));
  EXPECT_THROW(seasonal_naive_forecast(v, 1, 3, 2, 4), Error);
  EXPECT_THROW(naive_forecast(v, 1, 0, 2), Error);
}

TEST(ForecastBaselines, LeastSquaresRecoversALinearProcess) {
  // y[t] = 0.6 y[t-1] - 0.3 y[t-2] + 0.5 + driven by a known input sequence
  std::vector<double> y{1.0, -0.5};
  Rng rng(3);
  for (int t = 2; t < 200; ++t) y.push_back(0.6 * y[t - 1] - 0.3 * y[t - 2] + 0.5 + rng.uniform(-1, 1));
  Tensor<double> z({200, 1}, y);
  std::vector<int64_t> origins;
  for (int64_t o = 2; o < 200; ++o) origins.push_back(o);
  const LinearAR ar = LinearAR::fit(gather_inputs(z, origins, 2), gather_targets(z, origins, 1, 1), 0.0);
  // weights: [(t0, t1, intercept), 1]: window rows oldest first
  ASSERT_EQ(ar.weights().size(), 3u);
  EXPECT_NEAR(ar.weights()[0], -0.3, 0.05);
  EXPECT_NEAR(ar.weights()[1], 0.6, 0.05);
  EXPECT_NEAR(ar.weights()[2], 0.5, 0.1);
  const std::vector<double> x = solve_spd({4, 2, 2, 3}, {2, 1}, 2, 1, 0.0);
  EXPECT_NEAR(4 * x[0] + 2 * x[1], 2.0, 1e-12);
  EXPECT_NEAR(2 * x[0] + 3 * x[1], 1.0, 1e-12);
  EXPECT_THROW(solve_spd({1, 2, 2, 4}, {1, 1}, 2, 1, 0.0), Error);
}

TEST(ForecastEvaluate, WalkForwardScoresEveryTestRowAtEveryStep) {
  std::vector<double> v;
  for (int i = 0; i < 80; ++i) v.push_back(10.0 + (i % 4) + 0.1 * i);
  const ForecastData d = ForecastData::prepare(series_of(v), 0.1, 0.1, {false, 0, ScaleKind::Standard}, 8, 3);
  const auto origins = walk_forward_origins(d, 8, 3);
  EXPECT_EQ(origins.front(), d.split.val_end - 2);
  EXPECT_EQ(origins.back(), 79);
  const MethodScores s = score_forecasts("naive", d, origins, naive_origins(d, origins, 3), 4);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(s.by_step[static_cast<size_t>(k)][0].count, 8);
  // seasonal naive of a series with period 4 and a trend of 0.1 per row: error 0.4 exactly
  const MethodScores sn =
      score_forecasts("snaive", d, origins, seasonal_naive_origins(d, origins, 3, 4), 4);
  EXPECT_NEAR(sn.mean_by_step[0].mae, 0.4, 1e-12);
  EXPECT_NEAR(sn.mean_by_step[0].mase, 1.0, 1e-12);  // its own in-sample error is also 0.4
  // An oracle forecaster in transformed units (the true future z) scores zero: the
  // inversion is exact. One chunk holds every origin, in order.
  const Tensor<double> oracle = forecast_origins(d, origins, 8, 3, [&](const Tensor<float>& x) {
    Tensor<float> out({3, x.dim(1), 1});
    for (int64_t b = 0; b < x.dim(1); ++b)
      for (int64_t k = 0; k < 3; ++k) {
        const int64_t row = origins[static_cast<size_t>(b)] + k;
        out.at(k, b, 0) = row < 80 ? static_cast<float>(d.z.at(row, 0)) : 0.0f;
      }
    return out;
  });
  const MethodScores o = score_forecasts("oracle", d, origins, oracle, 4);
  for (int k = 0; k < 3; ++k) EXPECT_LT(o.mean_by_step[static_cast<size_t>(k)].mae, 1e-4);
}

}  // namespace
}  // namespace rnn::forecast
