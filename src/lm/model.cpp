#include "rnn/lm/model.h"

#include <cmath>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/kernels/gemm.h"
#include "rnn/nn/dropout.h"
#include "rnn/nn/init.h"
#include "rnn/train/losses.h"

namespace rnn::lm {

// ---- configuration ----------------------------------------------------------------------

void LmConfig::finalize() {
  check(vocab_size >= 2, "language model: vocabulary size must be at least 2, got ", vocab_size);
  check(embed_size >= 0, "language model: embedding size must be >= 0 (0 = one-hot), got ",
        embed_size);
  check(!rnn.bidirectional, "language model: the recurrent layers must be unidirectional");
  check(!rnn.batch_first, "language model: the recurrent layers are time-major (batch_first off)");
  check(dropout >= 0 && dropout < 1, "language model: dropout must be in [0, 1), got ", dropout);
  check(num_categories >= 0, "language model: number of categories must be >= 0, got ",
        num_categories);
  rnn.input_size = embed_size > 0 ? embed_size : vocab_size;
  rnn.validate();
  if (tie_weights) {
    check(embed_size > 0, "language model: tied weights need an embedding (embed size > 0)");
    check(embed_size == rnn.output_hidden(), "language model: tied weights need the embedding size (",
          embed_size, ") to equal the recurrent output size (", rnn.output_hidden(), ")");
  }
}

nlohmann::json LmConfig::to_json() const {
  return {{"vocab_size", vocab_size},   {"embed_size", embed_size},
          {"rnn", rnn.to_json()},       {"tie_weights", tie_weights},
          {"dropout", dropout},         {"num_categories", num_categories}};
}

LmConfig LmConfig::from_json(const nlohmann::json& j) {
  check(j.is_object(), "language model config: expected a JSON object");
  LmConfig c;
  try {
    c.vocab_size = j.at("vocab_size").get<JsonInt<int64_t>>().value;
    c.embed_size = j.at("embed_size").get<JsonInt<int64_t>>().value;
    c.rnn = RecurrentConfig::from_json(j.at("rnn"));
    c.tie_weights = j.at("tie_weights").get<bool>();
    c.dropout = j.at("dropout").get<double>();
    c.num_categories = json_int_or(j, "num_categories", int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    fail("language model config: ", e.what());
  }
  c.finalize();
  return c;
}

// ---- the model --------------------------------------------------------------------------

template <class T>
LanguageModel<T>::LanguageModel(LmConfig config, Rng& rng) : config_(std::move(config)) {
  config_.finalize();
  const LmConfig& c = config_;
  const int64_t V = c.vocab_size;
  if (c.embed_size > 0) {
    encoder_ = std::make_unique<nn::Embedding<T>>(V, c.embed_size, store_, rng, "encoder.");
    init::uniform(store_.value_view(encoder_->weight_id()), rng, -0.1, 0.1);
  }
  rnn_ = std::make_unique<Recurrent<T>>(c.rnn, store_, rng, "rnn.");
  const int64_t hout = c.rnn.output_hidden();
  if (c.tie_weights) {
    decoder_weight_ = encoder_->weight_id();
  } else {
    decoder_weight_ = store_.add("decoder.weight", {V, hout});
    init::uniform(store_.value_view(decoder_weight_), rng, -0.1, 0.1);
  }
  decoder_bias_ = store_.add("decoder.bias", {V});
  const int64_t L = c.rnn.num_layers;
  state_size_ = L * hout + (c.rnn.mode == CellMode::LSTM ? L * c.rnn.hidden_size : 0);
  if (c.num_categories > 0) {
    cond_weight_ = store_.add("cond.weight", {state_size_, c.num_categories});
    cond_bias_ = store_.add("cond.bias", {state_size_});
    const double bound = 1.0 / std::sqrt(static_cast<double>(c.num_categories));
    init::uniform(store_.value_view(cond_weight_), rng, -bound, bound);
    init::uniform(store_.value_view(cond_bias_), rng, -bound, bound);
  }
}

template <class T>
RecurrentState<T> LanguageModel<T>::initial_state(int64_t batch) const {
  return rnn_->initial_state(batch);
}

template <class T>
Tensor<T> LanguageModel<T>::decode(const Tensor<T>& features) const {
  // logits [N,V] = features [N,Hout] W^T + b
  const int64_t V = config_.vocab_size, hout = config_.rnn.output_hidden();
  const int64_t n = features.numel() / hout;
  Tensor<T> logits({n, V});
  const T* b = store_.value(decoder_bias_);
  for (int64_t r = 0; r < n; ++r) std::copy(b, b + V, logits.data() + r * V);
  kernels::matmul_nt<T>(n, V, hout, features.data(), store_.value(decoder_weight_), logits.data(),
                        true);
  return logits;
}

template <class T>
RecurrentState<T> LanguageModel<T>::category_state(int64_t category) const {
  RecurrentState<T> state;
  check(config_.num_categories > 0, "language model: category_state on an unconditional model");
  check(category >= 0 && category < config_.num_categories, "language model: category ", category,
        " out of range [0, ", config_.num_categories, ")");
  const int64_t L = config_.rnn.num_layers, hout = config_.rnn.output_hidden(),
                H = config_.rnn.hidden_size, C = config_.num_categories;
  const T* w = store_.value(cond_weight_);
  const T* bias = store_.value(cond_bias_);
  state.h = Tensor<T>({L, 1, hout});
  if (config_.rnn.mode == CellMode::LSTM) state.c = Tensor<T>({L, 1, H});
  for (int64_t k = 0; k < state_size_; ++k) {
    const T s = std::tanh(w[k * C + category] + bias[k]);
    if (k < L * hout) {
      state.h[k] = s;
    } else {
      state.c[k - L * hout] = s;
    }
  }
  return state;
}

template <class T>
Tensor<T> LanguageModel<T>::forward(const Tensor<int64_t>& ids, RecurrentState<T>& state,
                                    Mode mode, Rng* rng, LmCache<T>* cache,
                                    std::span<const int64_t> categories) const {
  const LmConfig& c = config_;
  check(ids.rank() == 2 && ids.numel() > 0, "language model: ids must be [T,B] with T,B >= 1, got ",
        shape_str(ids.shape()));
  const int64_t steps = ids.dim(0), batch = ids.dim(1), V = c.vocab_size;
  const bool train = mode == Mode::Train;
  check(!train || c.dropout == 0 || rng != nullptr,
        "language model: training with dropout needs a random generator");
  for (int64_t i = 0; i < ids.numel(); ++i)
    check(ids[i] >= 0 && ids[i] < V, "language model: token id ", ids[i], " at position ", i,
          " out of range [0, ", V, ")");

  // Inputs [T,B,E] (or one-hot [T,B,V]), dropout.
  Tensor<T> x;
  if (encoder_) {
    x = encoder_->forward(ids);
  } else {
    x = Tensor<T>({steps, batch, V});
    for (int64_t i = 0; i < ids.numel(); ++i) x[i * V + ids[i]] = T(1);
  }
  const nn::Dropout<T> drop(c.dropout);
  Tensor<T> input_mask, output_mask;
  if (train && c.dropout > 0) x = drop.forward(x, mode, *rng, &input_mask);

  RecurrentInput<T> input;
  input.x = std::move(x);
  Tensor<T> initial;
  if (!categories.empty()) {
    // Rows with a category start from tanh(W[:, c] + b); rows marked kCarry keep the given
    // state (zeros when none is given): a batch of streams where some start a new document.
    check(c.num_categories > 0, "language model: categories given to an unconditional model");
    check(static_cast<int64_t>(categories.size()) == batch, "language model: ", categories.size(),
          " categories for a batch of ", batch);
    const int64_t L = c.rnn.num_layers, hout = c.rnn.output_hidden(), H = c.rnn.hidden_size,
                  C = c.num_categories;
    const bool lstm = c.rnn.mode == CellMode::LSTM;
    if (!state.h.empty()) {
      check_shape(state.h, {L, batch, hout}, "language model: carried state h");
      input.h0 = state.h;
      if (lstm) {
        check_shape(state.c, {L, batch, H}, "language model: carried state c");
        input.c0 = state.c;
      }
    } else {
      input.h0 = Tensor<T>({L, batch, hout});
      if (lstm) input.c0 = Tensor<T>({L, batch, H});
    }
    const T* w = store_.value(cond_weight_);
    const T* bias = store_.value(cond_bias_);
    initial = Tensor<T>({batch, state_size_});
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t cat = categories[static_cast<size_t>(b)];
      check(cat == kCarry || (cat >= 0 && cat < C), "language model: category ", cat, " of row ",
            b, " out of range [0, ", C, ") (", kCarry, " carries the state)");
      if (cat == kCarry) continue;
      for (int64_t k = 0; k < state_size_; ++k) {
        const T s = std::tanh(w[k * C + cat] + bias[k]);
        initial[b * state_size_ + k] = s;
        if (k < L * hout) {
          const int64_t l = k / hout, j = k % hout;
          input.h0[(l * batch + b) * hout + j] = s;
        } else {
          const int64_t kk = k - L * hout, l = kk / H, j = kk % H;
          input.c0[(l * batch + b) * H + j] = s;
        }
      }
    }
  } else {
    input.h0 = state.h;
    input.c0 = state.c;
  }
  const bool carried = !state.h.empty();

  RecurrentCachePtr<T>* rnn_cache = cache ? &cache->rnn : nullptr;
  RecurrentOutput<T> out = rnn_->forward(input, mode, rng, rnn_cache);
  Tensor<T> features = std::move(out.y);  // [T,B,Hout]
  if (train && c.dropout > 0) features = drop.forward(features, mode, *rng, &output_mask);
  Tensor<T> logits = decode(features);
  logits.reshape({steps, batch, V});
  state.h = std::move(out.h_n);
  state.c = std::move(out.c_n);
  if (cache) {
    cache->ids = ids;
    cache->input_mask = std::move(input_mask);
    cache->features = std::move(features);
    cache->output_mask = std::move(output_mask);
    cache->categories.assign(categories.begin(), categories.end());
    cache->initial = std::move(initial);
    cache->carried = carried;
  }
  return logits;
}

template <class T>
RecurrentState<T> LanguageModel<T>::backward(const LmCache<T>& cache, const Tensor<T>& dlogits,
                                             const RecurrentState<T>& dstate) const {
  const LmConfig& c = config_;
  check(cache.rnn != nullptr, "language model: backward needs a cache from a forward call");
  const int64_t steps = cache.ids.dim(0), batch = cache.ids.dim(1), V = c.vocab_size;
  const int64_t hout = c.rnn.output_hidden(), n = steps * batch;
  check_shape(dlogits, {steps, batch, V}, "language model: dlogits");

  // Decoder: dW [V,Hout] += dlogits^T features ; db += column sums ; dfeatures = dlogits W.
  kernels::matmul_tn<T>(V, hout, n, dlogits.data(), cache.features.data(),
                        store_.grad(decoder_weight_), true);
  T* db = store_.grad(decoder_bias_);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t v = 0; v < V; ++v) db[v] += dlogits[r * V + v];
  Tensor<T> dfeatures({steps, batch, hout});
  kernels::matmul_nn<T>(n, hout, V, dlogits.data(), store_.value(decoder_weight_),
                        dfeatures.data(), false);
  const nn::Dropout<T> drop(c.dropout);
  if (!cache.output_mask.empty()) dfeatures = drop.backward(cache.output_mask, dfeatures);

