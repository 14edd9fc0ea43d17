#include "rnn/lm/document_task.h"

#include <chrono>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/lm/task.h"

namespace rnn::lm {

namespace {

std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 6; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 6) out += ", ...";
  return out;
}

}  // namespace

DocumentLmTask::DocumentLmTask(LanguageModel<float>& model, const DocumentCorpus& corpus,
                               const DocumentTaskOptions& options)
    : model_(model),
      corpus_(corpus),
      options_(options),
      streams_(corpus.train, options.batch, options.seq_len, options.segment),
      train_hash_(document_hash(corpus.train)) {
  check(corpus.vocab.size() == model.config().vocab_size, "document task: the vocabulary has ",
        corpus.vocab.size(), " tokens, the model ", model.config().vocab_size);
  const int64_t C = model.config().num_categories;
  check(C == 0 || C == static_cast<int64_t>(corpus.categories.size()), "document task: the model has ",
        C, " categories, the documents ", corpus.categories.size());
  check(options.valid_batch >= 0 && options.valid_max_tokens >= 0,
        "document task: validation batch and max tokens must be >= 0");
  for (const DocumentPart& p : corpus.train) train_size_ += static_cast<int64_t>(p.ids.size());
}

StepResult DocumentLmTask::train_step(Rng& rng) {
  const auto t0 = std::chrono::steady_clock::now();
  if (window_ == streams_.windows()) {  // a new pass
    window_ = 0;
    ++passes_;
    state_ = {};
  }
  streams_.window(window_, win_);
  ++window_;  // used up even when the model diverges on it and the trainer skips the step
  const bool conditional = model_.config().num_categories > 0;
  if (!conditional) reset_rows(state_, win_.starts);
  const double scale = 1.0 / static_cast<double>(win_.count);
  const WindowLoss l = train_window(state_, [&] {
    return conditional
               ? model_.window_loss(win_.ids, win_.targets, state_, Mode::Train, &rng, true, scale,
                                    win_.starts)
               : model_.window_loss(win_.ids, win_.targets, state_, Mode::Train, &rng, true, scale);
  });
  train_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  train_tokens_ += l.count;
  return {l.sum / static_cast<double>(l.count), l.count};
}

EvalResult DocumentLmTask::validate() {
  EvaluateOptions o;
  o.batch = options_.valid_batch > 0 ? options_.valid_batch : options_.batch;
  o.seq_len = options_.seq_len;
  o.max_tokens = options_.valid_max_tokens;
  o.segment = options_.segment;
  const DocumentEvaluation e = evaluate_documents(
      model_, corpus_.valid, static_cast<int64_t>(corpus_.categories.size()), o);
  EvalResult r;
  r.loss = e.all.loss;
  r.metrics["bpc"] = e.all.bits_per_char;
  r.metrics["perplexity"] = e.all.perplexity;
  return r;
}

double DocumentLmTask::epoch() const {
  return static_cast<double>(passes_) +
         static_cast<double>(window_) / static_cast<double>(streams_.windows());
}

void DocumentLmTask::save_state(Checkpoint& checkpoint) const {
  checkpoint.meta["task"] = {
      {"kind", "lm"},
      {"config", model_.config().to_json()},
      {"vocab", corpus_.vocab.to_json()},
      {"categories", corpus_.categories},
      {"batch", options_.batch},
      {"seq_len", options_.seq_len},
      {"segment", options_.segment},
      {"data",
       {{"documents", corpus_.train.size()},
        {"train_tokens", train_size_},
        {"train_fnv1a", train_hash_}}},
      {"window", window_},
      {"passes", passes_}};
  put_carried_state(checkpoint, state_, model_, options_.batch);
}

void DocumentLmTask::load_state(const Checkpoint& checkpoint) {
  check(checkpoint.meta.contains("task") && checkpoint.meta["task"].is_object(),
        "checkpoint has no task state");
  const nlohmann::json& t = checkpoint.meta["task"];
  check(t.value("kind", "") == "lm", "checkpoint belongs to a '", t.value("kind", "?"),
        "' task, not a language model");
  check(t.contains("categories"),
        "checkpoint is of a language model trained on one text, not on per-category documents");
  try {
    const auto saved = t.at("categories").get<std::vector<std::string>>();
    check(saved == corpus_.categories, "checkpoint has another category list: ", saved.size(),
          " categories in the checkpoint (", name_list(saved), "), ", corpus_.categories.size(),
          " now (", name_list(corpus_.categories), ")");
    const nlohmann::json config = model_.config().to_json();
    check(t.at("config") == config, "checkpoint is for another model: ",
          first_difference(t.at("config"), config));
    const text::Vocabulary saved_vocab = text::Vocabulary::from_json(t.at("vocab"));
    check(saved_vocab == corpus_.vocab, "checkpoint has another vocabulary (", saved_vocab.size(),
          " tokens in the checkpoint, these documents give ", corpus_.vocab.size(),
          "): it was trained on other documents or options");
    const struct {
      const char* key;
      const char* option;
      int64_t now;
    } options[] = {{"batch", "--batch", options_.batch},
                   {"seq_len", "--seq-len", options_.seq_len},
                   {"segment", "--segment", options_.segment}};
    for (const auto& o : options) {
      check(t.at(o.key).get<JsonInt<int64_t>>().value == o.now, "cannot resume with incompatible options: ",
            o.option, " ", t.at(o.key).get<JsonInt<int64_t>>().value, " in the checkpoint, ", o.now, " now");
    }
    const nlohmann::json& data = t.at("data");
    check(data.at("train_tokens").get<JsonInt<int64_t>>().value == train_size_ &&
              data.at("documents").get<JsonInt<size_t>>().value == corpus_.train.size() &&
              data.at("train_fnv1a").get<JsonInt<uint64_t>>().value == train_hash_,
          "checkpoint was trained on other documents (", data.at("documents").get<JsonInt<size_t>>().value,
          " documents, ", data.at("train_tokens").get<JsonInt<int64_t>>().value, " training tokens; now ",
          corpus_.train.size(), " and ", train_size_, ")");
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
