#include "rnn/lab/task.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rnn/core/json_int.h"
#include "rnn/diagnostics/spectral.h"
#include "rnn/nn/init.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/losses.h"

namespace rnn::lab {

// ---- configuration ---------------------------------------------------------------------

CellMode LabModelConfig::mode() const {
  if (cell == "rnn_tanh") return CellMode::RNN_TANH;
  if (cell == "rnn_relu" || cell == "irnn") return CellMode::RNN_RELU;
  if (cell == "lstm") return CellMode::LSTM;
  if (cell == "gru") return CellMode::GRU;
  fail("unknown cell '", cell, "' (choose rnn_tanh, rnn_relu, irnn, lstm or gru)");
}

void LabModelConfig::validate() const {
  (void)mode();
  check(hidden_size >= 1, "hidden size must be >= 1, got ", hidden_size);
  check(num_layers >= 1, "number of layers must be >= 1, got ", num_layers);
  check(init == "default" || init == "orthogonal" || init == "identity", "unknown init '", init,
        "' (choose default, orthogonal or identity)");
  check(radius >= 0.0 && std::isfinite(radius), "spectral radius must be >= 0 (0 = off), got ", radius);
}

nlohmann::json LabModelConfig::to_json() const {
  return {{"cell", cell}, {"hidden_size", hidden_size}, {"num_layers", num_layers},
          {"init", init}, {"radius", radius}};
}

LabModelConfig LabModelConfig::from_json(const nlohmann::json& j) {
  LabModelConfig c;
  try {
    c.cell = j.at("cell").get<std::string>();
    c.hidden_size = j.at("hidden_size").get<JsonInt<int64_t>>().value;
    c.num_layers = j.at("num_layers").get<JsonInt<int64_t>>().value;
    c.init = j.at("init").get<std::string>();
    c.radius = j.at("radius").get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail("lab model configuration ", j.dump(), ": ", e.what());
  }
  c.validate();
  return c;
}

// ---- model -----------------------------------------------------------------------------

LabModel::LabModel(const TaskSpec& spec, const LabModelConfig& config, Parameters<float>& store,
                   Rng& rng)
    : spec_(spec), config_(config) {
  spec_.validate();
  config_.validate();
  RecurrentConfig rc;
  rc.mode = config_.mode();
  rc.input_size = spec_.input_size();
  rc.hidden_size = config_.hidden_size;
  rc.num_layers = config_.num_layers;
  rnn_ = std::make_unique<Recurrent<float>>(rc, store, rng, "rnn.");
  head_ = std::make_unique<nn::Linear<float>>(config_.hidden_size, spec_.output_size(), store, rng, "head.");

  const int64_t G = rc.gates();
  const std::string init = config_.effective_init();
  for (int64_t k = 0; k < rc.num_layers; ++k) {
    const std::string l = std::to_string(k);
    const ParamId w = store.id("rnn.weight_hh_l" + l);
    if (init == "orthogonal") init::orthogonal<float>(store.value_view(w), rng, 1.0, G);
    if (init == "identity") {
      init::identity<float>(store.value_view(w), 1.0, G);
      init::constant<float>(store.value_view(store.id("rnn.bias_ih_l" + l)), 0.0);
      init::constant<float>(store.value_view(store.id("rnn.bias_hh_l" + l)), 0.0);
    }
    if (config_.radius > 0.0) {
      const ParamInfo& info = store.info(w);
      diagnostics::scale_to_spectral_radius<float>(store.value_view(w).span(), info.shape[0],
                                                   info.shape[1], config_.radius);
    }
  }
}

Tensor<float> LabModel::forward(const Tensor<float>& x, Cache* cache) const {
  RecurrentInput<float> in;
  in.x = x;
  RecurrentOutput<float> out =
      rnn_->forward(in, cache ? Mode::Train : Mode::Eval, nullptr, cache ? &cache->rnn : nullptr);
  const int64_t S = x.dim(0), B = x.dim(1), H = config_.hidden_size;
  Tensor<float> features;
  if (spec_.per_step_output()) {
    features = std::move(out.y);
    features.reshape({S * B, H});
  } else {
    features = Tensor<float>({B, H}, std::vector<float>(out.y.data() + (S - 1) * B * H,
                                                        out.y.data() + S * B * H));
  }
  Tensor<float> result = head_->forward(features);
  if (cache) cache->features = std::move(features);
  return result;
}

void LabModel::backward(const Tensor<float>& x, const Cache& cache, const Tensor<float>& dout,
                        diagnostics::GradientFlow* flow) const {
  const int64_t S = x.dim(0), B = x.dim(1), H = config_.hidden_size;
  const Tensor<float> dfeatures = head_->backward(cache.features, dout);
  RecurrentGradOutput<float> g;
  g.dy = Tensor<float>({S, B, H});
  if (spec_.per_step_output()) {
    std::copy(dfeatures.data(), dfeatures.data() + dfeatures.numel(), g.dy.data());
  } else {
    std::copy(dfeatures.data(), dfeatures.data() + dfeatures.numel(), g.dy.data() + (S - 1) * B * H);
  }
  // The layer records ||dL/dh_t|| per layer and step during its own backward when asked
  // (one extra norm per step; nothing when flow is null).
  g.record_dh_norms = flow != nullptr;
  RecurrentGradInput<float> back = rnn_->backward(*cache.rnn, g);
  if (flow) {
    const Tensor<float>& norms = back.dh_norms;  // [L*D, S]
    flow->assign(static_cast<size_t>(norms.dim(0)), std::vector<double>(static_cast<size_t>(S)));
    for (int64_t row = 0; row < norms.dim(0); ++row)
      for (int64_t t = 0; t < S; ++t)
        (*flow)[static_cast<size_t>(row)][static_cast<size_t>(t)] = norms[row * S + t];
  }
}

// ---- task ------------------------------------------------------------------------------

LabTask::LabTask(const TaskSpec& spec, const LabModelConfig& config, LabTaskOptions options)
    : spec_(spec), config_(config), options_(options) {
  check(options_.batch_size >= 1, "batch size must be >= 1, got ", options_.batch_size);
  check(options_.test_size >= 1, "test set size must be >= 1, got ", options_.test_size);
  Rng init(options_.init_seed);
  model_ = std::make_unique<LabModel>(spec_, config_, params_, init);
  Rng test_rng(options_.test_seed);
  test_ = generate(spec_, options_.test_size, test_rng);
}

double LabTask::loss_of(const Tensor<float>& out, const Batch& batch, bool want_grad,
                        Tensor<float>* grad, double* correct, double* counted) const {
  LossUpstream<float> up;
  up.want_grad = want_grad;
  const int64_t O = spec_.output_size();
  if (spec_.kind == TaskKind::Adding) {
    LossResult<float> r = mse(out, batch.target, {}, up);
    if (grad) *grad = std::move(r.grad);
    return r.loss;
  }
  Tensor<int64_t> labels = batch.labels;
  labels.reshape({labels.numel()});
  LossResult<float> r = cross_entropy(out, labels, {}, up);
  if (grad) *grad = std::move(r.grad);
  // Accuracy: every row for temporal order; the K recalled symbols for copy.
  const int64_t rows = labels.numel();
  const int64_t B = spec_.kind == TaskKind::Copy ? batch.labels.dim(1) : rows;
  const int64_t first = spec_.kind == TaskKind::Copy ? (spec_.length + spec_.copy_length) * B : 0;
  for (int64_t n = first; n < rows; ++n) {
    const float* row = out.data() + n * O;
    const int64_t best = std::max_element(row, row + O) - row;
    *correct += best == labels[n] ? 1.0 : 0.0;
    *counted += 1.0;
  }
  return r.loss;
}

StepResult LabTask::train_step(Rng& rng) {
  const Batch batch = generate(spec_, options_.batch_size, rng);
  if (record_) flow_.clear();
  LabModel::Cache cache;
  const Tensor<float> out = model_->forward(batch.x, &cache);
  samples_seen_ += options_.batch_size;
  // An exploding network can overflow in the forward pass: report a non-finite loss and let
  // the trainer's non-finite policy decide (stop, or skip the step).
  for (float v : out.values()) {
    if (!std::isfinite(v)) return {std::numeric_limits<double>::quiet_NaN(), options_.batch_size};
  }
  Tensor<float> grad;
  double correct = 0.0, counted = 0.0;
  const double loss = loss_of(out, batch, true, &grad, &correct, &counted);
  model_->backward(batch.x, cache, grad, record_ ? &flow_ : nullptr);
  return {loss, options_.batch_size};
}

EvalResult LabTask::validate() {
  const int64_t chunk = 250, N = options_.test_size, S = spec_.sequence_length(),
                I = spec_.input_size();
  double loss_sum = 0.0, correct = 0.0, counted = 0.0;
  for (int64_t start = 0; start < N; start += chunk) {
    const int64_t b = std::min(chunk, N - start);
    Batch part;
    part.x = Tensor<float>({S, b, I});
    for (int64_t t = 0; t < S; ++t) {
      const float* src = test_.x.data() + (t * N + start) * I;
      std::copy(src, src + b * I, part.x.data() + t * b * I);
    }
    if (spec_.kind == TaskKind::Adding) {
      part.target = Tensor<float>({b, 1}, std::vector<float>(test_.target.data() + start,
                                                            test_.target.data() + start + b));
    } else if (spec_.kind == TaskKind::Copy) {
      part.labels = Tensor<int64_t>({S, b});
      for (int64_t t = 0; t < S; ++t) {
        const int64_t* src = test_.labels.data() + t * N + start;
        std::copy(src, src + b, part.labels.data() + t * b);
      }
    } else {
      part.labels = Tensor<int64_t>({b}, std::vector<int64_t>(test_.labels.data() + start,
                                                             test_.labels.data() + start + b));
    }
    const Tensor<float> out = model_->forward(part.x, nullptr);
    bool finite = true;
    for (float v : out.values()) finite = finite && std::isfinite(v);
    if (!finite) return {std::numeric_limits<double>::infinity(), {{"baseline", spec_.baseline_loss()}}};
    loss_sum += loss_of(out, part, false, nullptr, &correct, &counted) * static_cast<double>(b);
  }
  EvalResult r;
  r.loss = loss_sum / static_cast<double>(N);
  if (spec_.classification()) r.metrics["accuracy"] = counted > 0 ? correct / counted : 0.0;
  r.metrics["baseline"] = spec_.baseline_loss();
  return r;
}

double LabTask::epoch() const {
  return static_cast<double>(samples_seen_) / static_cast<double>(options_.test_size);
}

void LabTask::save_state(Checkpoint& checkpoint) const {
  checkpoint.meta["task"] = {{"kind", "lab"},
                             {"spec", spec_.to_json()},
                             {"model", config_.to_json()},
                             {"batch_size", options_.batch_size},
                             {"samples_seen", samples_seen_}};
}

void LabTask::load_state(const Checkpoint& checkpoint) {
  check(checkpoint.meta.contains("task") && checkpoint.meta["task"].value("kind", "") == "lab",
        "checkpoint belongs to another task (not a lab run)");
  const auto& t = checkpoint.meta["task"];
  check(t.at("spec") == spec_.to_json(), "checkpoint's task ", t.at("spec").dump(),
        " differs from this run's ", spec_.to_json().dump());
  check(t.at("model") == config_.to_json(), "checkpoint's model ", t.at("model").dump(),
        " differs from this run's ", config_.to_json().dump());
  samples_seen_ = t.at("samples_seen").get<JsonInt<int64_t>>().value;
}

}  // namespace rnn::lab
