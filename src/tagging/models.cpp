#include "rnn/tagging/models.h"

#include <algorithm>
#include <cmath>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/nn/activations.h"

namespace rnn::tagging {

// ---- pooling ---------------------------------------------------------------------------

std::string to_string(Pooling pooling) {
  switch (pooling) {
    case Pooling::Last: return "last";
    case Pooling::Mean: return "mean";
    case Pooling::Max: return "max";
  }
  return "?";
}

Pooling pooling_from_string(const std::string& name) {
  if (name == "last") return Pooling::Last;
  if (name == "mean") return Pooling::Mean;
  if (name == "max") return Pooling::Max;
  fail("unknown pooling '", name, "' (expected last, mean or max)");
}

namespace {

void check_pool_args(const Shape& shape, const std::vector<int64_t>& lengths, int64_t directions) {
  check(shape.size() == 3, "pooling: y must be [T,B,F], got ", shape_str(shape));
  check(static_cast<int64_t>(lengths.size()) == shape[1], "pooling: ", lengths.size(),
        " lengths for a batch of ", shape[1]);
  check((directions == 1 || directions == 2) && shape[2] % directions == 0,
        "pooling: features ", shape[2], " do not split into ", directions, " directions");
  for (size_t b = 0; b < lengths.size(); ++b) {
    check(lengths[b] >= 1 && lengths[b] <= shape[0], "pooling: lengths[", b, "] = ", lengths[b],
          " outside 1..", shape[0]);
  }
}

}  // namespace

template <class T>
Tensor<T> pool_forward(Pooling pooling, const Tensor<T>& y, const std::vector<int64_t>& lengths,
                       int64_t directions, std::vector<int64_t>* argmax) {
  check_pool_args(y.shape(), lengths, directions);
  const int64_t B = y.dim(1), F = y.dim(2), Hd = F / directions;
  Tensor<T> out({B, F});
  if (pooling == Pooling::Max && argmax) argmax->assign(static_cast<size_t>(B * F), 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = lengths[static_cast<size_t>(b)];
    const auto row = [&](int64_t t) { return y.data() + (t * B + b) * F; };
    T* o = out.data() + b * F;
    switch (pooling) {
      case Pooling::Last:
        for (int64_t f = 0; f < F; ++f) o[f] = (f < Hd) ? row(len - 1)[f] : row(0)[f];
        break;
      case Pooling::Mean:
        for (int64_t t = 0; t < len; ++t) {
          for (int64_t f = 0; f < F; ++f) o[f] += row(t)[f];
        }
        for (int64_t f = 0; f < F; ++f) o[f] /= static_cast<T>(len);
        break;
      case Pooling::Max:
        for (int64_t f = 0; f < F; ++f) {
          int64_t best = 0;
          for (int64_t t = 1; t < len; ++t) {
            if (row(t)[f] > row(best)[f]) best = t;
          }
          o[f] = row(best)[f];
          if (argmax) (*argmax)[static_cast<size_t>(b * F + f)] = best;
        }
        break;
    }
  }
  return out;
}

template <class T>
Tensor<T> pool_backward(Pooling pooling, const Shape& y_shape, const std::vector<int64_t>& lengths,
                        int64_t directions, const std::vector<int64_t>& argmax,
                        const Tensor<T>& dpooled) {
  check_pool_args(y_shape, lengths, directions);
  const int64_t B = y_shape[1], F = y_shape[2], Hd = F / directions;
  check_shape(dpooled, {B, F}, "pooling backward: dpooled");
  if (pooling == Pooling::Max) {
    check(static_cast<int64_t>(argmax.size()) == B * F, "pooling backward: argmax missing");
  }
  Tensor<T> dy(y_shape);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = lengths[static_cast<size_t>(b)];
    const auto row = [&](int64_t t) { return dy.data() + (t * B + b) * F; };
    const T* d = dpooled.data() + b * F;
    switch (pooling) {
      case Pooling::Last:
        for (int64_t f = 0; f < F; ++f) ((f < Hd) ? row(len - 1) : row(0))[f] += d[f];
        break;
      case Pooling::Mean:
        for (int64_t t = 0; t < len; ++t) {
          for (int64_t f = 0; f < F; ++f) row(t)[f] += d[f] / static_cast<T>(len);
        }
        break;
      case Pooling::Max:
        for (int64_t f = 0; f < F; ++f) row(argmax[static_cast<size_t>(b * F + f)])[f] += d[f];
        break;
    }
  }
  return dy;
}

