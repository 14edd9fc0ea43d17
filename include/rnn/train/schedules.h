// Learning-rate schedules with torch.optim.lr_scheduler's values (PyTorch 1.13, its
// recursive "chainable" forms, computed in double as Python does).
//
// A schedule owns its current lr; it does not hold the optimizer. Epoch 0 (after
// construction) has the base lr; step() moves to the next epoch, as scheduler.step():
//
//   Sgd<float> opt({.lr = 0.1});  StepLr sched(0.1, 30);
//   for (epoch ...) { train(opt); opt.set_lr(sched.step()); }   // or sched.step(opt)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rnn/train/optimizers.h"

namespace rnn {

// A schedule's state for checkpoints: named scalars ("epoch", "lr", ...).
struct ScheduleState {
  std::string kind;
  std::vector<std::pair<std::string, double>> values;
  double get(const std::string& name) const;  // throws rnn::Error if absent
};

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  double lr() const { return lr_; }
  double base_lr() const { return base_lr_; }
  int64_t epoch() const { return epoch_; }
  // Advances one epoch and returns the new lr.
  double step();
  // step(), then optimizer.set_lr(new lr).
  double step(LrControl& optimizer);
  virtual std::string kind() const = 0;
  virtual ScheduleState state() const;
  virtual void load_state(const ScheduleState& state);

 protected:
  explicit LrSchedule(double base_lr);
  // The lr of epoch_ (already incremented), from lr_ (the previous epoch's).
  virtual double next_lr() = 0;
  double base_lr_;
  double lr_;
  int64_t epoch_ = 0;
};

// lr stays base_lr (the inner schedule of a plain warm-up).
class ConstantLr final : public LrSchedule {
 public:
  explicit ConstantLr(double base_lr) : LrSchedule(base_lr) {}
  std::string kind() const override { return "constant"; }

 private:
  double next_lr() override { return lr_; }
};

// StepLR: lr *= gamma every step_size epochs.
class StepLr final : public LrSchedule {
 public:
  StepLr(double base_lr, int64_t step_size, double gamma = 0.1);
  std::string kind() const override { return "step"; }

 private:
  double next_lr() override;
  int64_t step_size_;
  double gamma_;
};

// ExponentialLR: lr *= gamma every epoch.
class ExponentialLr final : public LrSchedule {
 public:
  ExponentialLr(double base_lr, double gamma);
  std::string kind() const override { return "exponential"; }

 private:
  double next_lr() override;
  double gamma_;
};

// CosineAnnealingLR (recursive form, so it keeps cycling past t_max as PyTorch's does):
//   lr_e = eta_min + (lr_{e-1} - eta_min) (1 + cos(pi e / t_max)) / (1 + cos(pi (e-1) / t_max))
//   and lr_e = lr_{e-1} + (base - eta_min)(1 - cos(pi / t_max)) / 2 when (e-1-t_max) % 2t_max == 0
class CosineAnnealingLr final : public LrSchedule {
 public:
  CosineAnnealingLr(double base_lr, int64_t t_max, double eta_min = 0.0);
  std::string kind() const override { return "cosine"; }

 private:
  double next_lr() override;
  int64_t t_max_;
  double eta_min_;
};

// Linear warm-up in front of another schedule: lr_e = inner.lr_e * f_e with
//   f_e = start_factor + (1 - start_factor) * min(e, warmup_steps) / warmup_steps,
// the product torch.optim.lr_scheduler.ChainedScheduler([LinearLR(start_factor, 1.0,
// warmup_steps), inner]) gives. The inner schedule steps from epoch 0 on.
class LinearWarmup final : public LrSchedule {
 public:
  LinearWarmup(std::unique_ptr<LrSchedule> inner, int64_t warmup_steps,
               double start_factor = 1.0 / 3.0);
  // Warm-up to a constant base_lr.
  LinearWarmup(double base_lr, int64_t warmup_steps, double start_factor = 1.0 / 3.0);
  std::string kind() const override { return "warmup+" + inner_->kind(); }
  ScheduleState state() const override;  // inner values prefixed "inner."
  void load_state(const ScheduleState& state) override;
  const LrSchedule& inner() const { return *inner_; }

 private:
  double next_lr() override;
  double factor(int64_t epoch) const;
  std::unique_ptr<LrSchedule> inner_;
  int64_t warmup_steps_;
  double start_factor_;
};

// ReduceLROnPlateau: lr = max(lr * factor, min_lr) after more than `patience` epochs
// without improvement, then `cooldown` epochs of rest. Improvement (threshold_mode):
//   rel: min: a < best (1 - threshold), max: a > best (1 + threshold)
//   abs: min: a < best - threshold,     max: a > best + threshold
// A reduction smaller than eps is skipped.
struct PlateauOptions {
  enum class Mode { Min, Max };
  enum class ThresholdMode { Rel, Abs };
  Mode mode = Mode::Min;
  double factor = 0.1;  // < 1
  int64_t patience = 10;
  double threshold = 1e-4;
  ThresholdMode threshold_mode = ThresholdMode::Rel;
  int64_t cooldown = 0;
  double min_lr = 0.0;
  double eps = 1e-8;
};

class ReduceLrOnPlateau {
 public:
  ReduceLrOnPlateau(double base_lr, const PlateauOptions& options = {});
  double lr() const { return lr_; }
  int64_t epoch() const { return epoch_; }
  // Records one epoch's metric and returns the lr for the next epoch (a NaN metric
  // counts as no improvement, as in PyTorch).
  double step(double metric);
  double step(double metric, LrControl& optimizer);
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  ScheduleState state() const;
  void load_state(const ScheduleState& state);

 private:
  bool is_better(double a) const;
  PlateauOptions options_;
  double lr_;
  int64_t epoch_ = 0;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

}  // namespace rnn
