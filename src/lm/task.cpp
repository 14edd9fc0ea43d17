#include "rnn/lm/task.h"

#include <chrono>
#include <cmath>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"

namespace rnn::lm {

uint64_t token_hash(std::span<const int64_t> ids) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int64_t id : ids) {
    auto v = static_cast<uint64_t>(id);
    for (int k = 0; k < 8; ++k) {
      h ^= (v >> (8 * k)) & 0xFF;
      h *= 0x100000001b3ULL;
    }
  }
  return h;
}

LmTask::LmTask(LanguageModel<float>& model, const text::Vocabulary& vocab, const Part& train,
               const Part& valid, const LmTaskOptions& options)
    : model_(model),
      vocab_(vocab),
      train_(train),
      valid_(valid),
      options_(options),
      streams_(train.ids, options.batch, options.seq_len),
      train_hash_(token_hash(train.ids)) {
  check(vocab.size() == model.config().vocab_size, "language model task: the vocabulary has ",
        vocab.size(), " tokens, the model ", model.config().vocab_size);
  check(model.config().num_categories == 0,
        "language model task: LmTask trains unconditional models (num_categories 0); a conditional "
        "model needs per-category documents (DocumentLmTask, rnn/lm/document_task.h)");
  check(options.valid_batch >= 0 && options.valid_max_tokens >= 0,
        "language model task: validation batch and max tokens must be >= 0");
  check(valid.ids.size() >= 2, "language model task: the validation part has ",
        valid.ids.size(), " tokens, at least 2 are needed");
}

StepResult LmTask::train_step(Rng& rng) {
  const auto t0 = std::chrono::steady_clock::now();
  if (window_ == streams_.windows()) {  // a new pass: the streams start over from zero state
    window_ = 0;
    ++passes_;
    state_ = {};
  }
  streams_.window(window_, ids_, targets_);
  ++window_;  // used up even when the model diverges on it and the trainer skips the step
  const double count = static_cast<double>(ids_.numel());
  const WindowLoss l = train_window(state_, [&] {
    return model_.window_loss(ids_, targets_, state_, Mode::Train, &rng, true, 1.0 / count);
  });
  train_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  train_tokens_ += l.count;
  return {l.sum / static_cast<double>(l.count), l.count};
}

EvalResult LmTask::validate() {
  EvaluateOptions o;
  o.batch = options_.valid_batch > 0 ? options_.valid_batch : options_.batch;
  o.seq_len = options_.seq_len;
  o.max_tokens = options_.valid_max_tokens;
  const LmEvaluation e = evaluate(model_, valid_.ids, valid_.characters, valid_.unknown, o);
  EvalResult r;
  r.loss = e.loss;
  r.metrics["bpc"] = e.bits_per_char;
  r.metrics["perplexity"] = e.perplexity;
  return r;
}

double LmTask::epoch() const {
  return static_cast<double>(passes_) +
         static_cast<double>(window_) / static_cast<double>(streams_.windows());
}

void LmTask::save_state(Checkpoint& checkpoint) const {
  checkpoint.meta["task"] = {
      {"kind", "lm"},
      {"config", model_.config().to_json()},
      {"vocab", vocab_.to_json()},
      {"batch", options_.batch},
      {"seq_len", options_.seq_len},
      {"data", {{"train_tokens", train_.ids.size()}, {"train_fnv1a", train_hash_}}},
      {"window", window_},
      {"passes", passes_}};
  put_carried_state(checkpoint, state_, model_, options_.batch);
}

WindowLoss train_window(RecurrentState<float>& state, const std::function<WindowLoss()>& train) {
  try {
    const WindowLoss l = train();
    if (!std::isfinite(l.sum)) state = {};
    return l;
  } catch (const NonFiniteError&) {
    state = {};
    throw;
  }
}