// ---- character encoder -----------------------------------------------------------------

template <class T>
CharEncoder<T>::CharEncoder(const CharEncoderConfig& config, Parameters<T>& store, Rng& rng,
                            const std::string& prefix)
    : config_(config),
      embed_(config.chars, config.embed, store, rng, prefix + "embed."),
      rnn_(RecurrentConfig{.mode = config.mode,
                           .input_size = config.embed,
                           .hidden_size = config.hidden,
                           .num_layers = 1,
                           .bidirectional = true},
           store, rng, prefix + "rnn.") {}

template <class T>
Tensor<T> CharEncoder<T>::forward(const std::vector<std::vector<int64_t>>& words, Mode mode,
                                  Rng* rng, CharEncoderCache<T>* cache) const {
  check(!words.empty(), "char encoder: no words");
  const int64_t W = static_cast<int64_t>(words.size());
  int64_t Tc = 0;
  std::vector<int64_t> lengths(words.size());
  for (size_t w = 0; w < words.size(); ++w) {
    check(!words[w].empty(), "char encoder: word ", w, " has no characters");
    lengths[w] = static_cast<int64_t>(words[w].size());
    Tc = std::max(Tc, lengths[w]);
  }
  Tensor<int64_t> ids({Tc, W}, 0);
  for (int64_t w = 0; w < W; ++w) {
    for (int64_t t = 0; t < lengths[static_cast<size_t>(w)]; ++t) {
      ids[t * W + w] = words[static_cast<size_t>(w)][static_cast<size_t>(t)];
    }
  }
  RecurrentInput<T> input;
  input.x = embed_.forward(ids);
  input.lengths = lengths;
  RecurrentCachePtr<T> rnn_cache;
  const RecurrentOutput<T> out = rnn_.forward(input, mode, rng, cache ? &rnn_cache : nullptr);
  const int64_t Hc = config_.hidden;
  Tensor<T> result({W, 2 * Hc});
  for (int64_t d = 0; d < 2; ++d) {
    for (int64_t w = 0; w < W; ++w) {
      std::copy_n(out.h_n.data() + (d * W + w) * Hc, Hc, result.data() + w * 2 * Hc + d * Hc);
    }
  }
  if (cache) {
    cache->ids = std::move(ids);
    cache->lengths = std::move(lengths);
    cache->rnn = std::move(rnn_cache);
  }
  return result;
}

template <class T>
void CharEncoder<T>::backward(const CharEncoderCache<T>& cache, const Tensor<T>& dout) const {
  const int64_t W = cache.ids.dim(1), Hc = config_.hidden;
  check_shape(dout, {W, 2 * Hc}, "char encoder backward: dout");
  RecurrentGradOutput<T> grad;
  grad.dh_n = Tensor<T>({2, W, Hc});
  for (int64_t d = 0; d < 2; ++d) {
    for (int64_t w = 0; w < W; ++w) {
      std::copy_n(dout.data() + w * 2 * Hc + d * Hc, Hc, grad.dh_n.data() + (d * W + w) * Hc);
    }
  }
  const RecurrentGradInput<T> g = rnn_.backward(*cache.rnn, grad);
  embed_.backward(cache.ids, g.dx);
}

// ---- tagger ----------------------------------------------------------------------------

nlohmann::json TaggerConfig::to_json() const {
  return {{"words", words},           {"chars", chars},         {"tags", tags},
          {"word_embed", word_embed}, {"char_embed", char_embed}, {"char_hidden", char_hidden},
          {"hidden", hidden},         {"layers", layers},       {"bidirectional", bidirectional},
          {"mode", rnn::to_string(mode)}, {"dropout", dropout}};
}

TaggerConfig TaggerConfig::from_json(const nlohmann::json& j) {
  try {
    TaggerConfig c;
    c.words = j.at("words").get<JsonInt<int64_t>>().value;
    c.chars = j.at("chars").get<JsonInt<int64_t>>().value;
    c.tags = j.at("tags").get<JsonInt<int64_t>>().value;
    c.word_embed = j.at("word_embed").get<JsonInt<int64_t>>().value;
    c.char_embed = j.at("char_embed").get<JsonInt<int64_t>>().value;
    c.char_hidden = j.at("char_hidden").get<JsonInt<int64_t>>().value;
    c.hidden = j.at("hidden").get<JsonInt<int64_t>>().value;
    c.layers = j.at("layers").get<JsonInt<int64_t>>().value;
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.mode = cell_mode_from_string(j.at("mode").get<std::string>());
    c.dropout = j.at("dropout").get<double>();
    return c;
  } catch (const nlohmann::json::exception& e) {
    fail("tagger configuration: ", e.what());
  }
}

