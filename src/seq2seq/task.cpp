#include "rnn/seq2seq/task.h"

#include <cmath>
#include <filesystem>
#include <numeric>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/io/safetensors.h"
#include "rnn/seq2seq/bleu.h"
#include "rnn/train/checkpoint.h"

namespace rnn::seq2seq {

namespace {

uint64_t pairs_hash(const std::vector<EncodedPair>& pairs) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&](int64_t v) {
    for (int k = 0; k < 8; ++k) {
      h ^= (static_cast<uint64_t>(v) >> (8 * k)) & 0xFF;
      h *= 0x100000001b3ULL;
    }
  };
  for (const EncodedPair& p : pairs) {
    for (int64_t id : p.source) mix(id);
    mix(-1);
    for (int64_t id : p.target) mix(id);
    mix(-2);
  }
  return h;
}

void shuffle(std::vector<int64_t>& order, Rng& rng) {
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
}

}  // namespace

Seq2SeqTask::Seq2SeqTask(Seq2Seq<float>& model, const Tokenizer& source, const Tokenizer& target,
                         const EncodedPairs& train, const EncodedPairs& valid,
                         const std::vector<TextPair>& valid_text, const Seq2SeqTaskOptions& options)
    : model_(model),
      source_(source),
      target_(target),
      train_(train),
      valid_(valid),
      valid_text_(valid_text),
      options_(options),
      train_hash_(pairs_hash(train.pairs)) {
  check(source.size() == model.config().src_vocab && target.size() == model.config().tgt_vocab,
        "translation task: tokenizers of ", source.size(), " and ", target.size(),
        " tokens for a model of ", model.config().src_vocab, " and ", model.config().tgt_vocab);
  check(!train.pairs.empty() && !valid.pairs.empty(), "translation task: no training or validation pairs");
  check(valid_text.size() == valid.pairs.size(), "translation task: validation text and pairs differ");
  check(options.batch >= 1 && options.valid_batch >= 1, "translation task: batch sizes must be >= 1");
  check(options.valid_bleu_pairs >= 0, "translation task: valid_bleu_pairs must be >= 0");
}

StepResult Seq2SeqTask::train_step(Rng& rng) {
  const int64_t n = static_cast<int64_t>(train_.pairs.size());
  if (order_.empty() || cursor_ >= n) {
    if (!order_.empty()) ++pass_;
    order_.assign(static_cast<size_t>(n), 0);
    shuffle(order_, rng);
    cursor_ = 0;
  }
  const int64_t end = std::min(n, cursor_ + options_.batch);
  const Seq2SeqBatch batch = make_batch(
      train_.pairs, std::span<const int64_t>(order_.data() + cursor_, static_cast<size_t>(end - cursor_)));
  cursor_ = end;
  int64_t count = 0;
  for (int64_t u : batch.tgt_lengths) count += u;
  LossOptions o;
  o.label_smoothing = options_.label_smoothing;
  o.backward = true;
  o.grad_scale = 1.0 / static_cast<double>(count);
  const SequenceLoss l = model_.loss(batch, Mode::Train, &rng, o);
  return {l.sum / static_cast<double>(l.count), l.count};
}

SequenceLoss evaluate_loss(const Seq2Seq<float>& model, const std::vector<EncodedPair>& pairs,
                           int64_t batch) {
  SequenceLoss total;
  std::vector<int64_t> idx;
  for (size_t first = 0; first < pairs.size(); first += static_cast<size_t>(batch)) {
    idx.clear();
    for (size_t i = first; i < std::min(pairs.size(), first + static_cast<size_t>(batch)); ++i)
      idx.push_back(static_cast<int64_t>(i));
    const SequenceLoss l = model.loss(make_batch(pairs, idx), Mode::Eval, nullptr, {});
    total.sum += l.sum;
    total.count += l.count;
  }
  return total;
}

