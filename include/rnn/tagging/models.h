// Models for sequence tagging (many-to-many) and sequence classification (many-to-one).
//
// Letters: T time steps (words), B batch, W distinct words of a batch, Tc characters of the
// longest of them, E word embedding, Ec char embedding, Hc char hidden size, H hidden size,
// D directions, F features, C classes (tags or labels), V vocabulary.
//
// Every model registers its parameters in one Parameters<T> store, runs variable-length
// batches through `lengths` (no sorting, no packing), and has an explicit forward (returns
// what backward needs in a cache) and backward (accumulates += into the store's gradients).
// Padded positions never influence real ones: a padded batch gives each sequence the
// outputs and gradients it gets alone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"
#include "rnn/layers/recurrent.h"
#include "rnn/nn/dropout.h"
#include "rnn/nn/embedding.h"
#include "rnn/nn/linear.h"

namespace rnn::tagging {

// ---- pooling over time ------------------------------------------------------------------

enum class Pooling { Last, Mean, Max };
std::string to_string(Pooling pooling);
Pooling pooling_from_string(const std::string& name);  // "last" | "mean" | "max"

// y [T,B,F] with F = D*Hd (the output of a D-directional recurrent layer), lengths [B] in
// 1..T -> pooled [B,F]:
//   Last  forward half at the sequence's own last step y[len_b-1, b, 0:Hd]; with D = 2 the
//         reverse half at step 0, y[0, b, Hd:2Hd] (together: the top layer's h_n)
//   Mean  sum_{t < len_b} y[t,b,:] / len_b
//   Max   max_{t < len_b} y[t,b,f] (the first maximum gets the gradient)
// `argmax` (Max only) receives the winning step per [b,f] for backward.
template <class T>
Tensor<T> pool_forward(Pooling pooling, const Tensor<T>& y, const std::vector<int64_t>& lengths,
                       int64_t directions, std::vector<int64_t>* argmax = nullptr);

// dpooled [B,F] -> dy [T,B,F] (zero at padded steps).
template <class T>
Tensor<T> pool_backward(Pooling pooling, const Shape& y_shape, const std::vector<int64_t>& lengths,
                        int64_t directions, const std::vector<int64_t>& argmax,
                        const Tensor<T>& dpooled);

// ---- character encoder -----------------------------------------------------------------

struct CharEncoderConfig {
  int64_t chars = 0;        // character vocabulary (id 0 = unknown)
  int64_t embed = 16;       // Ec
  int64_t hidden = 32;      // Hc
  CellMode mode = CellMode::LSTM;
};

template <class T>
struct CharEncoderCache {
  Tensor<int64_t> ids;             // [Tc,W]
  std::vector<int64_t> lengths;    // [W]
  RecurrentCachePtr<T> rnn;
};

// A word's vector from its characters: char embeddings through a one-layer bidirectional
// RNN, out[w] = [h_n forward | h_n reverse] (the forward state after the last character,
// the reverse state after the first). All W words run as one batch with lengths.
template <class T>
class CharEncoder {
 public:
  CharEncoder(const CharEncoderConfig& config, Parameters<T>& store, Rng& rng,
              const std::string& prefix);
  int64_t output_size() const { return 2 * config_.hidden; }

  // words: W lists of char ids (each non-empty) -> [W, 2*Hc].
  Tensor<T> forward(const std::vector<std::vector<int64_t>>& words, Mode mode, Rng* rng,
                    CharEncoderCache<T>* cache) const;
  // dout [W, 2*Hc]: accumulates parameter gradients.
  void backward(const CharEncoderCache<T>& cache, const Tensor<T>& dout) const;