template <class T>
struct TaggerCache {
  TagBatch const* batch = nullptr;
  Tensor<T> x;        // [T,B,E+2Hc] after dropout
  Tensor<T> x_mask;   // dropout mask of x
  CharEncoderCache<T> chars;
  RecurrentCachePtr<T> rnn;
  Tensor<T> y;        // [T,B,D*H] after dropout
  Tensor<T> y_mask;
};

template <class T>
void TaggerCacheDeleter<T>::operator()(TaggerCache<T>* cache) const {
  delete cache;
}

namespace {
TaggerConfig checked(const TaggerConfig& c) {
  check(c.words >= 1 && c.chars >= 1 && c.tags >= 1, "tagger: empty vocabulary or tag set");
  check(c.word_embed >= 1 && c.hidden >= 1 && c.layers >= 1 && c.char_hidden >= 0 &&
            c.char_embed >= 1,
        "tagger: sizes must be positive");
  check(c.dropout >= 0 && c.dropout < 1, "tagger: dropout must be in [0, 1), got ", c.dropout);
  return c;
}
}  // namespace

template <class T>
Tagger<T>::Tagger(const TaggerConfig& config, Parameters<T>& store, Rng& rng)
    : config_(checked(config)),
      embed_(config.words, config.word_embed, store, rng, "embed."),
      chars_(config.char_hidden > 0
                 ? std::make_unique<CharEncoder<T>>(
                       CharEncoderConfig{config.chars, config.char_embed, config.char_hidden,
                                         config.mode},
                       store, rng, "chars.")
                 : nullptr),
      rnn_(RecurrentConfig{.mode = config.mode,
                           .input_size = config.word_embed + 2 * config.char_hidden,
                           .hidden_size = config.hidden,
                           .num_layers = config.layers,
                           .dropout = config.layers > 1 ? config.dropout : 0.0,
                           .bidirectional = config.bidirectional},
           store, rng, "rnn."),
      out_((config.bidirectional ? 2 : 1) * config.hidden, config.tags, store, rng, "out."),
      dropout_(config.dropout) {}

template <class T>
Tensor<T> Tagger<T>::forward(const TagBatch& batch, Mode mode, Rng* rng,
                             TaggerCachePtr<T>* cache) const {
  const int64_t steps = batch.words.rank() == 2 ? batch.words.dim(0) : 0;
  const int64_t B = static_cast<int64_t>(batch.lengths.size());
  check(batch.words.shape() == Shape{steps, B} && steps >= 1, "tagger: words must be [T,B]");
  check(batch.types.shape() == batch.words.shape(), "tagger: types must be [T,B]");
  check(mode == Mode::Eval || rng != nullptr, "tagger: training mode needs a generator");
  Rng unused(0);
  Rng& r = rng ? *rng : unused;
  TaggerCachePtr<T> c(new TaggerCache<T>());
  const int64_t E = config_.word_embed, Hc2 = 2 * config_.char_hidden, In = E + Hc2;
  const Tensor<T> e = embed_.forward(batch.words);  // [T,B,E]
  Tensor<T> x({steps, B, In});
  Tensor<T> chars;
  if (chars_) chars = chars_->forward(batch.type_chars, mode, rng, cache ? &c->chars : nullptr);
  const int64_t W = static_cast<int64_t>(batch.type_chars.size());
  for (int64_t n = 0; n < steps * B; ++n) {
    std::copy_n(e.data() + n * E, E, x.data() + n * In);
    if (chars_) {
      const int64_t type = batch.types[n];
      check(type >= 0 && type < W, "tagger: type index ", type, " out of range");
      std::copy_n(chars.data() + type * Hc2, Hc2, x.data() + n * In + E);
    }
  }
  RecurrentInput<T> input;
  input.x = dropout_.forward(x, mode, r, &c->x_mask);
  input.lengths = batch.lengths;
  const RecurrentOutput<T> out = rnn_.forward(input, mode, rng, cache ? &c->rnn : nullptr);
  Tensor<T> y = dropout_.forward(out.y, mode, r, &c->y_mask);
  Tensor<T> logits = out_.forward(y);
  if (cache) {
    c->batch = &batch;
    c->x = std::move(input.x);
    c->y = std::move(y);
    *cache = std::move(c);
  }
  return logits;
}

