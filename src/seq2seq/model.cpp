#include "rnn/seq2seq/model.h"

#include <cmath>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/nn/activations.h"
#include "rnn/train/losses.h"

namespace rnn::seq2seq {

// ---- configuration ------------------------------------------------------------------------

void Seq2SeqConfig::finalize() {
  check(src_vocab >= 4 && tgt_vocab >= 4, "seq2seq config: vocabularies need at least 4 tokens "
        "(<unk>, <s>, </s> and one more), got src_vocab ", src_vocab, ", tgt_vocab ", tgt_vocab);
  check(embed_size >= 1, "seq2seq config: embed_size must be >= 1, got ", embed_size);
  check(hidden_size >= 1, "seq2seq config: hidden_size must be >= 1, got ", hidden_size);
  check(encoder_layers >= 1 && decoder_layers >= 1, "seq2seq config: layers must be >= 1, got ",
        encoder_layers, " and ", decoder_layers);
  check(decoder_hidden >= 0, "seq2seq config: decoder_hidden must be >= 0, got ", decoder_hidden);
  if (decoder_hidden == 0) decoder_hidden = memory_size();
  check(attention_size >= 0, "seq2seq config: attention_size must be >= 0, got ", attention_size);
  check(std::isfinite(dropout) && dropout >= 0 && dropout < 1,
        "seq2seq config: dropout must be in [0, 1), got ", dropout);
  check(attention != AttentionScore::Dot || decoder_hidden == memory_size(),
        "seq2seq config: dot attention needs decoder_hidden (", decoder_hidden,
        ") == encoder output size (", memory_size(), ")");
}

nlohmann::json Seq2SeqConfig::to_json() const {
  return {{"src_vocab", src_vocab},         {"tgt_vocab", tgt_vocab},
          {"embed_size", embed_size},       {"cell", rnn::to_string(cell)},
          {"hidden_size", hidden_size},     {"encoder_layers", encoder_layers},
          {"bidirectional", bidirectional}, {"decoder_hidden", decoder_hidden},
          {"decoder_layers", decoder_layers}, {"attention", seq2seq::to_string(attention)},
          {"attention_size", attention_size}, {"input_feeding", input_feeding},
          {"dropout", dropout}};
}

Seq2SeqConfig Seq2SeqConfig::from_json(const nlohmann::json& j) {
  check(j.is_object(), "seq2seq config: not a JSON object");
  Seq2SeqConfig c;
  try {
    for (const auto& [key, value] : j.items()) {
      static const char* known[] = {"src_vocab", "tgt_vocab", "embed_size", "cell", "hidden_size",
                                    "encoder_layers", "bidirectional", "decoder_hidden",
                                    "decoder_layers", "attention", "attention_size",
                                    "input_feeding", "dropout"};
      bool ok = false;
      for (const char* k : known) ok = ok || key == k;
      check(ok, "seq2seq config: unknown key '", key, "'");
    }
    c.src_vocab = j.at("src_vocab").get<JsonInt<int64_t>>().value;
    c.tgt_vocab = j.at("tgt_vocab").get<JsonInt<int64_t>>().value;
    c.embed_size = j.at("embed_size").get<JsonInt<int64_t>>().value;
    c.cell = cell_mode_from_string(j.at("cell").get<std::string>());
    c.hidden_size = j.at("hidden_size").get<JsonInt<int64_t>>().value;
    c.encoder_layers = j.at("encoder_layers").get<JsonInt<int64_t>>().value;
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.decoder_hidden = j.at("decoder_hidden").get<JsonInt<int64_t>>().value;
    c.decoder_layers = j.at("decoder_layers").get<JsonInt<int64_t>>().value;
    c.attention = attention_score_from_string(j.at("attention").get<std::string>());
    c.attention_size = j.at("attention_size").get<JsonInt<int64_t>>().value;
    c.input_feeding = j.at("input_feeding").get<bool>();
    c.dropout = j.at("dropout").get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail("seq2seq config: ", e.what());
  }
  c.finalize();
  return c;
}

// ---- helpers ------------------------------------------------------------------------------

namespace {

// Row t of a [U,B,F] tensor as [B,F].
template <class T>
Tensor<T> slice_step(const Tensor<T>& x, int64_t t) {
  const int64_t b = x.dim(1), f = x.dim(2);
  const T* p = x.data() + t * b * f;
  return Tensor<T>({b, f}, std::vector<T>(p, p + b * f));
}

// [B,F1] | [B,F2] -> [B,F1+F2]
template <class T>
Tensor<T> concat_features(const Tensor<T>& a, const Tensor<T>& b) {
  const int64_t n = a.dim(0), fa = a.dim(1), fb = b.dim(1);
  Tensor<T> out({n, fa + fb});
  for (int64_t r = 0; r < n; ++r) {
    std::copy(a.data() + r * fa, a.data() + (r + 1) * fa, out.data() + r * (fa + fb));
    std::copy(b.data() + r * fb, b.data() + (r + 1) * fb, out.data() + r * (fa + fb) + fa);
  }
  return out;
}

// Columns [begin, begin+width) of [N,F].
template <class T>
Tensor<T> columns(const Tensor<T>& x, int64_t begin, int64_t width) {
  const int64_t n = x.dim(0), f = x.dim(1);
  Tensor<T> out({n, width});
  for (int64_t r = 0; r < n; ++r)
    std::copy(x.data() + r * f + begin, x.data() + r * f + begin + width, out.data() + r * width);
  return out;
}

// Top layer of a state [D*L,B,H] -> [B, D*H] (forward | backward).
template <class T>
Tensor<T> top_layer(const Tensor<T>& state, int64_t layers, int64_t dirs) {
  const int64_t b = state.dim(1), h = state.dim(2);
  Tensor<T> out({b, dirs * h});
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t r = 0; r < b; ++r) {
      const T* src = state.data() + (((layers - 1) * dirs + d) * b + r) * h;
      std::copy(src, src + h, out.data() + r * dirs * h + d * h);
    }
  return out;
}

template <class T>
Tensor<T> top_layer_backward(const Tensor<T>& d, int64_t layers, int64_t dirs, int64_t h) {
  const int64_t b = d.dim(0);
  Tensor<T> out({layers * dirs, b, h});
  for (int64_t k = 0; k < dirs; ++k)
    for (int64_t r = 0; r < b; ++r) {
      const T* src = d.data() + r * dirs * h + k * h;
      std::copy(src, src + h, out.data() + (((layers - 1) * dirs + k) * b + r) * h);
    }
  return out;
}

// [B, L*H] <-> [L,B,H]
template <class T>
Tensor<T> to_layers(const Tensor<T>& x, int64_t layers, int64_t h) {
  const int64_t b = x.dim(0);
  Tensor<T> out({layers, b, h});
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t r = 0; r < b; ++r)
      std::copy(x.data() + r * layers * h + l * h, x.data() + r * layers * h + (l + 1) * h,
                out.data() + (l * b + r) * h);
  return out;
}
template <class T>
Tensor<T> from_layers(const Tensor<T>& x) {
  const int64_t layers = x.dim(0), b = x.dim(1), h = x.dim(2);
  Tensor<T> out({b, layers * h});
  for (int64_t l = 0; l < layers; ++l)
    for (int64_t r = 0; r < b; ++r)
      std::copy(x.data() + (l * b + r) * h, x.data() + (l * b + r + 1) * h,
                out.data() + r * layers * h + l * h);
  return out;
}