EvalResult Seq2SeqTask::validate() {
  const SequenceLoss l = evaluate_loss(model_, valid_.pairs, options_.valid_batch);
  EvalResult r;
  r.loss = l.sum / static_cast<double>(l.count);
  r.metrics["perplexity"] = std::exp(r.loss);
  if (options_.valid_bleu_pairs > 0) {
    const size_t n = std::min(valid_.pairs.size(), static_cast<size_t>(options_.valid_bleu_pairs));
    std::vector<std::vector<int64_t>> sources;
    std::vector<std::string> refs, hyps;
    for (size_t i = 0; i < n; ++i) {
      sources.push_back(valid_.pairs[i].source);
      refs.push_back(valid_text_[i].target);
    }
    TranslateOptions t;
    t.batch = options_.valid_batch;
    for (const Hypothesis& h : translate(model_, sources, t)) hyps.push_back(target_.decode(h.ids));
    r.metrics["bleu"] = corpus_bleu(hyps, refs).score;
    r.metrics["chrf"] = corpus_chrf(hyps, refs);
  }
  return r;
}

double Seq2SeqTask::epoch() const {
  const double n = static_cast<double>(train_.pairs.size());
  return static_cast<double>(pass_) + (order_.empty() ? 0.0 : static_cast<double>(cursor_) / n);
}

void Seq2SeqTask::save_state(Checkpoint& checkpoint) const {
  checkpoint.meta["task"] = {
      {"kind", "seq2seq"},
      {"config", model_.config().to_json()},
      {"source", source_.to_json()},
      {"target", target_.to_json()},
      {"batch", options_.batch},
      {"data", {{"pairs", train_.pairs.size()}, {"fnv1a", train_hash_}}},
      {"pass", pass_},
      {"cursor", cursor_}};
  Tensor<float> order({static_cast<int64_t>(order_.size())});
  for (size_t i = 0; i < order_.size(); ++i) order[static_cast<int64_t>(i)] = static_cast<float>(order_[i]);
  if (order_.empty()) order = Tensor<float>({1}, -1.0f);
  checkpoint.put_task_tensor("order", order);
}

void Seq2SeqTask::load_state(const Checkpoint& checkpoint) {
  check(checkpoint.meta.contains("task") && checkpoint.meta["task"].is_object(),
        "checkpoint has no task state");
  const nlohmann::json& t = checkpoint.meta["task"];
  check(t.value("kind", "") == "seq2seq", "checkpoint belongs to a '", t.value("kind", "?"),
        "' task, not a translation model");
  try {
    check(t.at("config") == model_.config().to_json(), "checkpoint is for another model: ",
          t.at("config").dump(), " in the checkpoint, ", model_.config().to_json().dump(), " now");
    check(t.at("source") == source_.to_json() && t.at("target") == target_.to_json(),
          "checkpoint has other tokenizers: it was trained on other data or options");
    check(t.at("batch").get<JsonInt<int64_t>>().value == options_.batch,
          "cannot resume with incompatible options: --batch ", t.at("batch").get<JsonInt<int64_t>>().value,
          " in the checkpoint, ", options_.batch, " now");
    check(t.at("data").at("pairs").get<JsonInt<size_t>>().value == train_.pairs.size() &&
              t.at("data").at("fnv1a").get<JsonInt<uint64_t>>().value == train_hash_,
          "checkpoint was trained on other pairs (", t.at("data").at("pairs").get<JsonInt<size_t>>().value,
          " training pairs, these data have ", train_.pairs.size(), ")");
    const Tensor<float>& order = checkpoint.task_tensor("order");
    std::vector<int64_t> o;
    if (!(order.numel() == 1 && order[0] < 0)) {
      check(order.numel() == static_cast<int64_t>(train_.pairs.size()), "checkpoint: order has ",
            order.numel(), " entries for ", train_.pairs.size(), " pairs");
      for (int64_t i = 0; i < order.numel(); ++i) {
        const auto v = static_cast<int64_t>(order[i]);
        check(v >= 0 && v < order.numel(), "checkpoint: order entry ", i, " out of range");
        o.push_back(v);
      }
    }
    const int64_t cursor = t.at("cursor").get<JsonInt<int64_t>>().value;
    check(cursor >= 0 && cursor <= static_cast<int64_t>(train_.pairs.size()), "checkpoint: cursor ",
          cursor, " out of range");
    order_ = std::move(o);
    cursor_ = cursor;
    pass_ = t.at("pass").get<JsonInt<int64_t>>().value;
  } catch (const nlohmann::json::exception& e) {
    fail("checkpoint task state: ", e.what());
  }
}

