// Training tasks for the one trainer (train/trainer.h), evaluation and baselines, for the
// tagger (one label per token) and the classifiers (one label per sequence).
//
// A trained model lives in a checkpoint (the trainer's best.ckpt / last.ckpt): parameters
// plus meta["task"] = {kind, config, vocabularies}, so `load_tagger` / `load_classifier`
// rebuild it from that one file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "rnn/tagging/data.h"
#include "rnn/tagging/metrics.h"
#include "rnn/tagging/models.h"
#include "rnn/train/trainer.h"

namespace rnn::tagging {

// ---- batching --------------------------------------------------------------------------

// Batches of about `batch` items per epoch with similar lengths (less padding): the items
// are shuffled with a seed, cut into pools of 50 batches, each pool sorted by length and cut
// into batches, and the batch order shuffled again. Deterministic in (lengths, batch, seed).
std::vector<std::vector<size_t>> length_bucketed_batches(const std::vector<int64_t>& lengths,
                                                         int64_t batch, uint64_t seed);
// Evaluation order: sorted by length, cut into batches (no randomness).
std::vector<std::vector<size_t>> sorted_batches(const std::vector<int64_t>& lengths, int64_t batch);

// Where training is in the data: the epoch, the batch within it, and the seed of the
// epoch's order (drawn from the trainer's generator when an epoch starts).
struct EpochCursor {
  int64_t epoch = 0;
  int64_t position = 0;
  uint64_t seed = 0;
  bool started = false;
  nlohmann::json to_json() const;
  static EpochCursor from_json(const nlohmann::json& j);
};

// ---- tagging ---------------------------------------------------------------------------

struct TagVocab {
  Labels words;  // "<unk>" first, then training words by count (min_count)
  Labels chars;  // "<unk>" first, then training characters by count
  Labels tags;
  nlohmann::json to_json() const;
  static TagVocab from_json(const nlohmann::json& j);
};

// Vocabularies from training sentences; `tags` given (e.g. the whole simplified Brown tag
// set) or, when empty, the training tags by count.
TagVocab build_tag_vocab(const std::vector<TaggedSentence>& train, int64_t min_word_count,
                         const std::vector<std::string>& tags = {});

// Sentences to a batch. Unknown words and characters map to id 0. Tags: when `with_tags`,
// each must be in vocab.tags (rnn::Error names the sentence and the tag otherwise).
// `word_dropout` > 0 (training) replaces each word id by 0 with that probability, drawn
// from `rng` (the characters stay).
TagBatch make_tag_batch(const std::vector<const TaggedSentence*>& sentences, const TagVocab& vocab,
                        bool with_tags, double word_dropout = 0.0, Rng* rng = nullptr);

struct TaggerModel {
  TagVocab vocab;
  Parameters<float> store;
  std::unique_ptr<Tagger<float>> model;
  TaggerModel(const TaggerConfig& config, TagVocab vocab, uint64_t seed);
  nlohmann::json meta() const;  // {"kind": "tagger", "config", "vocab"}
};
// Rebuilds a tagger from a checkpoint written by training.
std::unique_ptr<TaggerModel> load_tagger(const std::string& checkpoint_path);

struct TagEvaluation {
  double loss = 0.0;           // mean cross-entropy per token
  int64_t tokens = 0;
  int64_t correct = 0;
  int64_t unseen_tokens = 0;   // words outside the model's vocabulary
  int64_t unseen_correct = 0;
  Confusion confusion;         // gold x predicted over vocab.tags
  double accuracy() const { return tokens ? double(correct) / double(tokens) : 0.0; }
  double unseen_accuracy() const {
    return unseen_tokens ? double(unseen_correct) / double(unseen_tokens) : 0.0;
  }
  nlohmann::json to_json() const;  // loss, tokens, accuracy, unseen_tokens, unseen_accuracy
};

// Evaluation mode over all sentences (their tags must be in the model's tag set).
TagEvaluation evaluate_tagger(const TaggerModel& m, const std::vector<TaggedSentence>& sentences,
                              int64_t batch = 64);
// Predicted tags per sentence (the tags of `sentences` are ignored).
std::vector<std::vector<std::string>> predict_tags(const TaggerModel& m,
                                                   const std::vector<TaggedSentence>& sentences,
                                                   int64_t batch = 64);

// The most-frequent-tag baseline: each training word gets its most frequent training tag
// (ties: the tag seen first), any other word the most frequent tag overall.
class MostFrequentTag {
 public:
  explicit MostFrequentTag(const std::vector<TaggedSentence>& train);
  const std::string& tag(const std::string& word) const;
  bool known(const std::string& word) const { return best_.count(word) != 0; }
  // Accuracy over all tokens and over the words not seen in training.
  struct Result {
    int64_t tokens = 0, correct = 0, unseen_tokens = 0, unseen_correct = 0;
    double accuracy() const { return tokens ? double(correct) / double(tokens) : 0.0; }
    double unseen_accuracy() const {
      return unseen_tokens ? double(unseen_correct) / double(unseen_tokens) : 0.0;
    }
  };
  Result evaluate(const std::vector<TaggedSentence>& sentences) const;