template <class T>
void add_into(Tensor<T>& a, const Tensor<T>& b) {
  for (int64_t i = 0; i < a.numel(); ++i) a[i] += b[i];
}

void check_ids(const Tensor<int64_t>& ids, int64_t vocab, const char* name) {
  for (int64_t i = 0; i < ids.numel(); ++i)
    check(ids[i] >= 0 && ids[i] < vocab, "seq2seq: ", name, " id ", ids[i], " at position ", i,
          " outside the vocabulary of ", vocab);
}

}  // namespace

// ---- model --------------------------------------------------------------------------------

template <class T>
struct Seq2Seq<T>::Encoded {
  AttentionMemory<T> memory;   // memory + lengths (+ keys)
  Tensor<T> bridge_in_h, bridge_in_c;  // [B,M]
  Tensor<T> h0, c0;            // decoder initial state [Ld,B,Hd] (tanh outputs)
  // for backward
  Tensor<T> src_emb, src_mask;
  RecurrentCachePtr<T> cache;
};

template <class T>
Seq2Seq<T>::Seq2Seq(Seq2SeqConfig config, Rng& rng) : config_(std::move(config)), dropout_(config_.dropout) {
  config_.finalize();
  const Seq2SeqConfig& c = config_;
  src_embed_ = std::make_unique<nn::Embedding<T>>(c.src_vocab, c.embed_size, store_, rng, "src_embed.");
  tgt_embed_ = std::make_unique<nn::Embedding<T>>(c.tgt_vocab, c.embed_size, store_, rng, "tgt_embed.");
  RecurrentConfig enc{.mode = c.cell, .input_size = c.embed_size, .hidden_size = c.hidden_size,
                      .num_layers = c.encoder_layers,
                      .dropout = c.encoder_layers > 1 ? c.dropout : 0.0,
                      .bidirectional = c.bidirectional};
  encoder_ = std::make_unique<Recurrent<T>>(enc, store_, rng, "encoder.");
  const int64_t m = c.memory_size(), hd = c.decoder_hidden;
  bridge_h_ = std::make_unique<nn::Linear<T>>(m, c.decoder_layers * hd, store_, rng, "bridge_h.");
  if (c.cell == CellMode::LSTM)
    bridge_c_ = std::make_unique<nn::Linear<T>>(m, c.decoder_layers * hd, store_, rng, "bridge_c.");
  RecurrentConfig dec{.mode = c.cell,
                      .input_size = c.embed_size + (c.input_feeding ? hd : 0),
                      .hidden_size = hd,
                      .num_layers = c.decoder_layers,
                      .dropout = c.decoder_layers > 1 ? c.dropout : 0.0};
  decoder_ = std::make_unique<Recurrent<T>>(dec, store_, rng, "decoder.");
  if (c.attention != AttentionScore::None) {
    attention_ = std::make_unique<Attention<T>>(
        AttentionConfig{c.attention, hd, m, c.attention_size}, store_, rng, "attention.");
  }
  combine_ = std::make_unique<nn::Linear<T>>(attention_ ? m + hd : hd, hd, store_, rng, "combine.");
  generator_ = std::make_unique<nn::Linear<T>>(hd, c.tgt_vocab, store_, rng, "generator.");
}

