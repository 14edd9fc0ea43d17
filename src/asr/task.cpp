#include "rnn/asr/task.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/ctc/ctc.h"
#include "rnn/train/checkpoint.h"

namespace rnn::asr {

AsrEvaluation evaluate(const AsrModel& model, const FeatureSet& set, int64_t batch,
                       int64_t beam_width) {
  check(batch >= 1, "asr evaluate: batch must be >= 1");
  AsrEvaluation out;
  const auto n = static_cast<int64_t>(set.features.size());
  const bool scored = !set.targets.empty() && set.targets.size() == set.features.size();
  double loss_sum = 0.0;
  int64_t loss_count = 0;
  out.hypotheses.resize(static_cast<size_t>(n));
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t end = std::min(n, start + batch);
    std::vector<const Tensor<float>*> feats;
    std::vector<std::vector<int64_t>> targets;
    for (int64_t i = start; i < end; ++i) {
      feats.push_back(&set.features[i]);
      if (scored) targets.push_back(set.targets[i]);
    }
    const AsrBatch b = model.make_batch(feats);
    const AsrForward f = model.forward(b, Mode::Eval, nullptr, false);
    if (scored) {
      const auto r = ctc::ctc_loss(f.log_probs, targets, b.lengths,
                                   {0, ctc::Reduction::None, false}, false);
      for (size_t j = 0; j < r.losses.size(); ++j) {
        if (!std::isfinite(r.losses[j])) continue;  // cannot happen after prepare()
        loss_sum += r.losses[j] / static_cast<double>(std::max<size_t>(targets[j].size(), 1));
        ++loss_count;
      }
    }
    for (int64_t i = start; i < end; ++i) {
      const auto classes = decode(f.log_probs, i - start, b.lengths[i - start], beam_width);
      out.hypotheses[i] = model.config().tokens.decode(classes);
      out.errors.add(set.utterances[i].text, out.hypotheses[i]);
    }
  }
  out.loss = loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0;
  return out;
}

AsrTask::AsrTask(AsrModel& model, const features::Normalizer& normalizer, const FeatureSet& train,
                 const FeatureSet& valid, const AsrTaskOptions& options)
    : model_(model), normalizer_(normalizer), train_(train), valid_(valid), options_(options) {
  check(!train.features.empty() && train.targets.size() == train.features.size(),
        "asr task: the training set has no transcribed utterances");
  check(!valid.features.empty() && valid.targets.size() == valid.features.size(),
        "asr task: the validation set has no transcribed utterances");
  check(options.batch >= 1 && options.valid_batch >= 1, "asr task: batch sizes must be >= 1");
  check(options.freq_masks >= 0 && options.freq_width >= 0 && options.time_masks >= 0 &&
            options.time_width >= 0,
        "asr task: SpecAugment counts and widths must be >= 0");
}

StepResult AsrTask::train_step(Rng& rng) {
  const auto n = static_cast<int64_t>(train_.features.size());
  const int64_t batch = std::min(options_.batch, n);
  if (order_.empty() || position_ + batch > n) {  // a new pass in a new order
    if (!order_.empty()) ++passes_;
    order_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order_[i] = i;
    for (int64_t i = n - 1; i > 0; --i) std::swap(order_[i], order_[rng.below(static_cast<uint64_t>(i + 1))]);
    position_ = 0;
  }
  std::vector<Tensor<float>> masked;
  masked.reserve(static_cast<size_t>(batch));
  std::vector<std::vector<int64_t>> targets;
  int64_t frames = 0;
  for (int64_t j = 0; j < batch; ++j) {
    const int64_t i = order_[position_ + j];
    Tensor<float> f = train_.features[i];
    const int64_t length = f.dim(0), bands = f.dim(1);
    for (int64_t m = 0; m < options_.freq_masks; ++m) {
      const auto w = static_cast<int64_t>(rng.below(static_cast<uint64_t>(std::min(options_.freq_width, bands) + 1)));
      const auto s = static_cast<int64_t>(rng.below(static_cast<uint64_t>(bands - w + 1)));
      for (int64_t t = 0; t < length; ++t)
        for (int64_t c = s; c < s + w; ++c) f.at(t, c) = 0.0f;
    }
    for (int64_t m = 0; m < options_.time_masks; ++m) {
      const int64_t limit = std::min(options_.time_width, length / 8);
      const auto w = static_cast<int64_t>(rng.below(static_cast<uint64_t>(limit + 1)));
      const auto s = static_cast<int64_t>(rng.below(static_cast<uint64_t>(length - w + 1)));
      std::fill(f.data() + s * bands, f.data() + (s + w) * bands, 0.0f);
    }
    frames += length;
    masked.push_back(std::move(f));
    targets.push_back(train_.targets[i]);
  }
  std::vector<const Tensor<float>*> ptrs;
  for (const auto& f : masked) ptrs.push_back(&f);
  const AsrBatch b = model_.make_batch(ptrs);
  const AsrForward f = model_.forward(b, Mode::Train, &rng, true);
  const auto r = ctc::ctc_loss(f.log_probs, targets, b.lengths, {0, ctc::Reduction::Mean, false});
  if (!r.impossible.empty()) {
    const Utterance& u = train_.utterances[order_[position_ + r.impossible.front()]];
    fail(u.source, " (", u.path, "): CTC impossible: the transcript needs more model steps than the audio has");
  }
  model_.backward(f, r.grad);
  position_ += batch;
  return {static_cast<double>(r.loss), frames};
}