// ---- model files --------------------------------------------------------------------------

void save_translator(const std::string& path, const Seq2Seq<float>& model, const Tokenizer& source,
                     const Tokenizer& target, const nlohmann::json& info) {
  check(source.size() == model.config().src_vocab && target.size() == model.config().tgt_vocab,
        "save_translator: tokenizers do not match the model's vocabularies");
  SafetensorsFile file;
  const Parameters<float>& store = model.parameters();
  for (const ParamInfo& p : store.infos()) file.put(p.name, store.get(p.name));
  file.metadata["rnn_seq2seq"] = nlohmann::json{{"format", 1},
                                                {"config", model.config().to_json()},
                                                {"source", source.to_json()},
                                                {"target", target.to_json()},
                                                {"info", info}}
                                     .dump();
  write_safetensors(path, file);
}

namespace {

LoadedTranslator build(const std::string& path, const nlohmann::json& config,
                       const nlohmann::json& source, const nlohmann::json& target) {
  LoadedTranslator out;
  try {
    const Seq2SeqConfig c = Seq2SeqConfig::from_json(config);
    out.source = Tokenizer::from_json(source);
    out.target = Tokenizer::from_json(target);
    check(out.source.size() == c.src_vocab, "the source tokenizer has ", out.source.size(),
          " tokens but the model's source vocabulary ", c.src_vocab);
    check(out.target.size() == c.tgt_vocab, "the target tokenizer has ", out.target.size(),
          " tokens but the model's target vocabulary ", c.tgt_vocab);
    Rng rng(0);
    out.model = std::make_unique<Seq2Seq<float>>(c, rng);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
  return out;
}

}  // namespace

LoadedTranslator load_translator(const std::string& path) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(path, ec), path, ": no such model file");
  const SafetensorsFile file = read_safetensors(path);
  if (file.metadata.count("rnn_checkpoint")) {
    const Checkpoint c = Checkpoint::load(path);
    const nlohmann::json& t = c.meta.contains("task") ? c.meta["task"] : nlohmann::json();
    check(t.is_object() && t.value("kind", "") == "seq2seq" && t.contains("config") &&
              t.contains("source") && t.contains("target"),
          path, ": a checkpoint, but not of a translation model");
    LoadedTranslator out = build(path, t["config"], t["source"], t["target"]);
    try {
      c.get_parameters(out.model->parameters());
    } catch (const Error& e) {
      fail(path, ": ", e.what());
    }
    out.kind = "checkpoint";
    return out;
  }
  auto it = file.metadata.find("rnn_seq2seq");
  check(it != file.metadata.end(), path,
        ": not a translation model (no rnn_seq2seq or rnn_checkpoint metadata)");
  const nlohmann::json meta = nlohmann::json::parse(it->second, nullptr, false);
  check(meta.is_object() && meta.contains("config") && meta.contains("source") &&
            meta.contains("target"),
        path, ": the rnn_seq2seq metadata is not a JSON object with config, source and target");
  LoadedTranslator out = build(path, meta["config"], meta["source"], meta["target"]);
  Parameters<float>& store = out.model->parameters();
  for (const auto& [name, stored] : file.tensors)
    check(store.find(name).has_value(), path, ": unknown parameter '", name,
          "' for this model configuration");
  for (const ParamInfo& p : store.infos()) {
    check(file.has(p.name), path, ": missing parameter '", p.name, "'");
    Tensor<float> t = file.get<float>(p.name);
    check(t.shape() == p.shape, path, ": parameter '", p.name, "' has shape ",
          shape_str(t.shape()), ", the model needs ", shape_str(p.shape));
    for (int64_t i = 0; i < t.numel(); ++i)
      check(std::isfinite(t[i]), path, ": parameter '", p.name, "' has a non-finite value at ", i);
    store.set(p.name, t);
  }
  out.kind = "model";
  return out;
}

}  // namespace rnn::seq2seq