template <class T>
typename Seq2Seq<T>::Encoded Seq2Seq<T>::encode(const Tensor<int64_t>& src,
                                                const std::vector<int64_t>& lengths, Mode mode,
                                                Rng* rng, bool keep_cache) const {
  check(src.rank() == 2 && src.dim(0) >= 1 && src.dim(1) >= 1,
        "seq2seq: source ids must be [S,B], got ", shape_str(src.shape()));
  check(static_cast<int64_t>(lengths.size()) == src.dim(1), "seq2seq: ", lengths.size(),
        " source lengths for a batch of ", src.dim(1));
  check_ids(src, config_.src_vocab, "source");
  const Seq2SeqConfig& c = config_;
  Encoded e;
  Rng dummy(0);
  e.src_emb = src_embed_->forward(src);
  Tensor<T> x = dropout_.forward(e.src_emb, mode, rng ? *rng : dummy, &e.src_mask);
  RecurrentInput<T> in;
  in.x = std::move(x);
  in.lengths = lengths;
  RecurrentOutput<T> out = encoder_->forward(in, mode, rng, keep_cache ? &e.cache : nullptr);
  const int64_t dirs = c.bidirectional ? 2 : 1;
  e.bridge_in_h = top_layer(out.h_n, c.encoder_layers, dirs);
  e.h0 = to_layers(nn::tanh(bridge_h_->forward(e.bridge_in_h)), c.decoder_layers, c.decoder_hidden);
  if (bridge_c_) {
    e.bridge_in_c = top_layer(out.c_n, c.encoder_layers, dirs);
    e.c0 = to_layers(nn::tanh(bridge_c_->forward(e.bridge_in_c)), c.decoder_layers, c.decoder_hidden);
  }
  if (attention_) {
    e.memory = attention_->prepare(std::move(out.y), lengths);
  } else {
    e.memory.memory = std::move(out.y);
    e.memory.lengths = lengths;
  }
  return e;
}