template <class T>
void Tagger<T>::backward(const TaggerCache<T>& c, const Tensor<T>& dlogits) const {
  const TagBatch& batch = *c.batch;
  const Tensor<T> dy = dropout_.backward(c.y_mask, out_.backward(c.y, dlogits));
  RecurrentGradOutput<T> grad;
  grad.dy = dy;
  const RecurrentGradInput<T> g = rnn_.backward(*c.rnn, grad);
  const Tensor<T> dx = dropout_.backward(c.x_mask, g.dx);
  const int64_t steps = batch.words.dim(0), B = batch.words.dim(1);
  const int64_t E = config_.word_embed, Hc2 = 2 * config_.char_hidden, In = E + Hc2;
  Tensor<T> de({steps, B, E});
  Tensor<T> dchars;
  if (chars_) dchars = Tensor<T>({static_cast<int64_t>(batch.type_chars.size()), Hc2});
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      if (t >= batch.lengths[static_cast<size_t>(b)]) continue;  // padding: no gradient
      const int64_t n = t * B + b;
      std::copy_n(dx.data() + n * In, E, de.data() + n * E);
      if (chars_) {
        T* dst = dchars.data() + batch.types[n] * Hc2;
        const T* src = dx.data() + n * In + E;
        for (int64_t k = 0; k < Hc2; ++k) dst[k] += src[k];
      }
    }
  }
  embed_.backward(batch.words, de);
  if (chars_) chars_->backward(c.chars, dchars);
}

// ---- classifiers -----------------------------------------------------------------------

std::string to_string(ClassifierKind kind) {
  switch (kind) {
    case ClassifierKind::Rnn: return "rnn";
    case ClassifierKind::BagOfWords: return "bow";
    case ClassifierKind::MeanEmbedding: return "meanemb";
  }
  return "?";
}

ClassifierKind classifier_kind_from_string(const std::string& name) {
  if (name == "rnn") return ClassifierKind::Rnn;
  if (name == "bow") return ClassifierKind::BagOfWords;
  if (name == "meanemb") return ClassifierKind::MeanEmbedding;
  fail("unknown classifier model '", name, "' (expected rnn, bow or meanemb)");
}

nlohmann::json ClassifierConfig::to_json() const {
  return {{"kind", to_string(kind)}, {"words", words},   {"classes", classes},
          {"embed", embed},          {"hidden", hidden}, {"layers", layers},
          {"bidirectional", bidirectional}, {"mode", rnn::to_string(mode)},
          {"pooling", to_string(pooling)},  {"dropout", dropout}};
}

ClassifierConfig ClassifierConfig::from_json(const nlohmann::json& j) {
  try {
    ClassifierConfig c;
    c.kind = classifier_kind_from_string(j.at("kind").get<std::string>());
    c.words = j.at("words").get<JsonInt<int64_t>>().value;
    c.classes = j.at("classes").get<JsonInt<int64_t>>().value;
    c.embed = j.at("embed").get<JsonInt<int64_t>>().value;
    c.hidden = j.at("hidden").get<JsonInt<int64_t>>().value;
    c.layers = j.at("layers").get<JsonInt<int64_t>>().value;
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.mode = cell_mode_from_string(j.at("mode").get<std::string>());
    c.pooling = pooling_from_string(j.at("pooling").get<std::string>());
    c.dropout = j.at("dropout").get<double>();
    return c;
  } catch (const nlohmann::json::exception& e) {
    fail("classifier configuration: ", e.what());
  }
}

namespace {

void check_class_batch(const ClassBatch& batch) {
  const int64_t B = static_cast<int64_t>(batch.lengths.size());
  check(B >= 1 && batch.words.rank() == 2 && batch.words.dim(1) == B && batch.words.dim(0) >= 1,
        "classifier: words must be [T,B] with B = lengths");
  for (size_t b = 0; b < batch.lengths.size(); ++b) {
    check(batch.lengths[b] >= 1 && batch.lengths[b] <= batch.words.dim(0), "classifier: lengths[",
          b, "] = ", batch.lengths[b], " outside 1..", batch.words.dim(0));
  }
}

template <class T>
struct RnnClassifierCache : ClassifierCache {
  const ClassBatch* batch = nullptr;
  Tensor<T> e_mask;
  RecurrentCachePtr<T> rnn;
  Shape y_shape;
  std::vector<int64_t> argmax;
  Tensor<T> pooled;  // after dropout
  Tensor<T> p_mask;
};

template <class T>
class RnnClassifier final : public Classifier<T> {
 public:
  RnnClassifier(const ClassifierConfig& c, Parameters<T>& store, Rng& rng)
      : config_(c),
        embed_(c.words, c.embed, store, rng, "embed."),
        rnn_(RecurrentConfig{.mode = c.mode,
                             .input_size = c.embed,
                             .hidden_size = c.hidden,
                             .num_layers = c.layers,
                             .dropout = c.layers > 1 ? c.dropout : 0.0,
                             .bidirectional = c.bidirectional},
             store, rng, "rnn."),
        out_((c.bidirectional ? 2 : 1) * c.hidden, c.classes, store, rng, "out."),
        dropout_(c.dropout) {}

