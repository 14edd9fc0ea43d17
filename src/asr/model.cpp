#include "rnn/asr/model.h"

#include <algorithm>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/ctc/ctc.h"
#include "rnn/nn/activations.h"

namespace rnn::asr {

void AsrConfig::validate() const {
  features.validate();
  check(stack >= 1 && stack <= 16, "asr model: stack ", stack, " outside 1..16");
  if (conv_frontend)
    check(conv_channels >= 1 && conv_kernel >= stack && conv_kernel <= 64,
          "asr model: conv front end needs channels >= 1 and stack <= kernel <= 64, got ",
          conv_channels, " channels, kernel ", conv_kernel, ", stack ", stack);
  check(mode == CellMode::LSTM || mode == CellMode::GRU, "asr model: cell must be LSTM or GRU");
  check(hidden_size >= 1 && num_layers >= 1, "asr model: hidden size and layers must be >= 1");
  check(dropout >= 0.0 && dropout < 1.0, "asr model: dropout ", dropout, " outside [0, 1)");
  check(!tokens.tokens().empty(), "asr model: no tokens");
}

nlohmann::json AsrConfig::to_json() const {
  nlohmann::json j = {{"features", features.to_json()}, {"stack", stack},
                      {"mode", to_string(mode)},        {"hidden_size", hidden_size},
                      {"num_layers", num_layers},       {"bidirectional", bidirectional},
                      {"dropout", dropout},             {"tokens", tokens.to_json()}};
  // only when used, so that stacking models keep the configuration they were saved with
  if (conv_frontend) j["conv_frontend"] = {{"channels", conv_channels}, {"kernel", conv_kernel}};
  return j;
}

AsrConfig AsrConfig::from_json(const nlohmann::json& j) {
  AsrConfig c;
  try {
    c.features = features::LogMelOptions::from_json(j.at("features"));
    c.stack = j.at("stack").get<JsonInt<int64_t>>().value;
    c.mode = cell_mode_from_string(j.at("mode").get<std::string>());
    c.hidden_size = j.at("hidden_size").get<JsonInt<int64_t>>().value;
    c.num_layers = j.at("num_layers").get<JsonInt<int64_t>>().value;
    c.bidirectional = j.at("bidirectional").get<bool>();
    c.dropout = j.at("dropout").get<double>();
    c.tokens = Tokens::from_json(j.at("tokens"));
    if (j.contains("conv_frontend")) {
      c.conv_frontend = true;
      c.conv_channels = j["conv_frontend"].at("channels").get<JsonInt<int64_t>>().value;
      c.conv_kernel = j["conv_frontend"].at("kernel").get<JsonInt<int64_t>>().value;
    }
  } catch (const nlohmann::json::exception& e) {
    fail("asr model configuration: ", e.what());
  }
  c.validate();
  return c;
}

AsrModel::AsrModel(const AsrConfig& config, Rng& rng) : config_(config) {
  config_.validate();
  if (config_.conv_frontend)
    frontend_ = std::make_unique<ConvFrontEnd<float>>(config_.features.n_mels, config_.conv_channels,
                                                      config_.conv_kernel, config_.stack, params_, rng);
  RecurrentConfig rc;
  rc.mode = config_.mode;
  rc.input_size = frontend_ ? config_.conv_channels : config_.stack * config_.features.n_mels;
  rc.hidden_size = config_.hidden_size;
  rc.num_layers = config_.num_layers;
  rc.bidirectional = config_.bidirectional;
  rc.dropout = config_.dropout;
  rnn_ = std::make_unique<Recurrent<float>>(rc, params_, rng, "rnn.");
  head_ = std::make_unique<nn::Linear<float>>(rc.directions() * rc.hidden_size, config_.classes(),
                                              params_, rng, "head.");
}

int64_t AsrModel::steps(int64_t frames) const { return (frames + config_.stack - 1) / config_.stack; }

AsrBatch AsrModel::make_batch(const std::vector<const Tensor<float>*>& features) const {
  check(!features.empty(), "asr: empty batch");
  const int64_t m = config_.features.n_mels, k = config_.stack;
  const auto batch = static_cast<int64_t>(features.size());
  AsrBatch out;
  int64_t longest = 0;
  for (const Tensor<float>* f : features) {
    check(f->rank() == 2 && f->dim(1) == m && f->dim(0) >= 1, "asr: features of shape ",
          shape_str(f->shape()), ", the model reads [F, ", m, "]");
    out.lengths.push_back(steps(f->dim(0)));
    longest = std::max(longest, out.lengths.back());
  }
  if (frontend_) {
    out.x = frontend_->input(features);
    return out;
  }
  // x[t, b, j*M + m] = f_b[t*k + j, m]  (zero past the end)
  out.x = Tensor<float>({longest, batch, k * m}, 0.0f);
  for (int64_t b = 0; b < batch; ++b) {
    const Tensor<float>& f = *features[b];
    for (int64_t frame = 0; frame < f.dim(0); ++frame) {
      const int64_t t = frame / k, j = frame % k;
      std::copy(f.data() + frame * m, f.data() + (frame + 1) * m,
                out.x.data() + (t * batch + b) * k * m + j * m);
    }
  }
  return out;
}

AsrForward AsrModel::forward(const AsrBatch& batch, Mode mode, Rng* rng, bool keep_cache) const {
  RecurrentInput<float> in;
  AsrForward out;
  if (frontend_) {
    in.x = frontend_->forward(batch.x);
    if (keep_cache) {
      out.conv_input = batch.x;
      out.conv_out = in.x;
    }
  } else {
    in.x = batch.x;
  }
  in.lengths = batch.lengths;
  RecurrentOutput<float> r = rnn_->forward(in, mode, rng, keep_cache ? &out.cache : nullptr);
  out.rnn_out = std::move(r.y);
  out.log_probs = nn::log_softmax(head_->forward(out.rnn_out));
  return out;
}

void AsrModel::backward(const AsrForward& forward, const Tensor<float>& dlog_probs) const {
  check(forward.cache != nullptr, "asr: backward needs a forward pass with keep_cache");
  const Tensor<float> dlogits = nn::log_softmax_backward(forward.log_probs, dlog_probs);
  RecurrentGradOutput<float> g;
  g.dy = head_->backward(forward.rnn_out, dlogits);
  RecurrentGradInput<float> d = rnn_->backward(*forward.cache, g);
  if (frontend_) frontend_->backward(forward.conv_input, forward.conv_out, d.dx);
}

std::vector<int64_t> decode(const Tensor<float>& log_probs, int64_t b, int64_t length,
                            int64_t beam_width) {
  const int64_t steps = log_probs.dim(0), batch = log_probs.dim(1), classes = log_probs.dim(2);
  check(b >= 0 && b < batch && length >= 0 && length <= steps, "asr decode: column ", b,
        " length ", length, " outside ", shape_str(log_probs.shape()));
  std::vector<float> rows(static_cast<size_t>(length * classes));
  for (int64_t t = 0; t < length; ++t)
    std::copy(log_probs.data() + (t * batch + b) * classes,
              log_probs.data() + (t * batch + b + 1) * classes, rows.data() + t * classes);
  if (beam_width <= 1) return ctc::greedy_decode(rows, length, classes, 0);
  const auto beams = ctc::prefix_beam_search(rows, length, classes, {.beam_width = beam_width});
  return beams.empty() ? std::vector<int64_t>{} : beams.front().tokens;
}

}  // namespace rnn::asr
