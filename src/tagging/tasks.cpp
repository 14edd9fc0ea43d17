#include "rnn/tagging/tasks.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "rnn/core/error.h"
#include "rnn/core/json_int.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/losses.h"

namespace rnn::tagging {

// ---- batching --------------------------------------------------------------------------

namespace {

void shuffle(std::vector<size_t>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

template <class Batches>
void shuffle_batches(Batches& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace

std::vector<std::vector<size_t>> length_bucketed_batches(const std::vector<int64_t>& lengths,
                                                         int64_t batch, uint64_t seed) {
  check(batch >= 1, "batch size must be at least 1, got ", batch);
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), size_t{0});
  Rng rng(seed);
  shuffle(order, rng);
  const size_t B = static_cast<size_t>(batch), pool = 50 * B;
  std::vector<std::vector<size_t>> batches;
  for (size_t begin = 0; begin < order.size(); begin += pool) {
    const size_t end = std::min(order.size(), begin + pool);
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(begin),
                     order.begin() + static_cast<std::ptrdiff_t>(end),
                     [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
    for (size_t i = begin; i < end; i += B) {
      batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i),
                           order.begin() + static_cast<std::ptrdiff_t>(std::min(end, i + B)));
    }
  }
  shuffle_batches(batches, rng);
  return batches;
}

std::vector<std::vector<size_t>> sorted_batches(const std::vector<int64_t>& lengths, int64_t batch) {
  check(batch >= 1, "batch size must be at least 1, got ", batch);
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<size_t>> batches;
  for (size_t i = 0; i < order.size(); i += static_cast<size_t>(batch)) {
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i),
                         order.begin() + static_cast<std::ptrdiff_t>(
                                             std::min(order.size(), i + static_cast<size_t>(batch))));
  }
  return batches;
}

nlohmann::json EpochCursor::to_json() const {
  return {{"epoch", epoch}, {"position", position}, {"seed", seed}, {"started", started}};
}

EpochCursor EpochCursor::from_json(const nlohmann::json& j) {
  EpochCursor c;
  try {
    c.epoch = j.at("epoch").get<JsonInt<int64_t>>().value;
    c.position = j.at("position").get<JsonInt<int64_t>>().value;
    c.seed = j.at("seed").get<JsonInt<uint64_t>>().value;
    c.started = j.at("started").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail("epoch cursor: ", e.what());  // a missing or mistyped field: rnn::Error, one line
  }
  return c;
}

namespace {

// Advances the cursor and returns the next batch (a new epoch order when one ends).
const std::vector<size_t>& next_batch(EpochCursor& cursor,
                                      std::vector<std::vector<size_t>>& batches,
                                      const std::vector<int64_t>& lengths, int64_t batch, Rng& rng) {
  if (!cursor.started || cursor.position >= static_cast<int64_t>(batches.size())) {
    if (cursor.started) ++cursor.epoch;
    cursor.started = true;
    cursor.position = 0;
    cursor.seed = rng.next_u64();
    batches = length_bucketed_batches(lengths, batch, cursor.seed);
  }
  return batches[static_cast<size_t>(cursor.position++)];
}

void check_meta_kind(const nlohmann::json& task, const std::string& kind, const std::string& path) {
  check(task.is_object() && task.value("kind", "") == kind, path, ": not a ", kind,
        " checkpoint (meta task.kind is '", task.is_object() ? task.value("kind", "") : "",
        "')");
}

std::string differs(const Labels& a, const Labels& b, const std::string& what) {
  for (size_t i = 0; i < std::min(a.names().size(), b.names().size()); ++i) {
    if (a.names()[i] != b.names()[i]) {
      return concat(what, " differ at position ", i, ": '", a.names()[i], "' vs '",
                    b.names()[i], "'");
    }
  }
  return concat(what, " differ in size: ", a.size(), " vs ", b.size());
}

}  // namespace

// ---- tagging ---------------------------------------------------------------------------