  RecurrentGradOutput<T> grad;
  grad.dy = std::move(dfeatures);
  grad.dh_n = dstate.h;
  grad.dc_n = dstate.c;
  RecurrentGradInput<T> gin = rnn_->backward(*cache.rnn, grad);
  if (encoder_) {
    Tensor<T> dx = std::move(gin.dx);
    if (!cache.input_mask.empty()) dx = drop.backward(cache.input_mask, dx);
    encoder_->backward(cache.ids, dx);
  }

  RecurrentState<T> dstate0;
  if (!cache.categories.empty()) {
    // s = tanh(W[:, cat] + b): dpre = ds * (1 - s^2); dW[:, cat] += dpre; db += dpre.
    // Rows that started from their category do not depend on the given state: their
    // entries of dh0/dc0 are zero.
    const int64_t L = c.rnn.num_layers, H = c.rnn.hidden_size, C = c.num_categories;
    T* dw = store_.grad(cond_weight_);
    T* dbias = store_.grad(cond_bias_);
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t cat = cache.categories[static_cast<size_t>(b)];
      if (cat == kCarry) continue;
      for (int64_t k = 0; k < state_size_; ++k) {
        T* ds;
        if (k < L * hout) {
          const int64_t l = k / hout, j = k % hout;
          ds = &gin.dh0[(l * batch + b) * hout + j];
        } else {
          const int64_t kk = k - L * hout, l = kk / H, j = kk % H;
          ds = &gin.dc0[(l * batch + b) * H + j];
        }
        const T s = cache.initial[b * state_size_ + k];
        const T dpre = *ds * (T(1) - s * s);
        dw[k * C + cat] += dpre;
        dbias[k] += dpre;
        *ds = T(0);
      }
    }
    if (!cache.carried) return dstate0;
  }
  dstate0.h = std::move(gin.dh0);
  dstate0.c = std::move(gin.dc0);
  return dstate0;
}

