// A forecasting run's data (series, split, fitted transforms, transformed values) and the
// TrainTask that lets the one trainer (rnn/train/trainer.h) train a ForecastModel on it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "rnn/forecast/data.h"
#include "rnn/forecast/metrics.h"
#include "rnn/forecast/model.h"
#include "rnn/forecast/prepare.h"
#include "rnn/train/trainer.h"

namespace rnn::forecast {

struct ForecastData {
  Series series;
  Split split;
  Pipeline pipeline;
  Tensor<double> z;  // [N,F] transformed (rows < pipeline.first_valid() are NaN)

  // Splits chronologically, fits the transforms on the training rows, transforms, and
  // checks that the training part holds at least one window of L + K rows and that the
  // validation and test parts are not empty ("too few rows ..." otherwise).
  static ForecastData prepare(Series series, double val_fraction, double test_fraction,
                              const TransformSpec& transforms, int64_t lookback, int64_t horizon);
  // Same, with a pipeline fitted before (a trained model's), for evaluation/prediction.
  static ForecastData with_pipeline(Series series, const Split& split, const Pipeline& pipeline);

  // Training windows: targets inside the training rows. Validation: targets inside the
  // validation rows (their inputs may reach back into the training rows).
  std::vector<int64_t> train_origins(int64_t lookback, int64_t steps) const;
  std::vector<int64_t> val_origins(int64_t lookback, int64_t steps) const;
};

struct ForecastTaskOptions {
  int64_t batch_size = 32;
  LossKind loss = LossKind::MSE;
  double huber_delta = 1.0;
};

class ForecastTask : public TrainTask {
 public:
  // Builds the model (parameters initialised from `init_seed`) and the windows.
  ForecastTask(const ForecastData& data, const ForecastModelConfig& config,
               ForecastTaskOptions options, uint64_t init_seed);

  Parameters<float>& parameters() override { return params_; }
  // A batch of training windows drawn uniformly (with replacement) with `rng`.
  StepResult train_step(Rng& rng) override;
  // The training loss on all validation windows (evaluation mode; seq2seq free running),
  // plus "val_mse" in the metrics.
  EvalResult validate() override;
  double epoch() const override;
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;

  ForecastModel& model() { return *model_; }
  int64_t train_windows() const { return static_cast<int64_t>(train_origins_.size()); }
  int64_t val_windows() const { return static_cast<int64_t>(val_origins_.size()); }

 private:
  const ForecastData& data_;
  ForecastModelConfig config_;
  ForecastTaskOptions options_;
  Parameters<float> params_;
  std::unique_ptr<ForecastModel> model_;
  std::vector<int64_t> train_origins_, val_origins_;
  Tensor<float> val_x_, val_y_;
  int64_t samples_seen_ = 0;
};

}  // namespace rnn::forecast