nlohmann::json TagVocab::to_json() const {
  return {{"words", words.to_json()}, {"chars", chars.to_json()}, {"tags", tags.to_json()}};
}

TagVocab TagVocab::from_json(const nlohmann::json& j) {
  check(j.is_object() && j.contains("words") && j.contains("chars") && j.contains("tags"),
        "tagger vocabulary: expected {words, chars, tags}");
  return {Labels::from_json(j["words"], "tagger words"), Labels::from_json(j["chars"], "tagger chars"),
          Labels::from_json(j["tags"], "tagger tags")};
}

TagVocab build_tag_vocab(const std::vector<TaggedSentence>& train, int64_t min_word_count,
                         const std::vector<std::string>& tags) {
  check(!train.empty(), "tagger: no training sentences");
  std::map<std::string, int64_t> words, chars, tag_counts;
  for (const auto& s : train) {
    for (size_t i = 0; i < s.words.size(); ++i) {
      ++words[s.words[i]];
      for (const auto& ch : characters_of(s.words[i])) ++chars[ch];
      ++tag_counts[s.tags[i]];
    }
  }
  TagVocab v;
  v.words = labels_by_count(words, min_word_count, {"<unk>"});
  v.chars = labels_by_count(chars, 1, {"<unk>"});
  if (tags.empty()) {
    v.tags = labels_by_count(tag_counts, 1);
  } else {
    v.tags = Labels(tags);
    for (const auto& [tag, n] : tag_counts) {
      check(v.tags.find(tag) >= 0, "tagger: training tag '", tag, "' is not in the given tag set");
    }
  }
  return v;
}

TagBatch make_tag_batch(const std::vector<const TaggedSentence*>& sentences, const TagVocab& vocab,
                        bool with_tags, double word_dropout, Rng* rng) {
  check(!sentences.empty(), "tagger: empty batch");
  const int64_t B = static_cast<int64_t>(sentences.size());
  int64_t steps = 0;
  TagBatch batch;
  for (size_t b = 0; b < sentences.size(); ++b) {
    const int64_t len = static_cast<int64_t>(sentences[b]->words.size());
    check(len >= 1, "tagger: empty sentence (batch row ", b, ")");
    batch.lengths.push_back(len);
    steps = std::max(steps, len);
  }
  batch.words = Tensor<int64_t>({steps, B}, 0);
  batch.types = Tensor<int64_t>({steps, B}, 0);
  if (with_tags) batch.tags = Tensor<int64_t>({steps, B}, 0);
  std::unordered_map<std::string, int64_t> type_of;
  for (int64_t b = 0; b < B; ++b) {
    const TaggedSentence& s = *sentences[static_cast<size_t>(b)];
    for (int64_t t = 0; t < batch.lengths[static_cast<size_t>(b)]; ++t) {
      const std::string& w = s.words[static_cast<size_t>(t)];
      int64_t id = std::max<int64_t>(0, vocab.words.find(w));
      if (word_dropout > 0 && rng && rng->uniform() < word_dropout) id = 0;
      batch.words[t * B + b] = id;
      auto [it, inserted] = type_of.emplace(w, static_cast<int64_t>(batch.type_chars.size()));
      if (inserted) {
        std::vector<int64_t> chars;
        for (const auto& ch : characters_of(w)) chars.push_back(std::max<int64_t>(0, vocab.chars.find(ch)));
        batch.type_chars.push_back(std::move(chars));
      }
      batch.types[t * B + b] = it->second;
      if (with_tags) {
        check(s.tags.size() == s.words.size(), "tagger: sentence has ", s.words.size(),
              " words but ", s.tags.size(), " tags");
        const std::string& tag = s.tags[static_cast<size_t>(t)];
        const int64_t tag_id = vocab.tags.find(tag);
        check(tag_id >= 0, "unknown tag '", tag, "' (word '", w,
              "'): not in the model's tag set of ", vocab.tags.size());
        batch.tags[t * B + b] = tag_id;
      }
    }
  }
  return batch;
}

