#include "rnn/forecast/model.h"

#include "rnn/core/json_int.h"
#include "rnn/forecast/quantile.h"

#include "rnn/layers/recurrent.h"
#include "rnn/nn/activations.h"
#include "rnn/nn/conv1d.h"
#include "rnn/nn/linear.h"

namespace rnn::forecast {

ModelKind model_kind_from_string(const std::string& name) {
  if (name == "recursive") return ModelKind::Recursive;
  if (name == "direct") return ModelKind::Direct;
  if (name == "seq2seq") return ModelKind::Seq2Seq;
  if (name == "cnn") return ModelKind::Cnn;
  fail("unknown model '", name, "' (recursive, direct, seq2seq, cnn)");
}

std::string to_string(ModelKind kind) {
  switch (kind) {
    case ModelKind::Recursive: return "recursive";
    case ModelKind::Direct: return "direct";
    case ModelKind::Seq2Seq: return "seq2seq";
    case ModelKind::Cnn: return "cnn";
  }
  return "?";
}

void ForecastModelConfig::validate() const {
  check(input_size >= 1, "model: input_size must be >= 1, got ", input_size);
  check(n_targets >= 1 && n_targets <= input_size, "model: n_targets ", n_targets,
        " must be in 1..input_size (", input_size, ")");
  check(lookback >= 1, "model: lookback must be >= 1, got ", lookback);
  check(horizon >= 1, "model: horizon must be >= 1, got ", horizon);
  validate_quantiles(quantiles);
  if (kind == ModelKind::Recursive) {
    check(input_size == n_targets,
          "model: recursive forecasting feeds forecasts back as inputs, so it cannot use "
          "covariates (their future is unknown); use --model direct or seq2seq");
  }
  if (kind == ModelKind::Cnn) {
    check(channels >= 1, "model: channels must be >= 1, got ", channels);
    check(kernel_size >= 1, "model: kernel_size must be >= 1, got ", kernel_size);
    check(lookback >= 2 * (kernel_size - 1) + 1, "model: cnn with kernel ", kernel_size,
          " needs a lookback of at least ", 2 * (kernel_size - 1) + 1, ", got ", lookback);
    return;
  }
  check(!(kind == ModelKind::Seq2Seq && bidirectional),
        "model: seq2seq hands the encoder's state to a one-directional decoder; "
        "--bidirectional works with recursive and direct");
  RecurrentConfig rc;
  rc.mode = cell;
  rc.input_size = input_size;
  rc.hidden_size = hidden_size;
  rc.num_layers = num_layers;
  rc.dropout = dropout;
  rc.bidirectional = bidirectional;
  rc.proj_size = proj_size;
  rc.validate();
}

int64_t ForecastModelConfig::point_level() const { return point_quantile_index(quantiles); }

nlohmann::json ForecastModelConfig::to_json() const {
  nlohmann::json j = {{"kind", to_string(kind)},       {"input_size", input_size},
          {"n_targets", n_targets},        {"lookback", lookback},
          {"horizon", horizon},            {"cell", rnn::to_string(cell)},
          {"hidden_size", hidden_size},    {"num_layers", num_layers},
          {"dropout", dropout},            {"bidirectional", bidirectional},
          {"proj_size", proj_size},        {"channels", channels},
          {"kernel_size", kernel_size}};
  if (!quantiles.empty()) j["quantiles"] = quantiles;
  return j;
}

ForecastModelConfig ForecastModelConfig::from_json(const nlohmann::json& j) {
  try {
    ForecastModelConfig c;
    c.kind = model_kind_from_string(j.at("kind").get<std::string>());
    c.input_size = j.at("input_size").get<JsonInt<int64_t>>().value;
    c.n_targets = j.at("n_targets").get<JsonInt<int64_t>>().value;
    c.lookback = j.at("lookback").get<JsonInt<int64_t>>().value;
    c.horizon = j.at("horizon").get<JsonInt<int64_t>>().value;
    c.cell = cell_mode_from_string(j.at("cell").get<std::string>());
    c.hidden_size = j.at("hidden_size").get<JsonInt<int64_t>>().value;
    c.num_layers = j.at("num_layers").get<JsonInt<int64_t>>().value;
    c.dropout = j.at("dropout").get<double>();
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.proj_size = j.at("proj_size").get<JsonInt<int64_t>>().value;
    c.channels = j.at("channels").get<JsonInt<int64_t>>().value;
    c.kernel_size = j.at("kernel_size").get<JsonInt<int64_t>>().value;
    if (j.contains("quantiles")) c.quantiles = j.at("quantiles").get<std::vector<double>>();
    c.validate();
    return c;
  } catch (const nlohmann::json::exception& e) {
    fail("forecast model config: ", e.what());  // a missing or mistyped field: rnn::Error, one line
  }
}

struct ForecastModel::Impl {
  std::unique_ptr<Recurrent<float>> encoder, decoder;
  std::unique_ptr<nn::Conv1d<float>> conv1, conv2;
  std::unique_ptr<nn::Linear<float>> head;
};

struct ForecastModel::Cache {
  RecurrentCachePtr<float> encoder, decoder;
  Shape h_n_shape;
  Tensor<float> features;  // head input: [B, D*Hout] (rnn), [K,B,Hout] (seq2seq), [B, C*L2] (cnn)
  Tensor<float> xt, a1, r1, a2;  // cnn
  int64_t batch = 0;
};

void ForecastModel::CacheDeleter::operator()(Cache* cache) const { delete cache; }

ForecastModel::~ForecastModel() = default;
ForecastModel::ForecastModel(ForecastModel&&) noexcept = default;

ForecastModel::ForecastModel(const ForecastModelConfig& config, Parameters<float>& store, Rng& rng)
    : config_(config), store_(&store), impl_(std::make_unique<Impl>()) {
  config_.validate();
  const auto& c = config_;
  if (c.kind == ModelKind::Cnn) {
    impl_->conv1 = std::make_unique<nn::Conv1d<float>>(c.input_size, c.channels, c.kernel_size,
                                                       store, rng, "conv1.");
    impl_->conv2 = std::make_unique<nn::Conv1d<float>>(c.channels, c.channels, c.kernel_size,
                                                       store, rng, "conv2.");
    const int64_t l2 = c.lookback - 2 * (c.kernel_size - 1);
    impl_->head = std::make_unique<nn::Linear<float>>(c.channels * l2,
                                                      c.horizon * c.n_targets * c.levels(), store,
                                                      rng, "head.");
    return;
  }
  RecurrentConfig rc;
  rc.mode = c.cell;
  rc.input_size = c.input_size;
  rc.hidden_size = c.hidden_size;
  rc.num_layers = c.num_layers;
  rc.dropout = c.dropout;
  rc.bidirectional = c.bidirectional;
  rc.proj_size = c.proj_size;
  impl_->encoder = std::make_unique<Recurrent<float>>(rc, store, rng, "encoder.");
  const int64_t hout = rc.output_hidden();
  if (c.kind == ModelKind::Seq2Seq) {
    RecurrentConfig dc = rc;
    dc.input_size = c.n_targets;
    impl_->decoder = std::make_unique<Recurrent<float>>(dc, store, rng, "decoder.");
    impl_->head = std::make_unique<nn::Linear<float>>(hout, c.n_targets * c.levels(), store, rng,
                                                      "head.");
  } else {
    impl_->head = std::make_unique<nn::Linear<float>>(rc.directions() * hout,
                                                      c.train_steps() * c.n_targets * c.levels(),
                                                      store, rng, "head.");
  }
}

namespace {

// Top layer's final states of both directions: h_n [D*L,B,Hout] -> [B, D*Hout].
Tensor<float> top_states(const Tensor<float>& h_n, int64_t layers, int64_t dirs) {
  const int64_t B = h_n.dim(1), H = h_n.dim(2);
  Tensor<float> out({B, dirs * H});
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) out.at(b, d * H + j) = h_n.at((layers - 1) * dirs + d, b, j);
  return out;
}

// [B, K*Nt] <-> [K, B, Nt]
Tensor<float> to_steps(const Tensor<float>& flat, int64_t steps, int64_t nt) {
  const int64_t B = flat.dim(0);
  Tensor<float> out({steps, B, nt});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < steps; ++k)
      for (int64_t f = 0; f < nt; ++f) out.at(k, b, f) = flat.at(b, k * nt + f);
  return out;
}
Tensor<float> from_steps(const Tensor<float>& steps_t) {
  const int64_t K = steps_t.dim(0), B = steps_t.dim(1), nt = steps_t.dim(2);
  Tensor<float> out({B, K * nt});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t f = 0; f < nt; ++f) out.at(b, k * nt + f) = steps_t.at(k, b, f);
  return out;
}