template <class T>
SequenceLoss Seq2Seq<T>::loss(const Seq2SeqBatch& batch, Mode mode, Rng* rng,
                              const LossOptions& options) const {
  const Seq2SeqConfig& c = config_;
  const int64_t B = batch.batch();
  check(batch.tgt_in.rank() == 2 && batch.tgt_in.dim(1) == B && batch.tgt_in.dim(0) >= 1,
        "seq2seq: target ids must be [U,", B, "], got ", shape_str(batch.tgt_in.shape()));
  check_shape(batch.tgt_out, batch.tgt_in.shape(), "seq2seq: tgt_out");
  check(static_cast<int64_t>(batch.tgt_lengths.size()) == B, "seq2seq: ",
        batch.tgt_lengths.size(), " target lengths for a batch of ", B);
  check_ids(batch.tgt_in, c.tgt_vocab, "target");
  check(mode == Mode::Eval || rng != nullptr, "seq2seq: training mode needs a generator");
  const int64_t U = batch.tgt_in.dim(0), Hd = c.decoder_hidden, E = c.embed_size,
                M = c.memory_size();
  Rng dummy(0);
  Rng& r = rng ? *rng : dummy;

  Encoded enc = encode(batch.src, batch.src_lengths, mode, rng, options.backward);

  // Target embeddings for every step at once.
  const Tensor<T> tgt_emb = tgt_embed_->forward(batch.tgt_in);  // [U,B,E]
  Tensor<T> tgt_mask;
  const Tensor<T> tgt_x = dropout_.forward(tgt_emb, mode, r, &tgt_mask);

  struct Step {
    RecurrentCachePtr<T> rnn;
    AttentionStep<T> attn;
    Tensor<T> combine_in;  // [B, M+Hd] or [B,Hd]
    Tensor<T> htilde;      // [B,Hd]
  };
  std::vector<Step> steps(static_cast<size_t>(U));
  RecurrentState<T> state{enc.h0, enc.c0};
  Tensor<T> feed({B, Hd});
  Tensor<T> outputs({U, B, Hd});
  for (int64_t t = 0; t < U; ++t) {
    Step& s = steps[static_cast<size_t>(t)];
    Tensor<T> emb = slice_step(tgt_x, t);
    RecurrentInput<T> in;
    in.x = c.input_feeding ? concat_features(emb, feed) : std::move(emb);
    in.x.reshape({1, B, in.x.dim(1)});
    in.h0 = std::move(state.h);
    in.c0 = std::move(state.c);
    RecurrentOutput<T> out =
        decoder_->forward(in, mode, rng, options.backward ? &s.rnn : nullptr);
    state.h = std::move(out.h_n);
    state.c = std::move(out.c_n);
    Tensor<T> h = std::move(out.y);
    h.reshape({B, Hd});
    if (attention_) {
      const Tensor<T> ctx = attention_->forward(enc.memory, h, s.attn);
      s.combine_in = concat_features(ctx, h);
    } else {
      s.combine_in = std::move(h);
    }
    s.htilde = nn::tanh(combine_->forward(s.combine_in));
    std::copy(s.htilde.data(), s.htilde.data() + B * Hd, outputs.data() + t * B * Hd);
    if (c.input_feeding) feed = s.htilde;
  }
  Tensor<T> out_mask;
  const Tensor<T> out_x = dropout_.forward(outputs, mode, r, &out_mask);
  const Tensor<T> logits = generator_->forward(out_x);  // [U,B,Vt]

  CrossEntropyOptions<T> ce;
  ce.label_smoothing = options.label_smoothing;
  ce.reduction = Reduction::Sum;
  LossUpstream<T> up;
  up.want_grad = options.backward;
  up.scale = static_cast<T>(options.grad_scale);
  LossResult<T> l = cross_entropy_sequence(logits, batch.tgt_out, batch.tgt_lengths, ce, up);
  SequenceLoss result;
  result.sum = static_cast<double>(l.loss);
  for (int64_t n : batch.tgt_lengths) result.count += n;
  if (!options.backward) return result;

  // ---- backward ----
  const Tensor<T> douts = dropout_.backward(out_mask, generator_->backward(out_x, l.grad));
  Tensor<T> dtgt_x({U, B, E});
  Tensor<T> dfeed({B, Hd});
  RecurrentState<T> dstate;
  AttentionMemoryGrad<T> mgrad;
  for (int64_t t = U - 1; t >= 0; --t) {
    Step& s = steps[static_cast<size_t>(t)];
    Tensor<T> dht = slice_step(douts, t);
    if (c.input_feeding) add_into(dht, dfeed);
    const Tensor<T> dpre = nn::tanh_backward(s.htilde, dht);
    const Tensor<T> dcin = combine_->backward(s.combine_in, dpre);
    Tensor<T> dh;
    if (attention_) {
      dh = columns(dcin, M, Hd);
      add_into(dh, attention_->backward(enc.memory, s.attn, columns(dcin, 0, M), mgrad));
    } else {
      dh = dcin;
    }
    RecurrentGradOutput<T> g;
    g.dy = std::move(dh);
    g.dy.reshape({1, B, Hd});
    g.dh_n = std::move(dstate.h);
    g.dc_n = std::move(dstate.c);
    RecurrentGradInput<T> gi = decoder_->backward(*s.rnn, g);
    s.rnn.reset();
    dstate.h = std::move(gi.dh0);
    dstate.c = std::move(gi.dc0);
    Tensor<T> dx = std::move(gi.dx);
    dx.reshape({B, dx.numel() / B});
    const Tensor<T> demb = c.input_feeding ? columns(dx, 0, E) : dx;
    std::copy(demb.data(), demb.data() + B * E, dtgt_x.data() + t * B * E);
    if (c.input_feeding) dfeed = columns(dx, E, Hd);
  }
  tgt_embed_->backward(batch.tgt_in, dropout_.backward(tgt_mask, dtgt_x));

  // Bridge: h0 = tanh(bridge_h(top h_n)).
  const int64_t dirs = c.bidirectional ? 2 : 1;
  RecurrentGradOutput<T> eg;
  {
    const Tensor<T> dpre = nn::tanh_backward(from_layers(enc.h0), from_layers(dstate.h));
    eg.dh_n = top_layer_backward(bridge_h_->backward(enc.bridge_in_h, dpre), c.encoder_layers,
                                 dirs, c.hidden_size);
  }
  if (bridge_c_) {
    const Tensor<T> dpre = nn::tanh_backward(from_layers(enc.c0), from_layers(dstate.c));
    eg.dc_n = top_layer_backward(bridge_c_->backward(enc.bridge_in_c, dpre), c.encoder_layers,
                                 dirs, c.hidden_size);
  }
  if (attention_) {
    eg.dy = attention_->backward_memory(enc.memory, mgrad);
  }
  RecurrentGradInput<T> egi = encoder_->backward(*enc.cache, eg);
  src_embed_->backward(batch.src, dropout_.backward(enc.src_mask, egi.dx));
  return result;
}