TaggerModel::TaggerModel(const TaggerConfig& config, TagVocab v, uint64_t seed)
    : vocab(std::move(v)) {
  TaggerConfig c = config;
  c.words = vocab.words.size();
  c.chars = vocab.chars.size();
  c.tags = vocab.tags.size();
  Rng rng(seed);
  model = std::make_unique<Tagger<float>>(c, store, rng);
}

nlohmann::json TaggerModel::meta() const {
  return {{"kind", "tagger"}, {"config", model->config().to_json()}, {"vocab", vocab.to_json()}};
}

std::unique_ptr<TaggerModel> load_tagger(const std::string& path) {
  const Checkpoint c = Checkpoint::load(path);
  check(c.meta.contains("task"), path, ": no task in the checkpoint");
  const auto& task = c.meta["task"];
  check_meta_kind(task, "tagger", path);
  auto m = std::make_unique<TaggerModel>(TaggerConfig::from_json(task.at("config")),
                                         TagVocab::from_json(task.at("vocab")), 0);
  c.get_parameters(m->store);
  return m;
}

namespace {

template <class F>
void for_tag_batches(const TaggerModel& m, const std::vector<TaggedSentence>& sentences,
                     int64_t batch, bool with_tags, F&& f) {
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < sentences.size(); ++i) {
    check(!sentences[i].words.empty(), "sentence ", i + 1, ": empty sentence");
    lengths.push_back(static_cast<int64_t>(sentences[i].words.size()));
  }
  for (const auto& idx : sorted_batches(lengths, batch)) {
    std::vector<const TaggedSentence*> rows;
    for (size_t i : idx) rows.push_back(&sentences[i]);
    TagBatch b;
    try {
      b = make_tag_batch(rows, m.vocab, with_tags);
    } catch (const Error& e) {
      // Name the sentence: find the first row whose tags are not all known.
      for (size_t i : idx) {
        for (const auto& tag : sentences[i].tags) {
          check(m.vocab.tags.find(tag) >= 0, "sentence ", i + 1, ": unknown tag '", tag,
                "' (not in the model's tag set of ", m.vocab.tags.size(), ")");
        }
      }
      throw;
    }
    const Tensor<float> logits = m.model->forward(b, Mode::Eval, nullptr, nullptr);
    f(idx, b, logits);
  }
}

int64_t argmax_row(const float* row, int64_t n) {
  return static_cast<int64_t>(std::max_element(row, row + n) - row);
}

}  // namespace

TagEvaluation evaluate_tagger(const TaggerModel& m, const std::vector<TaggedSentence>& sentences,
                              int64_t batch) {
  check(!sentences.empty(), "evaluation: no sentences");
  TagEvaluation ev;
  ev.confusion = Confusion(m.vocab.tags.size());
  double loss_sum = 0;
  const int64_t C = m.vocab.tags.size();
  for_tag_batches(m, sentences, batch, true,
                  [&](const std::vector<size_t>&, const TagBatch& b, const Tensor<float>& logits) {
                    CrossEntropyOptions<float> opt;
                    opt.reduction = Reduction::Sum;
                    LossUpstream<float> up;
                    up.want_grad = false;
                    loss_sum += cross_entropy_sequence(logits, b.tags, b.lengths, opt, up).loss;
                    const int64_t B = static_cast<int64_t>(b.lengths.size());
                    for (int64_t bb = 0; bb < B; ++bb) {
                      for (int64_t t = 0; t < b.lengths[static_cast<size_t>(bb)]; ++t) {
                        const int64_t n = t * B + bb;
                        const int64_t pred = argmax_row(logits.data() + n * C, C);
                        const int64_t gold = b.tags[n];
                        ev.confusion.add(gold, pred);
                        ++ev.tokens;
                        ev.correct += pred == gold;
                        if (b.words[n] == 0) {
                          ++ev.unseen_tokens;
                          ev.unseen_correct += pred == gold;
                        }
                      }
                    }
                  });
  ev.loss = loss_sum / static_cast<double>(ev.tokens);
  return ev;
}