// [L,B,F] -> [B,F,L]
Tensor<float> to_channels(const Tensor<float>& x) {
  const int64_t L = x.dim(0), B = x.dim(1), F = x.dim(2);
  Tensor<float> out({B, F, L});
  for (int64_t t = 0; t < L; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t f = 0; f < F; ++f) out.at(b, f, t) = x.at(t, b, f);
  return out;
}

}  // namespace

Tensor<float> ForecastModel::forward(const Tensor<float>& x, const Tensor<float>& targets, Rng& rng,
                                     CachePtr& cache) const {
  const auto& c = config_;
  check(x.rank() == 3 && x.dim(0) == c.lookback && x.dim(2) == c.input_size,
        "forecast model: x must be [", c.lookback, ", B, ", c.input_size, "], got ",
        shape_str(x.shape()));
  const int64_t B = x.dim(1);
  cache = CachePtr(new Cache());
  cache->batch = B;
  if (c.kind == ModelKind::Cnn) {
    cache->xt = to_channels(x);
    cache->a1 = impl_->conv1->forward(cache->xt);
    cache->r1 = nn::relu(cache->a1);
    cache->a2 = impl_->conv2->forward(cache->r1);
    Tensor<float> r2 = nn::relu(cache->a2);
    r2.reshape({B, r2.numel() / B});
    cache->features = std::move(r2);
    return to_steps(impl_->head->forward(cache->features), c.horizon, c.n_targets * c.levels());
  }
  RecurrentInput<float> in;
  in.x = x;
  RecurrentOutput<float> enc = impl_->encoder->forward(in, Mode::Train, &rng, &cache->encoder);
  cache->h_n_shape = enc.h_n.shape();
  if (c.kind != ModelKind::Seq2Seq) {
    cache->features = top_states(enc.h_n, c.num_layers, c.bidirectional ? 2 : 1);
    return to_steps(impl_->head->forward(cache->features), c.train_steps(),
                    c.n_targets * c.levels());
  }
  check_shape(targets, {c.horizon, B, c.n_targets}, "seq2seq teacher targets");
  RecurrentInput<float> dec_in;
  dec_in.x = Tensor<float>({c.horizon, B, c.n_targets});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < c.n_targets; ++f) dec_in.x.at(0, b, f) = x.at(c.lookback - 1, b, f);
  for (int64_t k = 1; k < c.horizon; ++k)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t f = 0; f < c.n_targets; ++f) dec_in.x.at(k, b, f) = targets.at(k - 1, b, f);
  dec_in.h0 = enc.h_n;
  dec_in.c0 = enc.c_n;
  RecurrentOutput<float> dec = impl_->decoder->forward(dec_in, Mode::Train, &rng, &cache->decoder);
  cache->features = std::move(dec.y);
  return impl_->head->forward(cache->features);
}