void put_carried_state(Checkpoint& checkpoint, const RecurrentState<float>& state,
                       const LanguageModel<float>& model, int64_t batch) {
  const RecurrentState<float> s = state.h.empty() ? model.initial_state(batch) : state;
  checkpoint.put_task_tensor("h", s.h);
  if (!s.c.empty()) checkpoint.put_task_tensor("c", s.c);
}

RecurrentState<float> carried_state_from(const Checkpoint& checkpoint,
                                         const LanguageModel<float>& model, int64_t batch) {
  const RecurrentState<float> zero = model.initial_state(batch);
  RecurrentState<float> s;
  s.h = checkpoint.task_tensor("h");
  check_shape(s.h, zero.h.shape(), "checkpoint task tensor h");
  if (!zero.c.empty()) {
    s.c = checkpoint.task_tensor("c");
    check_shape(s.c, zero.c.shape(), "checkpoint task tensor c");
  }
  return s;
}

std::string first_difference(const nlohmann::json& saved, const nlohmann::json& now,
                             const std::string& path) {
  if (saved.is_object() && now.is_object()) {
    for (const auto& [k, v] : saved.items()) {
      if (!now.contains(k)) return path + k + " only in the checkpoint";
      if (v != now[k]) return first_difference(v, now[k], path + k + ".");
    }
    for (const auto& [k, v] : now.items())
      if (!saved.contains(k)) return path + k + " missing from the checkpoint";
    return "";
  }
  std::string name = path.empty() ? "value" : path.substr(0, path.size() - 1);
  return name + " " + saved.dump() + " in the checkpoint, " + now.dump() + " now";
}

void LmTask::load_state(const Checkpoint& checkpoint) {
  check(checkpoint.meta.contains("task") && checkpoint.meta["task"].is_object(),
        "checkpoint has no task state");
  const nlohmann::json& t = checkpoint.meta["task"];
  check(t.value("kind", "") == "lm", "checkpoint belongs to a '", t.value("kind", "?"),
        "' task, not a language model");
  try {
    const nlohmann::json config = model_.config().to_json();
    check(t.at("config") == config, "checkpoint is for another model: ",
          first_difference(t.at("config"), config));
    const text::Vocabulary saved_vocab = text::Vocabulary::from_json(t.at("vocab"));
    check(saved_vocab == vocab_, "checkpoint has another vocabulary (", saved_vocab.size(), " ",
          text::to_string(saved_vocab.level()), " tokens, this text gives ", vocab_.size(), " ",
          text::to_string(vocab_.level()), " tokens): it was trained on another text or options");
    check(t.at("batch").get<JsonInt<int64_t>>().value == options_.batch,
          "cannot resume with incompatible options: --batch ", t.at("batch").get<JsonInt<int64_t>>().value,
          " in the checkpoint, ", options_.batch, " now");
    check(t.at("seq_len").get<JsonInt<int64_t>>().value == options_.seq_len,
          "cannot resume with incompatible options: --seq-len ", t.at("seq_len").get<JsonInt<int64_t>>().value,
          " in the checkpoint, ", options_.seq_len, " now");
    check(t.at("data").at("train_tokens").get<JsonInt<size_t>>().value == train_.ids.size() &&
              t.at("data").at("train_fnv1a").get<JsonInt<uint64_t>>().value == train_hash_,
          "checkpoint was trained on another text (", t.at("data").at("train_tokens").get<JsonInt<size_t>>().value,
          " training tokens, this text has ", train_.ids.size(), ")");
    const int64_t window = t.at("window").get<JsonInt<int64_t>>().value;
    check(window >= 0 && window <= streams_.windows(), "checkpoint: window ", window,
          " out of range");
    RecurrentState<float> s = carried_state_from(checkpoint, model_, options_.batch);
    window_ = window;
    passes_ = t.at("passes").get<JsonInt<int64_t>>().value;
    state_ = std::move(s);
  } catch (const nlohmann::json::exception& e) {
    fail("checkpoint task state: ", e.what());
  }
}

}  // namespace rnn::lm
