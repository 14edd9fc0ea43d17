// Encoder-decoder translation model with attention (Luong et al. 2015 "global attention",
// with a choice of scores including Bahdanau's additive one), trained with teacher forcing.
//
// Letters: S source steps, U target steps, B batch, E embedding size, He encoder hidden
// size per direction, D encoder directions, Le / Ld encoder / decoder layers,
// M = D*He memory size, Hd decoder hidden size, Vs / Vt vocabularies.
//
//   encoder:  x = dropout(src_embed(src)) [S,B,E] -> bidirectional stacked RNN with source
//             lengths -> memory [S,B,M], final states h_n [D*Le,B,He] (c_n for LSTM)
//   bridge:   the decoder's initial state from the encoder's top layer, both directions:
//             h0[l] = tanh(bridge_h([h_n fwd | h_n bwd]))[l*Hd:(l+1)*Hd]  (c0 likewise
//             from c_n through bridge_c, LSTM)
//   decoder:  for t = 0..U-1 (input feeding: the previous attentional vector goes back in)
//             h_t     = RNN([dropout(tgt_embed(y_{t-1})) | ht~_{t-1}], state)
//             c_t     = attention(h_t, memory, source lengths)            [B,M]
//             ht~_t   = tanh(combine([c_t | h_t]))   (without attention: tanh(combine(h_t)))
//             logits  = generator(dropout(ht~_t))                          [B,Vt]
//   loss:     cross-entropy (label smoothing optional) over the target steps t < lengths.
//
// Parameters: src_embed.weight [Vs,E], tgt_embed.weight [Vt,E], encoder.* and decoder.*
// (Recurrent, PyTorch names), bridge_h.{weight,bias} [Ld*Hd, M], bridge_c.* (LSTM),
// attention.* (see attention.h), combine.{weight,bias} [Hd, M+Hd] (or [Hd,Hd]),
// generator.{weight,bias} [Vt,Hd].
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"
#include "rnn/layers/recurrent.h"
#include "rnn/nn/dropout.h"
#include "rnn/nn/embedding.h"
#include "rnn/nn/linear.h"
#include "rnn/seq2seq/attention.h"

namespace rnn::seq2seq {

struct Seq2SeqConfig {
  int64_t src_vocab = 0;        // Vs
  int64_t tgt_vocab = 0;        // Vt
  int64_t embed_size = 64;      // E (both sides)
  CellMode cell = CellMode::LSTM;  // LSTM, GRU, RNN_TANH, RNN_RELU (encoder and decoder)
  int64_t hidden_size = 128;    // He, per direction
  int64_t encoder_layers = 1;   // Le
  bool bidirectional = true;
  int64_t decoder_hidden = 0;   // Hd; 0 = D*He (needed by dot scores)
  int64_t decoder_layers = 1;   // Ld
  AttentionScore attention = AttentionScore::General;
  int64_t attention_size = 0;   // additive only; 0 = Hd
  bool input_feeding = true;
  double dropout = 0.0;         // embeddings, between stacked layers, before the generator

  int64_t memory_size() const { return (bidirectional ? 2 : 1) * hidden_size; }
  // Fills decoder_hidden and checks everything; throws rnn::Error naming the field.
  void finalize();
  nlohmann::json to_json() const;
  static Seq2SeqConfig from_json(const nlohmann::json& j);  // finalizes
};

// A padded batch. Targets: tgt_in = <s> y1 .. yn, tgt_out = y1 .. yn </s>, length n+1.
struct Seq2SeqBatch {
  Tensor<int64_t> src;                // [S,B]
  std::vector<int64_t> src_lengths;   // [B], each in 1..S
  Tensor<int64_t> tgt_in;             // [U,B]
  Tensor<int64_t> tgt_out;            // [U,B]
  std::vector<int64_t> tgt_lengths;   // [B], each in 1..U
  int64_t batch() const { return static_cast<int64_t>(src_lengths.size()); }
};

struct SequenceLoss {
  double sum = 0.0;   // summed cross-entropy over target tokens (label smoothing included)
  int64_t count = 0;  // target tokens
};

struct LossOptions {
  double label_smoothing = 0.0;
  bool backward = false;    // accumulate gradients of grad_scale * sum into the store
  double grad_scale = 1.0;  // e.g. 1 / count for the mean
};

// The decoder's state for a set of rows (sentences, or hypotheses in beam search).
template <class T>
struct DecoderState {
  RecurrentState<T> rnn;       // h [Ld,N,Hd], c [Ld,N,Hd] (LSTM)
  Tensor<T> feed;              // [N,Hd] previous attentional vector (zeros at the start)
  AttentionMemory<T> memory;   // the rows' encoder outputs
  int64_t rows() const { return feed.dim(0); }
};

template <class T>
class Seq2Seq {
 public:
  Seq2Seq(Seq2SeqConfig config, Rng& rng);
  Seq2Seq(const Seq2Seq&) = delete;
  Seq2Seq& operator=(const Seq2Seq&) = delete;

  const Seq2SeqConfig& config() const { return config_; }
  Parameters<T>& parameters() { return store_; }
  const Parameters<T>& parameters() const { return store_; }

  // Teacher-forced loss of a batch; Train mode applies dropout drawn from `rng`.
  SequenceLoss loss(const Seq2SeqBatch& batch, Mode mode, Rng* rng,
                    const LossOptions& options) const;

  // Inference (evaluation mode): encodes src [S,N] with lengths and returns the decoder's
  // starting state.
  DecoderState<T> start(const Tensor<int64_t>& src, const std::vector<int64_t>& lengths) const;
  // One decoder step for the rows' previous tokens [N]: returns logits [N,Vt] and advances
  // `state`; `weights` (optional) receives the attention weights [N,S].
  Tensor<T> step(DecoderState<T>& state, std::span<const int64_t> previous,
                 Tensor<T>* weights = nullptr) const;
  // Rows `rows` of a state (beam search reorders and drops hypotheses).
  static DecoderState<T> select(const DecoderState<T>& state, const std::vector<int64_t>& rows);

 private:
  struct Encoded;
  Encoded encode(const Tensor<int64_t>& src, const std::vector<int64_t>& lengths, Mode mode,
                 Rng* rng, bool keep_cache) const;

  Seq2SeqConfig config_;
  mutable Parameters<T> store_;  // backward accumulates into its gradients
  std::unique_ptr<nn::Embedding<T>> src_embed_, tgt_embed_;
  std::unique_ptr<Recurrent<T>> encoder_, decoder_;
  std::unique_ptr<nn::Linear<T>> bridge_h_, bridge_c_, combine_, generator_;
  std::unique_ptr<Attention<T>> attention_;
  nn::Dropout<T> dropout_;
};

extern template class Seq2Seq<float>;
extern template class Seq2Seq<double>;

}  // namespace rnn::seq2seq
