// The language-modeling task for the one Trainer (rnn/train/trainer.h): truncated BPTT
// over contiguous batched streams of the training part, the hidden state carried from
// window to window and reset when a pass over the streams starts again.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "rnn/lm/corpus.h"
#include "rnn/lm/evaluation.h"
#include "rnn/lm/model.h"
#include "rnn/text/vocabulary.h"
#include "rnn/train/trainer.h"

namespace rnn::lm {

struct LmTaskOptions {
  int64_t batch = 32;            // B training streams
  int64_t seq_len = 128;         // T steps per window (truncated BPTT)
  int64_t valid_batch = 0;       // validation streams; 0 = batch
  int64_t valid_max_tokens = 0;  // score only the first N validation tokens; 0 = all
};

// Checkpoint contents (meta["task"]): {"kind": "lm", "config", "vocab", "batch",
// "seq_len", "data": {"train_tokens", "train_fnv1a"}, "window", "passes", "categories"?}
// and task tensors "h", "c" (the carried state). load_state refuses a checkpoint of
// another model, vocabulary, training text, batch or window length, naming the difference.
class LmTask final : public TrainTask {
 public:
  // `model`, `vocab` and the parts must outlive the task.
  LmTask(LanguageModel<float>& model, const text::Vocabulary& vocab, const Part& train,
         const Part& valid, const LmTaskOptions& options);

  Parameters<float>& parameters() override { return model_.parameters(); }
  StepResult train_step(Rng& rng) override;
  EvalResult validate() override;
  double epoch() const override;
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;

  const TokenStreams& streams() const { return streams_; }
  int64_t next_window() const { return window_; }
  double train_seconds() const { return train_seconds_; }  // time spent in train_step
  int64_t train_tokens() const { return train_tokens_; }   // predictions trained on

 private:
  LanguageModel<float>& model_;
  const text::Vocabulary& vocab_;
  const Part& train_;
  const Part& valid_;
  LmTaskOptions options_;
  TokenStreams streams_;
  uint64_t train_hash_ = 0;
  int64_t window_ = 0;  // next window of the pass
  int64_t passes_ = 0;  // completed passes
  RecurrentState<float> state_;
  double train_seconds_ = 0.0;
  int64_t train_tokens_ = 0;
  Tensor<int64_t> ids_, targets_;
};

// "rnn.hidden_size 256 in the checkpoint, 128 now": the first difference between two JSON
// values (empty when equal), for refusal messages.
std::string first_difference(const nlohmann::json& saved, const nlohmann::json& now,
                             const std::string& path = "");

// The state carried between windows, as checkpoint task tensors "h" (and "c" for LSTM):
// zeros of the model's shape for `batch` rows while nothing has been carried yet. The reader
// checks the shapes against the model.
void put_carried_state(Checkpoint& checkpoint, const RecurrentState<float>& state,
                       const LanguageModel<float>& model, int64_t batch);
RecurrentState<float> carried_state_from(const Checkpoint& checkpoint,
                                         const LanguageModel<float>& model, int64_t batch);

// One training window through `train` (a call of LanguageModel::window_loss on `state`).
// When the model diverges on it (an rnn::NonFiniteError, rethrown, or a non-finite loss)
// the carried state is dropped: it holds NaN and would make every later window fail too,
// where the trainer skips the step and goes on (NonFinitePolicy::Skip).
WindowLoss train_window(RecurrentState<float>& state, const std::function<WindowLoss()>& train);

// FNV-1a 64 of a token sequence (identifies the training text in checkpoints).
uint64_t token_hash(std::span<const int64_t> ids);

}  // namespace rnn::lm