nlohmann::json TagEvaluation::to_json() const {
  return {{"loss", loss},
          {"tokens", tokens},
          {"accuracy", accuracy()},
          {"unseen_tokens", unseen_tokens},
          {"unseen_accuracy", unseen_accuracy()}};
}

std::vector<std::vector<std::string>> predict_tags(const TaggerModel& m,
                                                   const std::vector<TaggedSentence>& sentences,
                                                   int64_t batch) {
  std::vector<std::vector<std::string>> out(sentences.size());
  const int64_t C = m.vocab.tags.size();
  for_tag_batches(m, sentences, batch, false,
                  [&](const std::vector<size_t>& idx, const TagBatch& b, const Tensor<float>& logits) {
                    const int64_t B = static_cast<int64_t>(b.lengths.size());
                    for (int64_t bb = 0; bb < B; ++bb) {
                      auto& tags = out[idx[static_cast<size_t>(bb)]];
                      for (int64_t t = 0; t < b.lengths[static_cast<size_t>(bb)]; ++t) {
                        tags.push_back(m.vocab.tags.name(argmax_row(logits.data() + (t * B + bb) * C, C)));
                      }
                    }
                  });
  return out;
}

MostFrequentTag::MostFrequentTag(const std::vector<TaggedSentence>& train) {
  std::unordered_map<std::string, std::vector<std::pair<std::string, int64_t>>> per_word;
  std::map<std::string, int64_t> overall;
  std::vector<std::string> overall_order;
  for (const auto& s : train) {
    for (size_t i = 0; i < s.words.size(); ++i) {
      auto& list = per_word[s.words[i]];
      auto it = std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.first == s.tags[i]; });
      if (it == list.end()) {
        list.emplace_back(s.tags[i], 1);
      } else {
        ++it->second;
      }
      if (overall[s.tags[i]]++ == 0) overall_order.push_back(s.tags[i]);
    }
  }
  check(!overall.empty(), "most-frequent-tag baseline: no training tokens");
  for (const auto& [word, list] : per_word) {
    const auto* best = &list.front();
    for (const auto& p : list) {
      if (p.second > best->second) best = &p;
    }
    best_[word] = best->first;
  }
  overall_ = overall_order.front();
  for (const auto& t : overall_order) {
    if (overall[t] > overall[overall_]) overall_ = t;
  }
}

const std::string& MostFrequentTag::tag(const std::string& word) const {
  auto it = best_.find(word);
  return it == best_.end() ? overall_ : it->second;
}

MostFrequentTag::Result MostFrequentTag::evaluate(const std::vector<TaggedSentence>& sentences) const {
  Result r;
  for (const auto& s : sentences) {
    for (size_t i = 0; i < s.words.size(); ++i) {
      const bool ok = tag(s.words[i]) == s.tags[i];
      ++r.tokens;
      r.correct += ok;
      if (!known(s.words[i])) {
        ++r.unseen_tokens;
        r.unseen_correct += ok;
      }
    }
  }
  return r;
}

TagTask::TagTask(TaggerModel& model, std::vector<TaggedSentence> train,
                 std::vector<TaggedSentence> valid, TagTaskOptions options)
    : model_(model), train_(std::move(train)), valid_(std::move(valid)), options_(options) {
  check(!train_.empty(), "tagger: no training sentences");
  check(!valid_.empty(), "tagger: no validation sentences");
  for (const auto& s : train_) {
    check(!s.words.empty(), "tagger: empty training sentence");
    train_lengths_.push_back(static_cast<int64_t>(s.words.size()));
  }
}

StepResult TagTask::train_step(Rng& rng) {
  const auto& idx = next_batch(cursor_, batches_, train_lengths_, options_.batch, rng);
  std::vector<const TaggedSentence*> rows;
  for (size_t i : idx) rows.push_back(&train_[i]);
  const TagBatch b = make_tag_batch(rows, model_.vocab, true, options_.word_dropout, &rng);
  TaggerCachePtr<float> cache;
  const Tensor<float> logits = model_.model->forward(b, Mode::Train, &rng, &cache);
  const LossResult<float> loss = cross_entropy_sequence(logits, b.tags, b.lengths);
  model_.model->backward(*cache, loss.grad);
  int64_t tokens = 0;
  for (int64_t len : b.lengths) tokens += len;
  return {loss.loss, tokens};
}