 private:
  std::unordered_map<std::string, std::string> best_;
  std::string overall_;
};

struct TagTaskOptions {
  int64_t batch = 32;
  double word_dropout = 0.05;
  int64_t eval_batch = 64;
};

class TagTask : public TrainTask {
 public:
  TagTask(TaggerModel& model, std::vector<TaggedSentence> train, std::vector<TaggedSentence> valid,
          TagTaskOptions options);
  Parameters<float>& parameters() override { return model_.store; }
  StepResult train_step(Rng& rng) override;
  EvalResult validate() override;  // loss; metrics: accuracy, unseen_accuracy
  double epoch() const override;
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;

 private:
  TaggerModel& model_;
  std::vector<TaggedSentence> train_, valid_;
  std::vector<int64_t> train_lengths_;
  TagTaskOptions options_;
  EpochCursor cursor_;
  std::vector<std::vector<size_t>> batches_;
};

// ---- classification --------------------------------------------------------------------

struct ClassVocab {
  Labels words;   // "<unk>" first
  Labels labels;  // in sorted order
  nlohmann::json to_json() const;
  static ClassVocab from_json(const nlohmann::json& j);
};
ClassVocab build_class_vocab(const std::vector<LabeledText>& train, int64_t min_word_count);

// Texts to a batch; labels must be in vocab.labels when `with_labels` (error names the
// example and the label).
ClassBatch make_class_batch(const std::vector<const LabeledText*>& texts, const ClassVocab& vocab,
                            bool with_labels);

struct ClassifierModel {
  ClassVocab vocab;
  Parameters<float> store;
  std::unique_ptr<Classifier<float>> model;
  ClassifierModel(const ClassifierConfig& config, ClassVocab vocab, uint64_t seed);
  nlohmann::json meta() const;  // {"kind": "classifier", "config", "vocab"}
};
std::unique_ptr<ClassifierModel> load_classifier(const std::string& checkpoint_path);

struct ClassEvaluation {
  double loss = 0.0;
  int64_t examples = 0;
  int64_t correct = 0;
  Confusion confusion;
  double accuracy() const { return examples ? double(correct) / double(examples) : 0.0; }
  nlohmann::json to_json() const;
};
ClassEvaluation evaluate_classifier(const ClassifierModel& m, const std::vector<LabeledText>& data,
                                    int64_t batch = 64);
// Predicted label and its probability per text.
std::vector<std::pair<std::string, double>> predict_labels(const ClassifierModel& m,
                                                           const std::vector<LabeledText>& data,
                                                           int64_t batch = 64);

struct ClassifyTaskOptions {
  int64_t batch = 32;
  int64_t eval_batch = 64;
};

class ClassifyTask : public TrainTask {
 public:
  ClassifyTask(ClassifierModel& model, std::vector<LabeledText> train,
               std::vector<LabeledText> valid, ClassifyTaskOptions options);
  Parameters<float>& parameters() override { return model_.store; }
  StepResult train_step(Rng& rng) override;
  EvalResult validate() override;  // loss; metrics: accuracy
  double epoch() const override;
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;

 private:
  ClassifierModel& model_;
  std::vector<LabeledText> train_, valid_;
  std::vector<int64_t> train_lengths_;
  ClassifyTaskOptions options_;
  EpochCursor cursor_;
  std::vector<std::vector<size_t>> batches_;
};

}  // namespace rnn::tagging
