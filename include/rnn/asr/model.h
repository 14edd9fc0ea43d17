// The speech recogniser: log-mel frames -> front end, either frame stacking (k consecutive
// frames joined, the sequence k times shorter) or a strided convolution (rnn/asr/frontend.h,
// stride k) -> stacked bidirectional LSTM/GRU -> linear to the CTC classes (blank + tokens)
// -> log_softmax. Trained with the CTC loss (rnn/ctc/ctc.h).
//
// Letters: F frames, M mel bands, k stack, T = ceil(F/k) model steps, B batch,
// H hidden, D directions, V classes.
//
// Parameters (PyTorch names): [frontend.weight [C, M, K], frontend.bias [C] (conv front end)],
// rnn.weight_ih_l0 ... (torch.nn.LSTM/GRU), head.weight [V, D*H], head.bias [V].
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/asr/data.h"
#include "rnn/asr/frontend.h"
#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/features/logmel.h"
#include "rnn/layers/recurrent.h"
#include "rnn/nn/linear.h"

namespace rnn::asr {

struct AsrConfig {
  features::LogMelOptions features;
  int64_t stack = 3;               // frames per model step (the conv front end's stride)
  bool conv_frontend = false;      // false: frame stacking
  int64_t conv_channels = 128;     // C, conv front end only
  int64_t conv_kernel = 6;         // K >= stack, conv front end only
  CellMode mode = CellMode::LSTM;  // LSTM or GRU
  int64_t hidden_size = 128;
  int64_t num_layers = 2;
  bool bidirectional = true;
  double dropout = 0.0;
  Tokens tokens;

  int64_t classes() const { return tokens.classes(); }
  void validate() const;
  nlohmann::json to_json() const;
  static AsrConfig from_json(const nlohmann::json& j);
};

struct AsrBatch {
  Tensor<float> x;               // [T, B, k*M] stacked, or [B, M, L] the conv front end's input
  std::vector<int64_t> lengths;  // [B] model steps of each utterance
};

struct AsrForward {
  Tensor<float> log_probs;  // [T, B, V]
  // what backward needs
  Tensor<float> conv_input, conv_out;  // conv front end: [B, M, L], [T, B, C]
  Tensor<float> rnn_out;    // [T, B, D*H]
  RecurrentCachePtr<float> cache;
};

class AsrModel {
 public:
  AsrModel(const AsrConfig& config, Rng& rng);
  const AsrConfig& config() const { return config_; }
  Parameters<float>& parameters() { return params_; }
  const Parameters<float>& parameters() const { return params_; }

  // Model steps for F frames: ceil(F / k).
  int64_t steps(int64_t frames) const;
  // Stacks and pads the utterances features[i] ([F_i, M]) into one batch.
  AsrBatch make_batch(const std::vector<const Tensor<float>*>& features) const;
  // In Train mode with dropout, `rng` drives it; `keep_cache` for backward.
  AsrForward forward(const AsrBatch& batch, Mode mode, Rng* rng, bool keep_cache) const;
  // dlog_probs [T,B,V]: accumulates every parameter gradient.
  void backward(const AsrForward& forward, const Tensor<float>& dlog_probs) const;

 private:
  AsrConfig config_;
  Parameters<float> params_;
  std::unique_ptr<ConvFrontEnd<float>> frontend_;  // null: frame stacking
  std::unique_ptr<Recurrent<float>> rnn_;
  std::unique_ptr<nn::Linear<float>> head_;
};

// Decoding of one utterance's log_probs (batch column b of [T,B,V], its length): greedy
// when beam_width <= 1, prefix beam search otherwise. Returns class ids.
std::vector<int64_t> decode(const Tensor<float>& log_probs, int64_t b, int64_t length,
                            int64_t beam_width);

}  // namespace rnn::asr