  const ClassifierConfig& config() const override { return config_; }

  Tensor<T> forward(const ClassBatch& batch, Mode mode, Rng* rng,
                    std::unique_ptr<ClassifierCache>* cache) const override {
    check_class_batch(batch);
    check(mode == Mode::Eval || rng != nullptr, "classifier: training mode needs a generator");
    Rng unused(0);
    Rng& r = rng ? *rng : unused;
    auto c = std::make_unique<RnnClassifierCache<T>>();
    RecurrentInput<T> input;
    input.x = dropout_.forward(embed_.forward(batch.words), mode, r, &c->e_mask);
    input.lengths = batch.lengths;
    const RecurrentOutput<T> out = rnn_.forward(input, mode, rng, cache ? &c->rnn : nullptr);
    const int64_t D = config_.bidirectional ? 2 : 1;
    Tensor<T> pooled = pool_forward(config_.pooling, out.y, batch.lengths, D, &c->argmax);
    c->pooled = dropout_.forward(pooled, mode, r, &c->p_mask);
    Tensor<T> logits = out_.forward(c->pooled);
    if (cache) {
      c->batch = &batch;
      c->y_shape = out.y.shape();
      *cache = std::move(c);
    }
    return logits;
  }

  void backward(const ClassifierCache& base, const Tensor<T>& dlogits) const override {
    const auto& c = dynamic_cast<const RnnClassifierCache<T>&>(base);
    const Tensor<T> dpooled = dropout_.backward(c.p_mask, out_.backward(c.pooled, dlogits));
    const int64_t D = config_.bidirectional ? 2 : 1;
    RecurrentGradOutput<T> grad;
    grad.dy = pool_backward(config_.pooling, c.y_shape, c.batch->lengths, D, c.argmax, dpooled);
    const RecurrentGradInput<T> g = rnn_.backward(*c.rnn, grad);
    Tensor<T> de = dropout_.backward(c.e_mask, g.dx);
    mask_padding(de, c.batch->lengths);
    embed_.backward(c.batch->words, de);
  }

  static void mask_padding(Tensor<T>& d, const std::vector<int64_t>& lengths) {
    const int64_t steps = d.dim(0), B = d.dim(1), F = d.dim(2);
    for (int64_t t = 0; t < steps; ++t) {
      for (int64_t b = 0; b < B; ++b) {
        if (t >= lengths[static_cast<size_t>(b)]) std::fill_n(d.data() + (t * B + b) * F, F, T(0));
      }
    }
  }

 private:
  ClassifierConfig config_;
  nn::Embedding<T> embed_;
  Recurrent<T> rnn_;
  nn::Linear<T> out_;
  nn::Dropout<T> dropout_;
};

template <class T>
struct BowCache : ClassifierCache {
  Tensor<T> x;  // [B,V]
};

template <class T>
class BowClassifier final : public Classifier<T> {
 public:
  BowClassifier(const ClassifierConfig& c, Parameters<T>& store, Rng& rng)
      : config_(c), out_(c.words, c.classes, store, rng, "out.") {}
  const ClassifierConfig& config() const override { return config_; }

  Tensor<T> forward(const ClassBatch& batch, Mode, Rng*,
                    std::unique_ptr<ClassifierCache>* cache) const override {
    check_class_batch(batch);
    const int64_t B = batch.words.dim(1), V = config_.words;
    auto c = std::make_unique<BowCache<T>>();
    c->x = Tensor<T>({B, V});
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t < batch.lengths[static_cast<size_t>(b)]; ++t) {
        const int64_t id = batch.words[t * B + b];
        check(id >= 0 && id < V, "classifier: word id ", id, " out of range 0..", V - 1);
        c->x[b * V + id] = T(1);
      }
    }
    Tensor<T> logits = out_.forward(c->x);
    if (cache) *cache = std::move(c);
    return logits;
  }
  void backward(const ClassifierCache& base, const Tensor<T>& dlogits) const override {
    out_.backward(dynamic_cast<const BowCache<T>&>(base).x, dlogits);
  }

 private:
  ClassifierConfig config_;
  nn::Linear<T> out_;
};