template <class T>
DecoderState<T> Seq2Seq<T>::start(const Tensor<int64_t>& src,
                                  const std::vector<int64_t>& lengths) const {
  Encoded e = encode(src, lengths, Mode::Eval, nullptr, false);
  DecoderState<T> s;
  s.rnn.h = std::move(e.h0);
  s.rnn.c = std::move(e.c0);
  s.feed = Tensor<T>({src.dim(1), config_.decoder_hidden});
  s.memory = std::move(e.memory);
  return s;
}

template <class T>
Tensor<T> Seq2Seq<T>::step(DecoderState<T>& state, std::span<const int64_t> previous,
                           Tensor<T>* weights) const {
  const int64_t N = state.rows(), Hd = config_.decoder_hidden;
  check(static_cast<int64_t>(previous.size()) == N, "seq2seq step: ", previous.size(),
        " previous tokens for ", N, " rows");
  Tensor<int64_t> ids({N}, std::vector<int64_t>(previous.begin(), previous.end()));
  check_ids(ids, config_.tgt_vocab, "target");
  Tensor<T> emb = tgt_embed_->forward(ids);  // [N,E]
  RecurrentInput<T> in;
  in.x = config_.input_feeding ? concat_features(emb, state.feed) : std::move(emb);
  in.x.reshape({1, N, in.x.dim(1)});
  in.h0 = std::move(state.rnn.h);
  in.c0 = std::move(state.rnn.c);
  RecurrentOutput<T> out = decoder_->forward(in, Mode::Eval, nullptr, nullptr);
  state.rnn.h = std::move(out.h_n);
  state.rnn.c = std::move(out.c_n);
  Tensor<T> h = std::move(out.y);
  h.reshape({N, Hd});
  Tensor<T> cin;
  if (attention_) {
    AttentionStep<T> s;
    const Tensor<T> ctx = attention_->forward(state.memory, h, s);
    if (weights) *weights = std::move(s.weights);
    cin = concat_features(ctx, h);
  } else {
    if (weights) *weights = Tensor<T>();
    cin = std::move(h);
  }
  Tensor<T> htilde = nn::tanh(combine_->forward(cin));
  Tensor<T> logits = generator_->forward(htilde);
  state.feed = std::move(htilde);
  return logits;
}