void ForecastModel::backward(const Cache& cache, const Tensor<float>& dprediction) const {
  const auto& c = config_;
  const int64_t B = cache.batch;
  check_shape(dprediction, {c.train_steps(), B, c.n_targets * c.levels()},
              "forecast model: dprediction");
  if (c.kind == ModelKind::Cnn) {
    Tensor<float> dflat = impl_->head->backward(cache.features, from_steps(dprediction));
    dflat.reshape(cache.a2.shape());
    const Tensor<float> da2 = nn::relu_backward(cache.a2, dflat);
    const Tensor<float> dr1 = impl_->conv2->backward(cache.r1, da2);
    const Tensor<float> da1 = nn::relu_backward(cache.a1, dr1);
    impl_->conv1->backward(cache.xt, da1);
    return;
  }
  RecurrentGradOutput<float> enc_grad;
  if (c.kind != ModelKind::Seq2Seq) {
    const Tensor<float> dfeat = impl_->head->backward(cache.features, from_steps(dprediction));
    const int64_t dirs = c.bidirectional ? 2 : 1, H = cache.h_n_shape[2];
    enc_grad.dh_n = Tensor<float>(cache.h_n_shape);
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j)
          enc_grad.dh_n.at((c.num_layers - 1) * dirs + d, b, j) = dfeat.at(b, d * H + j);
  } else {
    RecurrentGradOutput<float> dec_grad;
    dec_grad.dy = impl_->head->backward(cache.features, dprediction);
    RecurrentGradInput<float> g = impl_->decoder->backward(*cache.decoder, dec_grad);
    enc_grad.dh_n = std::move(g.dh0);
    enc_grad.dc_n = std::move(g.dc0);
  }
  impl_->encoder->backward(*cache.encoder, enc_grad);
}