EvalResult TagTask::validate() {
  const TagEvaluation ev = evaluate_tagger(model_, valid_, options_.eval_batch);
  return {ev.loss, {{"accuracy", ev.accuracy()}, {"unseen_accuracy", ev.unseen_accuracy()}}};
}

double TagTask::epoch() const {
  if (!cursor_.started || batches_.empty()) return 0.0;
  return static_cast<double>(cursor_.epoch) +
         static_cast<double>(cursor_.position) / static_cast<double>(batches_.size());
}

void TagTask::save_state(Checkpoint& checkpoint) const {
  nlohmann::json task = model_.meta();
  task["cursor"] = cursor_.to_json();
  checkpoint.meta["task"] = std::move(task);
}

void TagTask::load_state(const Checkpoint& checkpoint) {
  check(checkpoint.meta.contains("task"), "checkpoint: no task state");
  const auto& task = checkpoint.meta["task"];
  check_meta_kind(task, "tagger", "checkpoint");
  const TagVocab v = TagVocab::from_json(task.at("vocab"));
  check(v.tags == model_.vocab.tags, "checkpoint's tag set differs from the data's: ",
        differs(v.tags, model_.vocab.tags, "tags"));
  check(v.words == model_.vocab.words && v.chars == model_.vocab.chars,
        "checkpoint's vocabulary differs from the data's (resume with the same training data)");
  check(TaggerConfig::from_json(task.at("config")).to_json() == model_.model->config().to_json(),
        "checkpoint's model configuration differs from the requested one");
  cursor_ = EpochCursor::from_json(task.at("cursor"));
  batches_.clear();
  if (cursor_.started) batches_ = length_bucketed_batches(train_lengths_, options_.batch, cursor_.seed);
}

// ---- classification --------------------------------------------------------------------

nlohmann::json ClassVocab::to_json() const {
  return {{"words", words.to_json()}, {"labels", labels.to_json()}};
}

ClassVocab ClassVocab::from_json(const nlohmann::json& j) {
  check(j.is_object() && j.contains("words") && j.contains("labels"),
        "classifier vocabulary: expected {words, labels}");
  return {Labels::from_json(j["words"], "classifier words"),
          Labels::from_json(j["labels"], "classifier labels")};
}

ClassVocab build_class_vocab(const std::vector<LabeledText>& train, int64_t min_word_count) {
  check(!train.empty(), "classifier: no training examples");
  std::map<std::string, int64_t> words, labels;
  for (const auto& x : train) {
    for (const auto& w : x.tokens) ++words[w];
    ++labels[x.label];
  }
  std::vector<std::string> names;
  for (const auto& [label, n] : labels) names.push_back(label);
  return {labels_by_count(words, min_word_count, {"<unk>"}), Labels(names)};
}

ClassBatch make_class_batch(const std::vector<const LabeledText*>& texts, const ClassVocab& vocab,
                            bool with_labels) {
  check(!texts.empty(), "classifier: empty batch");
  const int64_t B = static_cast<int64_t>(texts.size());
  int64_t steps = 0;
  ClassBatch batch;
  for (size_t b = 0; b < texts.size(); ++b) {
    const int64_t len = static_cast<int64_t>(texts[b]->tokens.size());
    check(len >= 1, "classifier: empty text (batch row ", b, ")");
    batch.lengths.push_back(len);
    steps = std::max(steps, len);
  }
  batch.words = Tensor<int64_t>({steps, B}, 0);
  for (int64_t b = 0; b < B; ++b) {
    const LabeledText& x = *texts[static_cast<size_t>(b)];
    for (int64_t t = 0; t < batch.lengths[static_cast<size_t>(b)]; ++t) {
      batch.words[t * B + b] = std::max<int64_t>(0, vocab.words.find(x.tokens[static_cast<size_t>(t)]));
    }
    if (with_labels) {
      const int64_t id = vocab.labels.find(x.label);
      check(id >= 0, "unknown label '", x.label, "': not in the model's labels (",
            nlohmann::json(vocab.labels.names()).dump(), ")");
      batch.labels.push_back(id);
    }
  }
  return batch;
}

