// The speech-recognition task for the one Trainer (rnn/train/trainer.h): random batches of
// training utterances (a new shuffled order every pass), CTC loss with mean reduction,
// optional SpecAugment-style masks; validation reports CTC loss, WER, CER and whole-string
// accuracy (greedy decoding).
#pragma once

#include <cstdint>
#include <vector>

#include "rnn/asr/data.h"
#include "rnn/asr/model.h"
#include "rnn/ctc/metrics.h"
#include "rnn/train/trainer.h"

namespace rnn::asr {

struct AsrTaskOptions {
  int64_t batch = 16;
  int64_t valid_batch = 32;
  // SpecAugment (Park et al. 2019), drawn from the trainer's generator, training only:
  int64_t freq_masks = 2;    // masks of up to freq_width bands set to zero (the mean)
  int64_t freq_width = 6;
  int64_t time_masks = 2;    // masks of up to time_width frames
  int64_t time_width = 12;
};

struct AsrEvaluation {
  double loss = 0.0;        // CTC, mean over target lengths then utterances
  ctc::ErrorCounts errors;
  std::vector<std::string> hypotheses;  // per utterance
};

// Loss and error rates of `model` on `set` (eval mode), decoded greedily or with a beam.
AsrEvaluation evaluate(const AsrModel& model, const FeatureSet& set, int64_t batch,
                       int64_t beam_width = 1);

// Checkpoint contents: meta["task"] = {"kind": "asr", "config", "normalizer", "batch",
// "order" (this pass's shuffled utterance order), "position", "passes", "train_utterances"}.
class AsrTask final : public TrainTask {
 public:
  // `model`, `train` and `valid` must outlive the task; `normalizer` is saved with it.
  AsrTask(AsrModel& model, const features::Normalizer& normalizer, const FeatureSet& train,
          const FeatureSet& valid, const AsrTaskOptions& options);

  Parameters<float>& parameters() override { return model_.parameters(); }
  StepResult train_step(Rng& rng) override;
  EvalResult validate() override;
  double epoch() const override;
  void save_state(Checkpoint& checkpoint) const override;
  void load_state(const Checkpoint& checkpoint) override;

 private:
  AsrModel& model_;
  features::Normalizer normalizer_;
  const FeatureSet& train_;
  const FeatureSet& valid_;
  AsrTaskOptions options_;
  std::vector<int64_t> order_;
  int64_t position_ = 0;
  int64_t passes_ = 0;
};

// A trained recogniser read back from a checkpoint (best.ckpt / last.ckpt of `rnn asr
// train`): throws rnn::Error naming the path when it is not one.
struct LoadedAsr {
  std::unique_ptr<AsrModel> model;
  features::Normalizer normalizer;
  int64_t step = 0;
};
LoadedAsr load_asr(const std::string& path);

}  // namespace rnn::asr