EvalResult AsrTask::validate() {
  const AsrEvaluation e = evaluate(model_, valid_, options_.valid_batch, 1);
  EvalResult r;
  r.loss = e.loss;
  r.metrics["wer"] = e.errors.wer();
  r.metrics["cer"] = e.errors.cer();
  r.metrics["string_accuracy"] = e.errors.string_accuracy();
  return r;
}

double AsrTask::epoch() const {
  const auto n = static_cast<double>(train_.features.size());
  return static_cast<double>(passes_) + static_cast<double>(position_) / n;
}

void AsrTask::save_state(Checkpoint& checkpoint) const {
  checkpoint.meta["task"] = {{"kind", "asr"},
                             {"config", model_.config().to_json()},
                             {"normalizer", normalizer_.to_json()},
                             {"batch", options_.batch},
                             {"train_utterances", train_.features.size()},
                             {"order", order_},
                             {"position", position_},
                             {"passes", passes_}};
}

void AsrTask::load_state(const Checkpoint& checkpoint) {
  check(checkpoint.meta.contains("task") && checkpoint.meta["task"].is_object(),
        "checkpoint has no task state");
  const nlohmann::json& t = checkpoint.meta["task"];
  check(t.value("kind", "") == "asr", "checkpoint belongs to a '", t.value("kind", "?"),
        "' task, not speech recognition");
  try {
    check(t.at("config") == model_.config().to_json(),
          "checkpoint is for another model (configuration, features or tokens differ)");
    check(t.at("batch").get<JsonInt<int64_t>>().value == options_.batch, "cannot resume with another --batch (",
          t.at("batch").get<JsonInt<int64_t>>().value, " in the checkpoint, ", options_.batch, " now)");
    check(t.at("train_utterances").get<JsonInt<size_t>>().value == train_.features.size(),
          "checkpoint was trained on ", t.at("train_utterances").get<JsonInt<size_t>>().value,
          " utterances, this training list has ", train_.features.size());
    std::vector<int64_t> order;
    for (const auto& i : t.at("order")) order.push_back(i.get<JsonInt<int64_t>>().value);
    const auto position = t.at("position").get<JsonInt<int64_t>>().value;
    check(order.empty() || order.size() == train_.features.size(), "checkpoint: bad order");
    for (int64_t i : order)
      check(i >= 0 && i < static_cast<int64_t>(train_.features.size()), "checkpoint: bad order");
    check(position >= 0 && position <= static_cast<int64_t>(order.size()), "checkpoint: bad position");
    order_ = std::move(order);
    position_ = position;
    passes_ = t.at("passes").get<JsonInt<int64_t>>().value;
  } catch (const nlohmann::json::exception& e) {
    fail("checkpoint task state: ", e.what());
  }
}

LoadedAsr load_asr(const std::string& path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), path, ": no such model file");
  const Checkpoint c = Checkpoint::load(path);
  check(c.meta.contains("task") && c.meta["task"].is_object() &&
            c.meta["task"].value("kind", "") == "asr" && c.meta["task"].contains("config") &&
            c.meta["task"].contains("normalizer"),
        path, ": not a speech recognition checkpoint");
  LoadedAsr out;
  try {
    const AsrConfig config = AsrConfig::from_json(c.meta["task"]["config"]);
    Rng rng(0);
    out.model = std::make_unique<AsrModel>(config, rng);
    out.normalizer = features::Normalizer::from_json(c.meta["task"]["normalizer"]);
    if (out.normalizer.mode == features::NormMode::Global)
      check(static_cast<int64_t>(out.normalizer.mean.size()) == config.features.n_mels,
            "normaliser statistics for ", out.normalizer.mean.size(), " bands, the model has ",
            config.features.n_mels);
    c.get_parameters(out.model->parameters());
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  out.step = c.meta.contains("trainer") ? json_int_or(c.meta["trainer"], "step", int64_t{0}) : 0;
  return out;
}

}  // namespace rnn::asr