 private:
  CharEncoderConfig config_;
  nn::Embedding<T> embed_;
  Recurrent<T> rnn_;
};

// ---- tagger ----------------------------------------------------------------------------

struct TaggerConfig {
  int64_t words = 0;           // word vocabulary (id 0 = unknown)
  int64_t chars = 0;           // char vocabulary (id 0 = unknown)
  int64_t tags = 0;            // C
  int64_t word_embed = 64;     // E
  int64_t char_embed = 16;     // Ec
  int64_t char_hidden = 32;    // Hc; 0 = no character encoder
  int64_t hidden = 128;        // H per direction
  int64_t layers = 1;
  bool bidirectional = true;
  CellMode mode = CellMode::LSTM;
  double dropout = 0.25;       // on the RNN's input and output (and between layers)
  nlohmann::json to_json() const;
  static TaggerConfig from_json(const nlohmann::json& j);  // throws on anything missing/bad
};

// A batch of sentences laid out [T,B].
struct TagBatch {
  std::vector<int64_t> lengths;                 // [B], each >= 1
  Tensor<int64_t> words;                        // [T,B] word ids (0 at padding)
  Tensor<int64_t> types;                        // [T,B] index into `type_chars` (0 at padding)
  std::vector<std::vector<int64_t>> type_chars; // [W] char ids of each distinct word
  Tensor<int64_t> tags;                         // [T,B] tag ids (0 at padding); may be empty
};

template <class T>
struct TaggerCache;
template <class T>
struct TaggerCacheDeleter {
  void operator()(TaggerCache<T>* cache) const;
};
template <class T>
using TaggerCachePtr = std::unique_ptr<TaggerCache<T>, TaggerCacheDeleter<T>>;

// word embedding [T,B,E] ++ char encoding of each word [T,B,2Hc] -> dropout -> (bi)RNN
// [T,B,D*H] -> dropout -> Linear -> logits [T,B,C].
template <class T>
class Tagger {
 public:
  Tagger(const TaggerConfig& config, Parameters<T>& store, Rng& rng);
  const TaggerConfig& config() const { return config_; }

  Tensor<T> forward(const TagBatch& batch, Mode mode, Rng* rng, TaggerCachePtr<T>* cache) const;
  void backward(const TaggerCache<T>& cache, const Tensor<T>& dlogits) const;

 private:
  TaggerConfig config_;
  nn::Embedding<T> embed_;
  std::unique_ptr<CharEncoder<T>> chars_;
  Recurrent<T> rnn_;
  nn::Linear<T> out_;
  nn::Dropout<T> dropout_;
};

// ---- classifiers -----------------------------------------------------------------------

enum class ClassifierKind { Rnn, BagOfWords, MeanEmbedding };
std::string to_string(ClassifierKind kind);
ClassifierKind classifier_kind_from_string(const std::string& name);  // rnn | bow | meanemb

struct ClassifierConfig {
  ClassifierKind kind = ClassifierKind::Rnn;
  int64_t words = 0;          // V (id 0 = unknown)
  int64_t classes = 0;        // C
  int64_t embed = 64;         // E (rnn, meanemb)
  int64_t hidden = 64;        // H per direction (rnn); MLP hidden units (meanemb)
  int64_t layers = 1;         // rnn
  bool bidirectional = true;  // rnn
  CellMode mode = CellMode::LSTM;
  Pooling pooling = Pooling::Max;
  double dropout = 0.3;       // on embeddings and the pooled vector (rnn, meanemb)
  nlohmann::json to_json() const;
  static ClassifierConfig from_json(const nlohmann::json& j);
};

struct ClassBatch {
  std::vector<int64_t> lengths;  // [B]
  Tensor<int64_t> words;         // [T,B] (0 at padding)
  std::vector<int64_t> labels;   // [B]; may be empty
};

struct ClassifierCache {
  virtual ~ClassifierCache() = default;
};

// Many-to-one models, logits [B,C]:
//   rnn      embedding -> dropout -> (bi)RNN -> pooling (last | mean | max) -> dropout -> Linear
//   bow      bag-of-words logistic regression: x[b,v] = 1 if word v occurs -> Linear [C,V]
//   meanemb  averaged embeddings -> dropout -> Linear -> tanh -> Linear (a one-to-one MLP)
template <class T>
class Classifier {
 public:
  virtual ~Classifier() = default;
  virtual const ClassifierConfig& config() const = 0;
  virtual Tensor<T> forward(const ClassBatch& batch, Mode mode, Rng* rng,
                            std::unique_ptr<ClassifierCache>* cache) const = 0;
  virtual void backward(const ClassifierCache& cache, const Tensor<T>& dlogits) const = 0;
};

template <class T>
std::unique_ptr<Classifier<T>> make_classifier(const ClassifierConfig& config,
                                               Parameters<T>& store, Rng& rng);

extern template class CharEncoder<float>;
extern template class CharEncoder<double>;
extern template class Tagger<float>;
extern template class Tagger<double>;

}  // namespace rnn::tagging
