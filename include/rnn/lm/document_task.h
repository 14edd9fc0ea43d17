// The language-modeling task on per-category documents, for the one Trainer
// (rnn/train/trainer.h): truncated BPTT over DocumentStreams. A row whose segment starts
// at a window starts from its category's state tanh(cond.weight[:, c] + cond.bias)
// (conditional model: the gradient reaches cond.weight / cond.bias through that window)
// or from zeros (an unconditional model trained on the very same streams: the baseline);
// inside a segment the state is carried from window to window.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/lm/document_streams.h"
#include "rnn/lm/documents.h"
#include "rnn/lm/evaluation.h"
#include "rnn/lm/model.h"
#include "rnn/train/trainer.h"

namespace rnn::lm {

struct DocumentTaskOptions {
  int64_t batch = 32;            // B training streams
  int64_t seq_len = 128;         // T steps per window (truncated BPTT)
  int64_t segment = 4096;        // N predictions per segment, each started from the category
                                 // state; 0 = whole documents
  int64_t valid_batch = 0;       // validation streams; 0 = batch
  int64_t valid_max_tokens = 0;  // score only about N validation tokens (spread over documents)
};

// Checkpoint contents (meta["task"]): {"kind": "lm", "config", "vocab", "categories",
// "batch", "seq_len", "segment", "data": {"documents", "train_tokens", "train_fnv1a"},
// "window", "passes"} and task tensors "h", "c". load_state refuses a checkpoint with
// another category list, model, vocabulary, training data, batch, window or segment
// length, naming the difference.
class DocumentLmTask final : public TrainTask {
 public:
  // `model` and `corpus` must outlive the task. A conditional model needs
  // corpus.categories.size() categories.
  DocumentLmTask(LanguageModel<float>& model, const DocumentCorpus& corpus,
                 const DocumentTaskOptions& options);

  Parameters<float>& parameters() override { return model_.parameters(); }
  StepResult train_step(Rng& rng) override;
  EvalResult validate() override;
  double epoch() const override;
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;

  const DocumentStreams& streams() const { return streams_; }
  int64_t next_window() const { return window_; }
  double train_seconds() const { return train_seconds_; }
  int64_t train_tokens() const { return train_tokens_; }

 private:
  LanguageModel<float>& model_;
  const DocumentCorpus& corpus_;
  DocumentTaskOptions options_;
  DocumentStreams streams_;
  uint64_t train_hash_ = 0;
  int64_t train_size_ = 0;
  int64_t window_ = 0;  // next window of the pass
  int64_t passes_ = 0;
  RecurrentState<float> state_;
  double train_seconds_ = 0.0;
  int64_t train_tokens_ = 0;
  DocumentWindow win_;
};

}  // namespace rnn::lm