Tensor<float> ForecastModel::forecast(const Tensor<float>& x) const {
  const Tensor<float> q = forecast_quantiles(x);
  return config_.levels() == 1 ? q : select_quantile(q, config_.levels(), config_.point_level());
}

Tensor<float> ForecastModel::forecast_quantiles(const Tensor<float>& x) const {
  const auto& c = config_;
  check(x.rank() == 3 && x.dim(0) == c.lookback && x.dim(2) == c.input_size,
        "forecast model: x must be [", c.lookback, ", B, ", c.input_size, "], got ",
        shape_str(x.shape()));
  const int64_t B = x.dim(1), L = c.lookback, nt = c.n_targets, Q = c.levels(),
                mid = c.point_level();
  if (c.kind == ModelKind::Cnn) {
    Tensor<float> r2 = nn::relu(impl_->conv2->forward(nn::relu(impl_->conv1->forward(to_channels(x)))));
    r2.reshape({B, r2.numel() / B});
    Tensor<float> out = to_steps(impl_->head->forward(r2), c.horizon, nt * Q);
    sort_quantiles(out, Q);
    return out;
  }
  const int64_t dirs = c.bidirectional ? 2 : 1;
  if (c.kind == ModelKind::Direct) {
    RecurrentInput<float> in;
    in.x = x;
    const auto enc = impl_->encoder->forward(in, Mode::Eval, nullptr, nullptr);
    Tensor<float> out =
        to_steps(impl_->head->forward(top_states(enc.h_n, c.num_layers, dirs)), c.horizon, nt * Q);
    sort_quantiles(out, Q);
    return out;
  }
  Tensor<float> out({c.horizon, B, nt * Q});
  if (c.kind == ModelKind::Recursive) {
    RecurrentInput<float> in;
    in.x = x;
    for (int64_t k = 0; k < c.horizon; ++k) {
      const auto enc = impl_->encoder->forward(in, Mode::Eval, nullptr, nullptr);
      Tensor<float> p = impl_->head->forward(top_states(enc.h_n, c.num_layers, dirs));
      sort_quantiles(p, Q);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < nt * Q; ++j) out.at(k, b, j) = p.at(b, j);
      // Slide the window one step: drop the oldest row, append the point forecast
      // (the median level: the intervals do not feed back).
      Tensor<float> next(in.x.shape());
      for (int64_t t = 0; t + 1 < L; ++t)
        for (int64_t b = 0; b < B; ++b)
          for (int64_t f = 0; f < nt; ++f) next.at(t, b, f) = in.x.at(t + 1, b, f);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t f = 0; f < nt; ++f) next.at(L - 1, b, f) = p.at(b, f * Q + mid);
      in.x = std::move(next);
    }
    return out;
  }
  // seq2seq: the decoder reads its own previous point forecast (the median level).
  RecurrentInput<float> in;
  in.x = x;
  const auto enc = impl_->encoder->forward(in, Mode::Eval, nullptr, nullptr);
  RecurrentState<float> state{enc.h_n, enc.c_n};
  Tensor<float> prev({B, nt});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < nt; ++f) prev.at(b, f) = x.at(L - 1, b, f);
  for (int64_t k = 0; k < c.horizon; ++k) {
    const Tensor<float> y = impl_->decoder->step(prev, state);
    Tensor<float> p = impl_->head->forward(y);
    sort_quantiles(p, Q);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < nt * Q; ++j) out.at(k, b, j) = p.at(b, j);
      for (int64_t f = 0; f < nt; ++f) prev.at(b, f) = p.at(b, f * Q + mid);
    }
  }
  return out;
}

}  // namespace rnn::forecast