template <class T>
struct MeanEmbCache : ClassifierCache {
  const ClassBatch* batch = nullptr;
  Shape e_shape;
  Tensor<T> pooled;  // after dropout
  Tensor<T> p_mask;
  Tensor<T> h;       // tanh output
};

template <class T>
class MeanEmbClassifier final : public Classifier<T> {
 public:
  MeanEmbClassifier(const ClassifierConfig& c, Parameters<T>& store, Rng& rng)
      : config_(c),
        embed_(c.words, c.embed, store, rng, "embed."),
        hidden_(c.embed, c.hidden, store, rng, "hidden."),
        out_(c.hidden, c.classes, store, rng, "out."),
        dropout_(c.dropout) {}
  const ClassifierConfig& config() const override { return config_; }

  Tensor<T> forward(const ClassBatch& batch, Mode mode, Rng* rng,
                    std::unique_ptr<ClassifierCache>* cache) const override {
    check_class_batch(batch);
    check(mode == Mode::Eval || rng != nullptr, "classifier: training mode needs a generator");
    Rng unused(0);
    auto c = std::make_unique<MeanEmbCache<T>>();
    const Tensor<T> e = embed_.forward(batch.words);
    c->e_shape = e.shape();
    c->pooled = dropout_.forward(pool_forward(Pooling::Mean, e, batch.lengths, 1), mode,
                                 rng ? *rng : unused, &c->p_mask);
    c->h = nn::tanh(hidden_.forward(c->pooled));
    Tensor<T> logits = out_.forward(c->h);
    if (cache) {
      c->batch = &batch;
      *cache = std::move(c);
    }
    return logits;
  }
  void backward(const ClassifierCache& base, const Tensor<T>& dlogits) const override {
    const auto& c = dynamic_cast<const MeanEmbCache<T>&>(base);
    const Tensor<T> dh = nn::tanh_backward(c.h, out_.backward(c.h, dlogits));
    const Tensor<T> dpooled = dropout_.backward(c.p_mask, hidden_.backward(c.pooled, dh));
    embed_.backward(c.batch->words,
                    pool_backward(Pooling::Mean, c.e_shape, c.batch->lengths, 1, {}, dpooled));
  }

 private:
  ClassifierConfig config_;
  nn::Embedding<T> embed_;
  nn::Linear<T> hidden_;
  nn::Linear<T> out_;
  nn::Dropout<T> dropout_;
};

}  // namespace

template <class T>
std::unique_ptr<Classifier<T>> make_classifier(const ClassifierConfig& c, Parameters<T>& store,
                                               Rng& rng) {
  check(c.words >= 1 && c.classes >= 1, "classifier: empty vocabulary or label set");
  check(c.embed >= 1 && c.hidden >= 1 && c.layers >= 1, "classifier: sizes must be positive");
  check(c.dropout >= 0 && c.dropout < 1, "classifier: dropout must be in [0, 1), got ", c.dropout);
  switch (c.kind) {
    case ClassifierKind::Rnn: return std::make_unique<RnnClassifier<T>>(c, store, rng);
    case ClassifierKind::BagOfWords: return std::make_unique<BowClassifier<T>>(c, store, rng);
    case ClassifierKind::MeanEmbedding:
      return std::make_unique<MeanEmbClassifier<T>>(c, store, rng);
  }
  fail("classifier: unknown kind");
}

#define RNN_TAGGING_INSTANTIATE(T)                                                            \
  template Tensor<T> pool_forward<T>(Pooling, const Tensor<T>&, const std::vector<int64_t>&,  \
                                     int64_t, std::vector<int64_t>*);                         \
  template Tensor<T> pool_backward<T>(Pooling, const Shape&, const std::vector<int64_t>&,     \
                                      int64_t, const std::vector<int64_t>&, const Tensor<T>&); \
  template class CharEncoder<T>;                                                              \
  template struct TaggerCacheDeleter<T>;                                                      \
  template class Tagger<T>;                                                                   \
  template std::unique_ptr<Classifier<T>> make_classifier<T>(const ClassifierConfig&,         \
                                                             Parameters<T>&, Rng&);

RNN_TAGGING_INSTANTIATE(float)
RNN_TAGGING_INSTANTIATE(double)

}  // namespace rnn::tagging
