// Quantile forecasts: the pinball loss and its gradient against hand-computed values, the
// level list's errors, the point (median) level, sorting crossed quantiles, interval
// coverage/width/pinball against a hand case and through walk-forward evaluation, and a
// quantile model saved and loaded (configuration, parameters, checkpoint) giving the same
// forecasts.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/forecast/evaluate.h"
#include "rnn/forecast/model.h"
#include "rnn/forecast/quantile.h"
#include "rnn/forecast/task.h"
#include "rnn/io/safetensors.h"
#include "rnn/train/checkpoint.h"

namespace rnn::forecast {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

Series series_of(const std::vector<double>& v) {
  Series s;
  s.source = "test";
  s.names = {"y"};
  s.n_targets = 1;
  s.values = Tensor<double>({static_cast<int64_t>(v.size()), 1}, v);
  for (size_t i = 0; i < v.size(); ++i) s.time.push_back(std::to_string(i));
  return s;
}

TEST(ForecastQuantile, PinballHandComputed) {
  // One step, one window, two targets, levels 0.1/0.5/0.9; layout [.., f*Q + q].
  const std::vector<double> levels{0.1, 0.5, 0.9};
  const Tensor<double> target({1, 1, 2}, {2.0, -1.0});
  const Tensor<double> pred({1, 1, 6}, {1.0, 2.0, 4.0, -3.0, -0.5, -1.0});
  // target 0: u = 1, 0, -2 -> 0.1, 0, 0.2; target 1: u = 2, -0.5, 0 -> 0.2, 0.25, 0
  const auto r = pinball_loss(pred, target, levels);
  EXPECT_NEAR(r.loss, 0.75 / 6.0, 1e-15);
  // d/dq: -tau (u > 0), 1 - tau (u < 0), 0.5 - tau (u = 0), over 6 values
  const std::vector<double> grad{-0.1, 0.0, 0.1, -0.1, 0.5, -0.4};
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(r.grad[i], grad[static_cast<size_t>(i)] / 6.0, 1e-15) << i;
  // At level 0.5 the pinball loss is half the absolute error.
  const Tensor<double> p1({2, 1, 1}, {3.0, -1.0}), y1({2, 1, 1}, {1.0, 0.5});
  EXPECT_NEAR(pinball_loss(p1, y1, {0.5}, false).loss, 0.5 * (2.0 + 1.5) / 2.0, 1e-15);
}

TEST(ForecastQuantile, PinballChecksShapesAndValues) {
  const Tensor<double> y({2, 1, 1}, {1.0, 2.0});
  EXPECT_NE(error_of([&] { pinball_loss(Tensor<double>({2, 1, 2}), y, {0.1, 0.5, 0.9}); })
                .find("must be [S, B, Nt*3]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pinball_loss(Tensor<double>({2, 1, 2}), y, {0.9, 0.1}); })
                .find("must be increasing"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pinball_loss(Tensor<double>({2, 1, 1}, {NAN, 0.0}), y, {0.5}); })
                .find("pinball: prediction"),
            std::string::npos);
}

TEST(ForecastQuantile, LevelListErrors) {
  EXPECT_EQ(parse_quantiles("0.1, 0.5,0.9"), (std::vector<double>{0.1, 0.5, 0.9}));
  EXPECT_EQ(parse_quantiles("0.3"), (std::vector<double>{0.3}));
  const std::pair<const char*, const char*> cases[] = {
      {"0.1,abc", "'abc' is not a number"},
      {"0.1,,0.9", "'' is not a number"},
      {"0.5x", "'0.5x' is not a number"},
      {"", "give at least one level"},
      {"0.1,1.5", "level 1.5 is outside (0, 1)"},
      {"0,0.5", "level 0 is outside (0, 1)"},
      {"0.5,1", "level 1 is outside (0, 1)"},
      {"nan", "outside (0, 1)"},
      {"0.9,0.1", "0.1 after 0.9: the levels must be increasing, no repeats"},
      {"0.5,0.5", "0.5 after 0.5"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string err = error_of([&] { parse_quantiles(text); });
    EXPECT_NE(err.find(expected), std::string::npos) << "'" << text << "': " << err;
  }
  // The model configuration refuses bad levels too (a hand-edited model file).
  ForecastModelConfig c;
  c.quantiles = {0.2, 0.1};
  EXPECT_NE(error_of([&] { c.validate(); }).find("must be increasing"), std::string::npos);
}

TEST(ForecastQuantile, PointLevelIsTheMedianOrNearest) {
  EXPECT_EQ(point_quantile_index({}), 0);
  EXPECT_EQ(point_quantile_index({0.1, 0.5, 0.9}), 1);
  EXPECT_EQ(point_quantile_index({0.05, 0.1, 0.5, 0.9, 0.95}), 2);
  EXPECT_EQ(point_quantile_index({0.1, 0.3, 0.8}), 1);
  EXPECT_EQ(point_quantile_index({0.25, 0.75}), 0);  // a tie takes the lower
  EXPECT_EQ(point_quantile_index({0.9}), 0);
  EXPECT_EQ(quantile_label(0.1), "q0.1");
  EXPECT_EQ(quantile_label(0.975), "q0.975");
}

TEST(ForecastQuantile, SortAndSelect) {
  // [S=1, B=2, Nt*Q = 2*2]: crossed pairs are put in order, per target and window.
  Tensor<float> p({1, 2, 4}, {3.f, 1.f, 0.f, 2.f, 5.f, 5.f, 9.f, -1.f});
  sort_quantiles(p, 2);
  EXPECT_EQ(std::vector<float>(p.values().begin(), p.values().end()),
            (std::vector<float>{1.f, 3.f, 0.f, 2.f, 5.f, 5.f, -1.f, 9.f}));
  const Tensor<float> hi = select_quantile(p, 2, 1);
  ASSERT_EQ(hi.shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(hi.at(0, 0, 1), 2.f);
  EXPECT_EQ(hi.at(0, 1, 1), 9.f);
}

TEST(ForecastQuantile, IntervalMetricsHandCase) {
  const std::vector<double> levels{0.1, 0.5, 0.9};
  const std::vector<double> actual{1.0, 5.0, 3.0, 10.0};
  // inside; above the upper end; a zero-width interval hit exactly; on the upper end
  const std::vector<double> q{0, 1, 2, 0, 2, 4, 3, 3, 3, 8, 9, 10};
  const IntervalMetrics m = compute_interval_metrics(actual, q, levels);
  EXPECT_EQ(m.count, 4);
  EXPECT_DOUBLE_EQ(m.coverage, 0.75);
  EXPECT_NEAR(m.nominal, 0.8, 1e-15);
  EXPECT_DOUBLE_EQ(m.width, 2.0);  // (2 + 4 + 0 + 2) / 4
  // rho: (0.1 + 0 + 0.1) + (0.5 + 1.5 + 0.9) + 0 + (0.2 + 0.5 + 0) = 3.8 over 12
  EXPECT_NEAR(m.pinball, 3.8 / 12.0, 1e-15);
  // A single level: no interval, the pinball loss only.
  const std::vector<double> medians{1, 2, 3, 10}, two{1, 2};
  const IntervalMetrics one = compute_interval_metrics(actual, medians, {0.5});
  EXPECT_EQ(one.coverage, 0.0);
  EXPECT_EQ(one.width, 0.0);
  EXPECT_NEAR(one.pinball, 0.5 * (0 + 3 + 0 + 0) / 4.0, 1e-15);
  EXPECT_THROW(compute_interval_metrics(actual, two, levels), Error);
}

TEST(ForecastQuantile, WalkForwardCoverageAndWidthInTheSeriesUnits) {
  std::vector<double> v;
  for (int i = 0; i < 80; ++i) v.push_back(10.0 + (i % 4) + 0.1 * i);
  const ForecastData d =
      ForecastData::prepare(series_of(v), 0.1, 0.1, {false, 0, ScaleKind::Standard}, 8, 3);
  const auto origins = walk_forward_origins(d, 8, 3);
  const std::vector<double> levels{0.1, 0.5, 0.9};
  // In scaled units: the true value z, with [z - 1, z + 1] at even origins (covers) and
  // [z - 1, z - 0.5] at odd ones (misses above). One chunk holds every origin, in order.
  const Tensor<double> f = forecast_origins_quantiles(d, origins, 8, 3, 3, [&](const Tensor<float>& x) {
    Tensor<float> out({3, x.dim(1), 3});
    for (int64_t b = 0; b < x.dim(1); ++b)
      for (int64_t k = 0; k < 3; ++k) {
        const int64_t row = origins[static_cast<size_t>(b)] + k;
        const float z = row < 80 ? static_cast<float>(d.z.at(row, 0)) : 0.0f;
        const bool even = b % 2 == 0;
        out.at(k, b, 0) = z - 1.0f;
        out.at(k, b, 1) = even ? z : z - 0.75f;
        out.at(k, b, 2) = even ? z + 1.0f : z - 0.5f;
      }
    return out;
  });
  const MethodScores s = score_quantile_forecasts("q", d, origins, f, levels, 1, 4);
  const double sd = d.pipeline.scaler().scale[0];
  for (int64_t k = 0; k < 3; ++k) {
    double n = 0, covered = 0, width = 0, pinball = 0;
    for (size_t b = 0; b < origins.size(); ++b) {
      const int64_t row = origins[b] + k;
      if (row < d.split.val_end || row >= 80) continue;
      const bool even = b % 2 == 0;
      n += 1;
      covered += even ? 1 : 0;
      width += even ? 2.0 * sd : 0.5 * sd;
      pinball += even ? 0.1 * sd + 0.1 * sd : 0.1 * sd + 0.5 * 0.75 * sd + 0.9 * 0.5 * sd;
    }
    const IntervalMetrics& m = s.mean_intervals_by_step[static_cast<size_t>(k)];
    EXPECT_EQ(m.count, 8);
    EXPECT_DOUBLE_EQ(m.coverage, covered / n) << "step " << k + 1;
    EXPECT_GT(m.coverage, 0.3);
    EXPECT_LT(m.coverage, 0.7);
    EXPECT_NEAR(m.width, width / n, 1e-4 * sd);
    EXPECT_NEAR(m.pinball, pinball / (3 * n), 1e-4 * sd);
    // The point metrics score the median level: exact at even origins, 0.75 sd off at odd.
    EXPECT_NEAR(s.mean_by_step[static_cast<size_t>(k)].mae, (n - covered) / n * 0.75 * sd, 1e-4 * sd);
  }
  const auto j = s.to_json({"y"});
  EXPECT_EQ(j["quantiles"].size(), 3u);
  EXPECT_NEAR(j["steps"][0]["nominal_coverage"].get<double>(), 0.8, 1e-12);
  EXPECT_TRUE(j["steps"][0].contains("interval_width"));
  EXPECT_NE(format_interval_table({s}, {1, 3}).find("0.1-0.9"), std::string::npos);
}

ForecastModelConfig quantile_config(ModelKind kind) {
  ForecastModelConfig c;
  c.kind = kind;
  c.cell = CellMode::GRU;
  c.input_size = 2;
  c.n_targets = 2;
  c.lookback = 6;
  c.horizon = 3;
  c.hidden_size = 5;
  c.channels = 3;
  c.kernel_size = 2;
  c.quantiles = {0.1, 0.5, 0.9};
  return c;
}

TEST(ForecastQuantile, SaveLoadRoundTripGivesTheSameForecasts) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("rnn_fq_roundtrip_" + std::to_string(::getpid()) + ".safetensors"))
                               .string();
  for (ModelKind kind : {ModelKind::Recursive, ModelKind::Direct, ModelKind::Seq2Seq, ModelKind::Cnn}) {
    const ForecastModelConfig c = quantile_config(kind);
    Rng rng(3);
    Parameters<float> store;
    ForecastModel model(c, store, rng);
    SafetensorsFile file;
    file.metadata["model"] = c.to_json().dump();
    for (const auto& info : store.infos()) file.put(info.name, store.get(info.name));
    write_safetensors(path, file);

    const SafetensorsFile back = read_safetensors(path);
    const ForecastModelConfig c2 =
        ForecastModelConfig::from_json(nlohmann::json::parse(back.metadata.at("model")));
    EXPECT_EQ(c2.quantiles, c.quantiles);
    Rng other(99);
    Parameters<float> store2;
    ForecastModel loaded(c2, store2, other);
    for (const auto& info : store2.infos()) store2.set(info.name, back.get<float>(info.name));

    Rng xr(5);
    Tensor<float> x({c.lookback, 4, c.input_size});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(xr.uniform(-1.0, 1.0));
    const Tensor<float> a = model.forecast_quantiles(x), b = loaded.forecast_quantiles(x);
    ASSERT_EQ(a.shape(), (Shape{3, 4, 6})) << to_string(kind);
    EXPECT_EQ(a.values(), b.values()) << to_string(kind);
    for (int64_t i = 0; i < a.numel(); i += 3)  // levels in order after sorting
      EXPECT_TRUE(a[i] <= a[i + 1] && a[i + 1] <= a[i + 2]) << to_string(kind) << " " << i;
    // The point forecast is the median level.
    const Tensor<float> p = loaded.forecast(x);
    ASSERT_EQ(p.shape(), (Shape{3, 4, 2}));
    EXPECT_EQ(p.at(2, 3, 1), a.at(2, 3, 1 * 3 + 1));
  }
  std::filesystem::remove(path);
  // A point model's JSON has no "quantiles" (its files stay as before).
  ForecastModelConfig point = quantile_config(ModelKind::Direct);
  point.quantiles.clear();
  EXPECT_FALSE(point.to_json().contains("quantiles"));
  EXPECT_TRUE(ForecastModelConfig::from_json(point.to_json()).quantiles.empty());
  // Loading validates the levels.
  nlohmann::json bad = quantile_config(ModelKind::Direct).to_json();
  bad["quantiles"] = {0.5, 1.5};
  EXPECT_NE(error_of([&] { ForecastModelConfig::from_json(bad); }).find("level 1.5 is outside"),
            std::string::npos);
}

TEST(ForecastQuantile, CheckpointRecordsTheLevels) {
  std::vector<double> v;
  for (int i = 0; i < 120; ++i) v.push_back(std::sin(0.5 * i) + 0.01 * i);
  const ForecastData d =
      ForecastData::prepare(series_of(v), 0.15, 0.15, {false, 0, ScaleKind::Standard}, 8, 3);
  ForecastModelConfig c = quantile_config(ModelKind::Direct);
  c.input_size = c.n_targets = 1;
  c.lookback = 8;
  ForecastTask task(d, c, {}, 1);
  Rng rng(2);
  EXPECT_TRUE(std::isfinite(task.train_step(rng).loss));
  EXPECT_TRUE(std::isfinite(task.validate().loss));
  Checkpoint ck;
  task.save_state(ck);
  EXPECT_EQ(ck.meta["task"]["model"]["quantiles"].size(), 3u);
  ForecastTask same(d, c, {}, 1);
  EXPECT_NO_THROW(same.load_state(ck));
  c.quantiles = {0.05, 0.5, 0.95};
  ForecastTask other(d, c, {}, 1);
  EXPECT_NE(error_of([&] { other.load_state(ck); }).find("differs from this run's"),
            std::string::npos);
}

}  // namespace
}  // namespace rnn::forecast