ClassifierModel::ClassifierModel(const ClassifierConfig& config, ClassVocab v, uint64_t seed)
    : vocab(std::move(v)) {
  ClassifierConfig c = config;
  c.words = vocab.words.size();
  c.classes = vocab.labels.size();
  Rng rng(seed);
  model = make_classifier<float>(c, store, rng);
}

nlohmann::json ClassifierModel::meta() const {
  return {{"kind", "classifier"}, {"config", model->config().to_json()}, {"vocab", vocab.to_json()}};
}

std::unique_ptr<ClassifierModel> load_classifier(const std::string& path) {
  const Checkpoint c = Checkpoint::load(path);
  check(c.meta.contains("task"), path, ": no task in the checkpoint");
  const auto& task = c.meta["task"];
  check_meta_kind(task, "classifier", path);
  auto m = std::make_unique<ClassifierModel>(ClassifierConfig::from_json(task.at("config")),
                                             ClassVocab::from_json(task.at("vocab")), 0);
  c.get_parameters(m->store);
  return m;
}

namespace {

template <class F>
void for_class_batches(const ClassifierModel& m, const std::vector<LabeledText>& data,
                       int64_t batch, bool with_labels, F&& f) {
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < data.size(); ++i) {
    check(!data[i].tokens.empty(), "example ", i + 1, ": empty text");
    if (with_labels) {
      check(m.vocab.labels.find(data[i].label) >= 0, "example ", i + 1, ": unknown label '",
            data[i].label, "' (the model's labels are ",
            nlohmann::json(m.vocab.labels.names()).dump(), ")");
    }
    lengths.push_back(static_cast<int64_t>(data[i].tokens.size()));
  }
  for (const auto& idx : sorted_batches(lengths, batch)) {
    std::vector<const LabeledText*> rows;
    for (size_t i : idx) rows.push_back(&data[i]);
    const ClassBatch b = make_class_batch(rows, m.vocab, with_labels);
    f(idx, b, m.model->forward(b, Mode::Eval, nullptr, nullptr));
  }
}

}  // namespace

ClassEvaluation evaluate_classifier(const ClassifierModel& m, const std::vector<LabeledText>& data,
                                    int64_t batch) {
  check(!data.empty(), "evaluation: no examples");
  ClassEvaluation ev;
  const int64_t C = m.vocab.labels.size();
  ev.confusion = Confusion(C);
  double loss_sum = 0;
  for_class_batches(m, data, batch, true,
                    [&](const std::vector<size_t>&, const ClassBatch& b, const Tensor<float>& logits) {
                      CrossEntropyOptions<float> opt;
                      opt.reduction = Reduction::Sum;
                      LossUpstream<float> up;
                      up.want_grad = false;
                      const Tensor<int64_t> targets({static_cast<int64_t>(b.labels.size())}, b.labels);
                      loss_sum += cross_entropy(logits, targets, opt, up).loss;
                      for (size_t i = 0; i < b.labels.size(); ++i) {
                        const int64_t pred = argmax_row(logits.data() + static_cast<int64_t>(i) * C, C);
                        ev.confusion.add(b.labels[i], pred);
                        ++ev.examples;
                        ev.correct += pred == b.labels[i];
                      }
                    });
  ev.loss = loss_sum / static_cast<double>(ev.examples);
  return ev;
}

nlohmann::json ClassEvaluation::to_json() const {
  return {{"loss", loss}, {"examples", examples}, {"accuracy", accuracy()},
          {"macro_f1", confusion.macro_f1()}};
}

