// Forecasting networks over a lookback window, all trained by the one trainer:
//   recursive  many-to-one: an RNN reads the window, a linear head gives the next value;
//              K steps come from feeding each forecast back in (targets only, no covariates)
//   direct     an RNN reads the window, a linear head gives all K values at once
//   seq2seq    encoder-decoder: the encoder's final state starts a decoder that reads the
//              previous value (teacher forcing in training, its own forecast at inference)
//   cnn        baseline: two Conv1d + ReLU over the window, a linear head gives K values
//
// With quantile levels (rnn/forecast/quantile.h) every head gives Q values per target and
// step instead of one; the point forecast is the level nearest 0.5 (the median), and it is
// what the recursive model and the seq2seq decoder read back as their next input.
//
// Letters: L lookback, K horizon, B batch, F input features (targets first), Nt targets,
// H hidden size, D directions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"
#include "rnn/layers/recurrent_config.h"

namespace rnn::forecast {

enum class ModelKind { Recursive, Direct, Seq2Seq, Cnn };
ModelKind model_kind_from_string(const std::string& name);  // recursive|direct|seq2seq|cnn
std::string to_string(ModelKind kind);

struct ForecastModelConfig {
  ModelKind kind = ModelKind::Direct;
  int64_t input_size = 1;  // F
  int64_t n_targets = 1;   // Nt <= F
  int64_t lookback = 24;   // L
  int64_t horizon = 12;    // K
  // recurrent models
  CellMode cell = CellMode::GRU;
  int64_t hidden_size = 32;
  int64_t num_layers = 1;
  double dropout = 0.0;
  bool bidirectional = false;  // recursive and direct only
  int64_t proj_size = 0;
  // cnn
  int64_t channels = 16;
  int64_t kernel_size = 3;
  // quantile outputs: increasing levels in (0, 1); empty = one point forecast (Q = 1)
  std::vector<double> quantiles;

  // Throws rnn::Error naming the bad field (e.g. recursive with covariates).
  void validate() const;
  // Steps of the training target: 1 for recursive, K otherwise.
  int64_t train_steps() const { return kind == ModelKind::Recursive ? 1 : horizon; }
  // Q: outputs per target and step (1 for a point model).
  int64_t levels() const { return quantiles.empty() ? 1 : static_cast<int64_t>(quantiles.size()); }
  // Index of the point forecast among the Q outputs (the median's).
  int64_t point_level() const;
  // "quantiles" appears only when set, so point models keep their earlier JSON.
  nlohmann::json to_json() const;
  static ForecastModelConfig from_json(const nlohmann::json& j);
};

class ForecastModel {
 public:
  // Registers every parameter in `store` ("encoder.", "decoder.", "head.", "conv1.", ...).
  ForecastModel(const ForecastModelConfig& config, Parameters<float>& store, Rng& rng);
  ~ForecastModel();
  ForecastModel(ForecastModel&&) noexcept;

  const ForecastModelConfig& config() const { return config_; }
  Parameters<float>& store() { return *store_; }

  struct Cache;  // opaque: what backward needs
  struct CacheDeleter {
    void operator()(Cache* cache) const;
  };
  using CachePtr = std::unique_ptr<Cache, CacheDeleter>;

  // Training forward: x [L,B,F] -> prediction [train_steps, B, Nt*Q]. `targets`
  // [K,B,Nt] feeds the seq2seq decoder (teacher forcing; ignored by the others).
  // Dropout draws from `rng`; `cache` receives what backward needs.
  Tensor<float> forward(const Tensor<float>& x, const Tensor<float>& targets, Rng& rng,
                        CachePtr& cache) const;
  // Adds the parameter gradients for d(loss)/d(prediction) into the store.
  void backward(const Cache& cache, const Tensor<float>& dprediction) const;

  // Evaluation mode, free running: x [L,B,F] -> every level [K,B,Nt*Q], each step's
  // levels sorted increasing (undoes quantile crossing).
  Tensor<float> forecast_quantiles(const Tensor<float>& x) const;
  // The point forecast [K,B,Nt]: forecast_quantiles' median level (all of it when Q = 1).
  Tensor<float> forecast(const Tensor<float>& x) const;

 private:
  struct Impl;
  ForecastModelConfig config_;
  Parameters<float>* store_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rnn::forecast
