// The language model: tokens -> embedding (or one-hot) -> dropout -> stacked RNN / LSTM /
// GRU (any core option that runs forward in time) -> dropout -> linear decoder -> logits,
// trained with softmax cross-entropy on the next token.
//
// Letters: T time steps, B batch (streams), V vocabulary, E embedding size, L layers,
// H hidden size, Hout = proj_size or H, C categories, S = L*Hout (+ L*H for LSTM).
//
// Parameters (PyTorch's word_language_model names, so weights move by copy):
//   encoder.weight [V,E]          (absent with one-hot inputs)
//   rnn.weight_ih_l0 ...          (Recurrent, PyTorch names)
//   decoder.weight [V,Hout]       (absent when tied: the decoder uses encoder.weight, E == Hout)
//   decoder.bias   [V]
//   cond.weight [S,C], cond.bias [S]   (conditional models only: the initial state of a
//                                       sequence is tanh(cond.weight[:, c] + cond.bias) for
//                                       its category c, cut into h0 [L,Hout] and c0 [L,H])
// Initialisation: encoder and decoder weights U(-0.1, 0.1), decoder bias 0, the recurrent
// layers PyTorch's default, cond U(-1/sqrt(C), 1/sqrt(C)); drawn from the Rng in this order.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"
#include "rnn/layers/recurrent.h"
#include "rnn/nn/embedding.h"

namespace rnn::lm {

// A target that is not scored (padding after a document's end in a batch of streams).
inline constexpr int64_t kIgnoreTarget = -100;
// In a `categories` list: this row keeps the carried state instead of starting anew.
inline constexpr int64_t kCarry = -1;

struct LmConfig {
  int64_t vocab_size = 0;     // V
  int64_t embed_size = 64;    // E; 0 = one-hot inputs (the recurrent input size is then V)
  RecurrentConfig rnn{.mode = CellMode::LSTM, .hidden_size = 256, .num_layers = 2};
                              // rnn.input_size is set from E / V; unidirectional, time-major
  bool tie_weights = false;   // decoder.weight = encoder.weight (needs E == Hout)
  double dropout = 0.0;       // on the embedding and the recurrent output (rnn.dropout is
                              // the dropout between stacked layers)
  int64_t num_categories = 0; // C > 0: conditional model (initial state from a category)

  // Fills rnn.input_size and checks everything; throws rnn::Error naming the field.
  void finalize();
  nlohmann::json to_json() const;
  static LmConfig from_json(const nlohmann::json& j);  // validates
  bool operator==(const LmConfig& o) const { return to_json() == o.to_json(); }
};

// What backward needs from one forward call.
template <class T>
struct LmCache {
  Tensor<int64_t> ids;             // [T,B]
  Tensor<T> input_mask;            // dropout mask of the inputs (empty: none)
  RecurrentCachePtr<T> rnn;
  Tensor<T> features;              // decoder input [T,B,Hout] (after dropout)
  Tensor<T> output_mask;           // dropout mask of the recurrent output
  std::vector<int64_t> categories; // [B] when the initial state came from categories
  Tensor<T> initial;               // [B,S] tanh(...) of the conditional state
  bool carried = false;            // a state was given (rows with kCarry use it)
};

// Sum of the cross-entropy over a window and the number of predictions.
struct WindowLoss {
  double sum = 0.0;
  int64_t count = 0;
};

template <class T>
class LanguageModel {
 public:
  // Builds the parameters in the model's own store, initialised from `rng`.
  LanguageModel(LmConfig config, Rng& rng);
  LanguageModel(const LanguageModel&) = delete;
  LanguageModel& operator=(const LanguageModel&) = delete;

  const LmConfig& config() const { return config_; }
  Parameters<T>& parameters() { return store_; }
  const Parameters<T>& parameters() const { return store_; }
  const Recurrent<T>& recurrent() const { return *rnn_; }

  // Zero state for B streams: h [L,B,Hout], c [L,B,H] (LSTM).
  RecurrentState<T> initial_state(int64_t batch) const;

  // ids [T,B] -> logits [T,B,V]. `state` (h0/c0; empty = zeros) is replaced by h_n/c_n,
  // so consecutive windows continue one long sequence. `categories` [B] (conditional
  // models only) gives the initial state of each row instead: row b starts from its
  // category's state, or keeps row b of `state` when categories[b] == kCarry (zeros when
  // `state` is empty). Train mode applies dropout drawn from `rng`; `cache` (optional)
  // receives what backward needs.
  Tensor<T> forward(const Tensor<int64_t>& ids, RecurrentState<T>& state, Mode mode, Rng* rng,
                    LmCache<T>* cache, std::span<const int64_t> categories = {}) const;

  // dlogits [T,B,V]: accumulates every parameter gradient into the store. `dstate`
  // (optional, empty = zeros) is the gradient arriving at h_n/c_n. Returns the gradient
  // with respect to the given h0/c0: empty when no state was given, zero in the rows that
  // started from their category.
  RecurrentState<T> backward(const LmCache<T>& cache, const Tensor<T>& dlogits,
                             const RecurrentState<T>& dstate = {}) const;

  // Forward + cross-entropy against targets [T,B] (kIgnoreTarget: not scored); with
  // `backward`, also the gradient of `grad_scale * sum` into the store (e.g. 1/count for
  // the mean). The state advances. `count` is the number of scored targets.
  WindowLoss window_loss(const Tensor<int64_t>& ids, const Tensor<int64_t>& targets,
                         RecurrentState<T>& state, Mode mode, Rng* rng, bool backward,
                         double grad_scale, std::span<const int64_t> categories = {}) const;

  // Initial state [L,1,...] for one category (conditional models).
  RecurrentState<T> category_state(int64_t category) const;

 private:
  Tensor<T> decode(const Tensor<T>& features) const;  // [N,Hout] -> [N,V]

  LmConfig config_;
  mutable Parameters<T> store_;  // backward accumulates into its gradients
  std::unique_ptr<nn::Embedding<T>> encoder_;
  std::unique_ptr<Recurrent<T>> rnn_;
  ParamId decoder_weight_, decoder_bias_, cond_weight_, cond_bias_;
  int64_t state_size_ = 0;  // S
};

extern template class LanguageModel<float>;
extern template class LanguageModel<double>;

}  // namespace rnn::lm