template <class T>
WindowLoss LanguageModel<T>::window_loss(const Tensor<int64_t>& ids, const Tensor<int64_t>& targets,
                                         RecurrentState<T>& state, Mode mode, Rng* rng,
                                         bool backward, double grad_scale,
                                         std::span<const int64_t> categories) const {
  check_shape(targets, ids.shape(), "language model: targets");
  LmCache<T> cache;
  Tensor<T> logits = forward(ids, state, mode, rng, backward ? &cache : nullptr, categories);
  const int64_t n = ids.numel(), V = config_.vocab_size;
  logits.reshape({n, V});
  Tensor<int64_t> flat = targets;
  flat.reshape({n});
  CrossEntropyOptions<T> ce;
  ce.reduction = Reduction::Sum;
  ce.ignore_index = kIgnoreTarget;
  LossUpstream<T> upstream;
  upstream.want_grad = backward;
  upstream.scale = static_cast<T>(grad_scale);
  LossResult<T> loss = cross_entropy(logits, flat, ce, upstream);
  if (backward) {
    loss.grad.reshape({ids.dim(0), ids.dim(1), V});
    this->backward(cache, loss.grad);
  }
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += flat[i] != kIgnoreTarget;
  return {static_cast<double>(loss.loss), count};
}

template class LanguageModel<float>;
template class LanguageModel<double>;

}  // namespace rnn::lm
