// The one trainer every task uses (language modeling, forecasting, tagging, translation,
// speech): optimizer, schedule and warm-up, clipping, validation every N steps, early
// stopping, best-model keeping, atomic checkpoints every N steps and on Ctrl-C, bit-exact
// resume, a progress bar (plain lines when stderr is not a terminal), a metrics log
// (metrics.jsonl) and training curves (curves.svg) in the run folder.
//
// A task supplies batches, the loss and its gradients through TrainTask; the trainer owns
// everything else about the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/train/checkpoint.h"

namespace rnn {

struct StepResult {
  double loss = 0.0;   // mean loss of the batch
  int64_t units = 0;   // tokens / samples / frames processed (for units/s)
};

struct EvalResult {
  double loss = 0.0;                       // lower is better; early stopping watches it
  std::map<std::string, double> metrics;   // extra figures for the log (e.g. "bpc")
};

class TrainTask {
 public:
  virtual ~TrainTask() = default;

  // The model's parameters (one flat buffer), the ones the optimizer updates.
  virtual Parameters<float>& parameters() = 0;

  // Forward and backward on the next training batch. Gradients are zeroed by the trainer
  // before the call; the task adds (+=) into parameters().grads(). Randomness (dropout,
  // shuffling) must come from `rng` so that a resumed run repeats it.
  virtual StepResult train_step(Rng& rng) = 0;

  // Loss on the validation data in evaluation mode (must not touch training state).
  virtual EvalResult validate() = 0;

  // Position in the data for the progress display: epochs done, fractional.
  virtual double epoch() const { return 0.0; }

  // The task's own resumable state: data position, carried hidden states, vocabulary,
  // model configuration. `save_state` writes into checkpoint.meta["task"] and task
  // tensors; `load_state` restores it and throws rnn::Error when the checkpoint belongs
  // to a different model or vocabulary.
  virtual void save_state(Checkpoint& checkpoint) const = 0;
  virtual void load_state(const Checkpoint& checkpoint) = 0;

  // Gradient-flow diagnostics (TrainerOptions::diagnostics_every), optional. The trainer
  // calls record_gradient_flow(true) before the train_step of a diagnosed step and
  // record_gradient_flow(false) after it; a task that supports it then returns from
  // gradient_flow() the norms ||dL/dh_t|| of that step, [layer][t] for t = 0..T-1 (see
  // rnn/diagnostics/gradient_flow.h). Recording must not change the step's gradients or
  // its use of the random generator. Tasks without recurrent layers keep the defaults.
  virtual void record_gradient_flow(bool on) { (void)on; }
  virtual std::vector<std::vector<double>> gradient_flow() const { return {}; }
};

enum class ProgressStyle { Auto, Bar, Lines, Off };
enum class NonFinitePolicy { Stop, Skip };

struct TrainerOptions {
  int64_t max_steps = 1000;
  double max_seconds = 0.0;         // wall-clock budget; 0 = none
  int64_t eval_every = 200;         // validation every N steps (and at the end); 0 = only at the end
  int64_t checkpoint_every = 500;   // 0 = only at the end and on Ctrl-C
  int64_t patience = 0;             // stop after N evaluations without improvement; 0 = off
  double min_delta = 0.0;           // improvement needed to count
  double clip_norm = 0.0;           // total 2-norm clipping; 0 = off
  double clip_value = 0.0;          // element clipping; 0 = off
  std::string optimizer = "adam";   // sgd | adam | adamw | rmsprop | adagrad
  nlohmann::json optimizer_options = nlohmann::json::object();  // e.g. {"lr": 2e-3}
  std::string schedule = "constant";  // constant | step | exponential | cosine | plateau
  nlohmann::json schedule_options = nlohmann::json::object();
  int64_t warmup_steps = 0;         // linear warm-up in front of the schedule
  uint64_t seed = 1;
  std::string run_dir;              // required: checkpoints, metrics.jsonl, curves.svg
  bool resume = false;              // continue from run_dir/last.ckpt
  ProgressStyle progress = ProgressStyle::Auto;
  int64_t log_every = 0;            // progress line / metrics row every N steps; 0 = about 100 per run
  // A step whose loss or gradient holds NaN or Inf. Stop: training ends with an rnn::Error
  // naming the step and what was not finite (the last checkpoint is left as it was). Skip:
  // the step changes neither the weights nor the optimizer state (its batch is consumed and
  // the lr schedule advances), the lr is multiplied by non_finite_lr_factor for the rest of
  // the run (on top of the schedule), and training goes on; more than max_consecutive_skips
  // such steps in a row stop it as Stop does.
  NonFinitePolicy non_finite = NonFinitePolicy::Stop;
  double non_finite_lr_factor = 0.5;
  int64_t max_consecutive_skips = 5;
  std::string unit_name = "tok";    // shown in the progress display ("tok/s")
  // Gradient diagnostics on step 1 and every N steps (0 = off, nothing is computed): one row
  // per diagnosed step in run_dir/diagnostics.jsonl with the total gradient norm before and
  // after clipping, the spectral radius and largest singular value of every parameter whose
  // name contains "weight_hh" (per gate block and the maximum), and the task's gradient flow
  // ||dL/dh_t|| per layer (TrainTask::gradient_flow). Training itself is unchanged.
  int64_t diagnostics_every = 0;
};

struct TrainSummary {
  int64_t steps = 0;
  double last_train_loss = 0.0;
  double best_val_loss = 0.0;
  int64_t best_step = 0;
  double units_per_second = 0.0;
  double seconds = 0.0;
  bool stopped_early = false;
  bool interrupted = false;         // Ctrl-C (SIGINT) or SIGTERM: a checkpoint was written
  int64_t skipped_steps = 0;        // non-finite steps skipped (NonFinitePolicy::Skip), whole run
  std::string best_checkpoint;      // run_dir/best.ckpt
  std::string last_checkpoint;      // run_dir/last.ckpt
  nlohmann::json to_json() const;
};

class Trainer {
 public:
  Trainer(TrainerOptions options, TrainTask& task);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Runs to max_steps, the time budget, early stopping or Ctrl-C. Throws rnn::Error on
  // a non-finite loss or gradient, or an rnn::NonFiniteError raised inside the step
  // (NonFinitePolicy::Stop; Skip skips such steps), naming the step, and on any
  // error inside a training step or while writing the run folder (a full disk, a
  // read-only folder), then also naming the step; the files written before stay intact.
  // A checkpoint is never written with a non-finite parameter (Checkpoint::save refuses).
  TrainSummary run();

  // Called after every optimizer step (diagnostics, custom logging). Optional.
  std::function<void(int64_t step, const StepResult&)> on_step;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace rnn