template <class T>
DecoderState<T> Seq2Seq<T>::select(const DecoderState<T>& state, const std::vector<int64_t>& rows) {
  auto pick_state = [&](const Tensor<T>& t) {  // [L,N,H]
    if (t.empty()) return Tensor<T>();
    const int64_t L = t.dim(0), N = t.dim(1), H = t.dim(2);
    const int64_t n = static_cast<int64_t>(rows.size());
    Tensor<T> out({L, n, H});
    for (int64_t l = 0; l < L; ++l)
      for (int64_t r = 0; r < n; ++r)
        std::copy(t.data() + (l * N + rows[r]) * H, t.data() + (l * N + rows[r] + 1) * H,
                  out.data() + (l * n + r) * H);
    return out;
  };
  DecoderState<T> out;
  out.rnn.h = pick_state(state.rnn.h);
  out.rnn.c = pick_state(state.rnn.c);
  Tensor<T> feed = state.feed;
  feed.reshape({1, feed.dim(0), feed.dim(1)});
  out.feed = pick_state(feed);
  out.feed.reshape({static_cast<int64_t>(rows.size()), state.feed.dim(1)});
  out.memory = Attention<T>::select(state.memory, rows);
  return out;
}

template class Seq2Seq<float>;
template class Seq2Seq<double>;

}  // namespace rnn::seq2seq