std::vector<std::pair<std::string, double>> predict_labels(const ClassifierModel& m,
                                                           const std::vector<LabeledText>& data,
                                                           int64_t batch) {
  std::vector<std::pair<std::string, double>> out(data.size());
  const int64_t C = m.vocab.labels.size();
  for_class_batches(m, data, batch, false,
                    [&](const std::vector<size_t>& idx, const ClassBatch&, const Tensor<float>& logits) {
                      for (size_t i = 0; i < idx.size(); ++i) {
                        const float* row = logits.data() + static_cast<int64_t>(i) * C;
                        const int64_t k = argmax_row(row, C);
                        double z = 0;
                        for (int64_t c = 0; c < C; ++c) z += std::exp(double(row[c]) - double(row[k]));
                        out[idx[i]] = {m.vocab.labels.name(k), 1.0 / z};
                      }
                    });
  return out;
}

ClassifyTask::ClassifyTask(ClassifierModel& model, std::vector<LabeledText> train,
                           std::vector<LabeledText> valid, ClassifyTaskOptions options)
    : model_(model), train_(std::move(train)), valid_(std::move(valid)), options_(options) {
  check(!train_.empty(), "classifier: no training examples");
  check(!valid_.empty(), "classifier: no validation examples");
  for (const auto& x : train_) {
    check(!x.tokens.empty(), "classifier: empty training text");
    train_lengths_.push_back(static_cast<int64_t>(x.tokens.size()));
  }
}

StepResult ClassifyTask::train_step(Rng& rng) {
  const auto& idx = next_batch(cursor_, batches_, train_lengths_, options_.batch, rng);
  std::vector<const LabeledText*> rows;
  for (size_t i : idx) rows.push_back(&train_[i]);
  const ClassBatch b = make_class_batch(rows, model_.vocab, true);
  std::unique_ptr<ClassifierCache> cache;
  const Tensor<float> logits = model_.model->forward(b, Mode::Train, &rng, &cache);
  const Tensor<int64_t> targets({static_cast<int64_t>(b.labels.size())}, b.labels);
  const LossResult<float> loss = cross_entropy(logits, targets);
  model_.model->backward(*cache, loss.grad);
  return {loss.loss, static_cast<int64_t>(b.labels.size())};
}

EvalResult ClassifyTask::validate() {
  const ClassEvaluation ev = evaluate_classifier(model_, valid_, options_.eval_batch);
  return {ev.loss, {{"accuracy", ev.accuracy()}}};
}

double ClassifyTask::epoch() const {
  if (!cursor_.started || batches_.empty()) return 0.0;
  return static_cast<double>(cursor_.epoch) +
         static_cast<double>(cursor_.position) / static_cast<double>(batches_.size());
}

void ClassifyTask::save_state(Checkpoint& checkpoint) const {
  nlohmann::json task = model_.meta();
  task["cursor"] = cursor_.to_json();
  checkpoint.meta["task"] = std::move(task);
}

void ClassifyTask::load_state(const Checkpoint& checkpoint) {
  check(checkpoint.meta.contains("task"), "checkpoint: no task state");
  const auto& task = checkpoint.meta["task"];
  check_meta_kind(task, "classifier", "checkpoint");
  const ClassVocab v = ClassVocab::from_json(task.at("vocab"));
  check(v.labels == model_.vocab.labels, "checkpoint's label set differs from the data's: ",
        differs(v.labels, model_.vocab.labels, "labels"));
  check(v.words == model_.vocab.words,
        "checkpoint's vocabulary differs from the data's (resume with the same training data)");
  check(ClassifierConfig::from_json(task.at("config")).to_json() == model_.model->config().to_json(),
        "checkpoint's model configuration differs from the requested one");
  cursor_ = EpochCursor::from_json(task.at("cursor"));
  batches_.clear();
  if (cursor_.started) batches_ = length_bucketed_batches(train_lengths_, options_.batch, cursor_.seed);
}

}  // namespace rnn::tagging
