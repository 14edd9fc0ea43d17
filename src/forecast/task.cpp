#include "rnn/forecast/task.h"

#include <cmath>

#include "rnn/core/json_int.h"
#include "rnn/forecast/quantile.h"
#include "rnn/train/checkpoint.h"

namespace rnn::forecast {

ForecastData ForecastData::prepare(Series series, double val_fraction, double test_fraction,
                                   const TransformSpec& transforms, int64_t lookback,
                                   int64_t horizon) {
  check(lookback >= 1 && horizon >= 1, "lookback (", lookback, ") and horizon (", horizon,
        ") must be >= 1");
  const Split split = chronological_split(series.rows(), val_fraction, test_fraction);
  const int64_t need = transforms.diff_lag + lookback + horizon;
  check(split.train_end >= need, "too few rows: ", series.source, " has ", series.rows(),
        " rows, the training part ", split.train_end, ", but one window needs ", need,
        " (lookback ", lookback, " + horizon ", horizon,
        (transforms.diff_lag > 0 ? " + differencing lag " + std::to_string(transforms.diff_lag) : ""),
        ")");
  Pipeline pipeline = Pipeline::fit(series, transforms, split.train_end);
  return with_pipeline(std::move(series), split, pipeline);
}

ForecastData ForecastData::with_pipeline(Series series, const Split& split,
                                         const Pipeline& pipeline) {
  ForecastData d;
  d.split = split;
  d.pipeline = pipeline;
  d.z = pipeline.transform(series.values, series.names);
  d.series = std::move(series);
  return d;
}

std::vector<int64_t> ForecastData::train_origins(int64_t lookback, int64_t steps) const {
  return window_origins(pipeline.first_valid(), lookback, steps, 0, split.train_end);
}

std::vector<int64_t> ForecastData::val_origins(int64_t lookback, int64_t steps) const {
  std::vector<int64_t> v =
      window_origins(pipeline.first_valid(), lookback, steps, split.train_end, split.val_end);
  return v;
}

ForecastTask::ForecastTask(const ForecastData& data, const ForecastModelConfig& config,
                           ForecastTaskOptions options, uint64_t init_seed)
    : data_(data), config_(config), options_(options) {
  check(options_.batch_size >= 1, "batch size must be >= 1, got ", options_.batch_size);
  Rng init(init_seed);
  model_ = std::make_unique<ForecastModel>(config_, params_, init);
  const int64_t steps = config_.train_steps();
  train_origins_ = data.train_origins(config_.lookback, steps);
  check(!train_origins_.empty(), "too few rows: no training window of lookback ", config_.lookback,
        " + ", steps, " in the ", data.split.train_end, " training rows");
  val_origins_ = data.val_origins(config_.lookback, config_.horizon);
  check(!val_origins_.empty(), "too few rows: the validation part (", data.split.val_end - data.split.train_end,
        " rows) is shorter than the horizon ", config_.horizon, " (raise --val)");
  val_x_ = gather_inputs(data.z, val_origins_, config_.lookback);
  val_y_ = gather_targets(data.z, val_origins_, config_.horizon, config_.n_targets);
}

StepResult ForecastTask::train_step(Rng& rng) {
  std::vector<int64_t> batch(static_cast<size_t>(options_.batch_size));
  for (auto& o : batch) o = train_origins_[rng.below(train_origins_.size())];
  const Tensor<float> x = gather_inputs(data_.z, batch, config_.lookback);
  const bool teacher = config_.kind == ModelKind::Seq2Seq;
  const Tensor<float> y =
      gather_targets(data_.z, batch, config_.train_steps(), config_.n_targets);
  ForecastModel::CachePtr cache;
  const Tensor<float> pred = model_->forward(x, teacher ? y : Tensor<float>{}, rng, cache);
  // Quantile models train every level with the pinball loss; --loss is for point models.
  const LossResult<float> loss = config_.quantiles.empty()
                                     ? regression_loss(options_.loss, pred, y, options_.huber_delta)
                                     : pinball_loss(pred, y, config_.quantiles);
  model_->backward(*cache, loss.grad);
  samples_seen_ += options_.batch_size;
  return {loss.loss, options_.batch_size};
}

EvalResult ForecastTask::validate() {
  // Free-running forecasts over the whole horizon for every model kind.
  EvalResult r;
  if (config_.quantiles.empty()) {
    const Tensor<float> pred = model_->forecast(val_x_);
    r.loss = regression_loss(options_.loss, pred, val_y_, options_.huber_delta, false).loss;
    r.metrics["val_mse"] = regression_loss(LossKind::MSE, pred, val_y_, 1.0, false).loss;
    return r;
  }
  const Tensor<float> all = model_->forecast_quantiles(val_x_);
  r.loss = pinball_loss(all, val_y_, config_.quantiles, false).loss;
  const Tensor<float> point = select_quantile(all, config_.levels(), config_.point_level());
  r.metrics["val_mse"] = regression_loss(LossKind::MSE, point, val_y_, 1.0, false).loss;
  return r;
}

double ForecastTask::epoch() const {
  return static_cast<double>(samples_seen_) / static_cast<double>(train_origins_.size());
}

void ForecastTask::save_state(Checkpoint& checkpoint) const {
  checkpoint.meta["task"] = {{"kind", "forecast"},
                             {"model", config_.to_json()},
                             {"samples_seen", samples_seen_}};
}

void ForecastTask::load_state(const Checkpoint& checkpoint) {
  check(checkpoint.meta.contains("task") && checkpoint.meta["task"].value("kind", "") == "forecast",
        "checkpoint belongs to another task (not a forecaster)");
  const auto& t = checkpoint.meta["task"];
  check(t.at("model") == config_.to_json(), "checkpoint's model ", t.at("model").dump(),
        " differs from this run's ", config_.to_json().dump());
  samples_seen_ = t.at("samples_seen").get<JsonInt<int64_t>>().value;
}

}  // namespace rnn::forecast
