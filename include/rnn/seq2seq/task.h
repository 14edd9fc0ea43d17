// Translation for the one Trainer (rnn/train/trainer.h), and translation model files.
//
// Training: shuffled batches of sentence pairs (a new permutation drawn from the trainer's
// generator at every pass), teacher forcing, mean cross-entropy per target token with label
// smoothing. Validation: the plain cross-entropy per target token (what early stopping
// watches) and, as extra metrics, greedy corpus BLEU and chrF of the validation pairs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/seq2seq/data.h"
#include "rnn/seq2seq/model.h"
#include "rnn/seq2seq/search.h"
#include "rnn/seq2seq/tokenizer.h"
#include "rnn/train/trainer.h"

namespace rnn::seq2seq {

struct Seq2SeqTaskOptions {
  int64_t batch = 32;
  double label_smoothing = 0.1;
  int64_t valid_bleu_pairs = 200;  // greedy BLEU on the first N validation pairs; 0 = off
  int64_t valid_batch = 64;
};

// Checkpoint contents (meta["task"]): {"kind": "seq2seq", "config", "source", "target"
// (tokenizers), "batch", "data": {"pairs", "fnv1a"}, "pass", "cursor"} and the task tensor
// "order" (this pass's permutation). load_state refuses another model, tokenizers, data or
// batch size, naming the difference.
class Seq2SeqTask final : public TrainTask {
 public:
  // Everything must outlive the task.
  Seq2SeqTask(Seq2Seq<float>& model, const Tokenizer& source, const Tokenizer& target,
              const EncodedPairs& train, const EncodedPairs& valid,
              const std::vector<TextPair>& valid_text, const Seq2SeqTaskOptions& options);

  Parameters<float>& parameters() override { return model_.parameters(); }
  StepResult train_step(Rng& rng) override;
  EvalResult validate() override;
  double epoch() const override;
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;

 private:
  Seq2Seq<float>& model_;
  const Tokenizer& source_;
  const Tokenizer& target_;
  const EncodedPairs& train_;
  const EncodedPairs& valid_;
  const std::vector<TextPair>& valid_text_;
  Seq2SeqTaskOptions options_;
  uint64_t train_hash_ = 0;
  std::vector<int64_t> order_;
  int64_t cursor_ = 0;
  int64_t pass_ = 0;
};

// Mean cross-entropy per target token (no label smoothing) of pairs, in evaluation mode.
SequenceLoss evaluate_loss(const Seq2Seq<float>& model, const std::vector<EncodedPair>& pairs,
                           int64_t batch);

// Exported model: safetensors with the parameters under their names (see model.h) and
// __metadata__["rnn_seq2seq"] = {"format": 1, "config", "source", "target", "info"}.
struct LoadedTranslator {
  std::unique_ptr<Seq2Seq<float>> model;
  Tokenizer source, target;
  std::string kind;  // "checkpoint" or "model"
};
void save_translator(const std::string& path, const Seq2Seq<float>& model, const Tokenizer& source,
                     const Tokenizer& target, const nlohmann::json& info = nlohmann::json::object());
// Reads an exported model or a training checkpoint (best.ckpt / last.ckpt); throws
// rnn::Error naming the path: missing or corrupt file, not a translation model, a
// tokenizer whose size does not match the model's vocabulary, parameters missing / unknown /
// misshapen / non-finite.
LoadedTranslator load_translator(const std::string& path);

}  // namespace rnn::seq2seq
