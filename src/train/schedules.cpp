#include "rnn/train/schedules.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rnn {
namespace {
constexpr double kPi = 3.141592653589793;  // Python's math.pi

void check_base_lr(const char* who, double lr) {
  check(std::isfinite(lr) && lr >= 0.0, who, ": invalid base learning rate ", lr);
}
}  // namespace

double ScheduleState::get(const std::string& name) const {
  for (const auto& [key, value] : values) {
    if (key == name) return value;
  }
  fail("schedule state '", kind, "' has no value '", name, "'");
}

// ---- base --------------------------------------------------------------------------------

LrSchedule::LrSchedule(double base_lr) : base_lr_(base_lr), lr_(base_lr) {
  check_base_lr("lr schedule", base_lr);
}

double LrSchedule::step() {
  ++epoch_;
  lr_ = next_lr();
  return lr_;
}

double LrSchedule::step(LrControl& optimizer) {
  const double lr = step();
  optimizer.set_lr(lr);
  return lr;
}

ScheduleState LrSchedule::state() const {
  return {kind(), {{"epoch", static_cast<double>(epoch_)}, {"lr", lr_}}};
}

void LrSchedule::load_state(const ScheduleState& s) {
  check(s.kind == kind(), "lr schedule '", kind(), "': state is for '", s.kind, "'");
  const double epoch = s.get("epoch");
  check(epoch >= 0 && epoch == std::floor(epoch), "lr schedule '", kind(), "': bad epoch ",
        epoch);
  epoch_ = static_cast<int64_t>(epoch);
  lr_ = s.get("lr");
}

// ---- StepLR / ExponentialLR / CosineAnnealingLR ------------------------------------------

StepLr::StepLr(double base_lr, int64_t step_size, double gamma)
    : LrSchedule(base_lr), step_size_(step_size), gamma_(gamma) {
  check(step_size >= 1, "StepLr: step_size must be >= 1, got ", step_size);
}

double StepLr::next_lr() {
  if (epoch_ == 0 || epoch_ % step_size_ != 0) return lr_;
  return lr_ * gamma_;
}

ExponentialLr::ExponentialLr(double base_lr, double gamma) : LrSchedule(base_lr), gamma_(gamma) {}

double ExponentialLr::next_lr() { return epoch_ == 0 ? lr_ : lr_ * gamma_; }

CosineAnnealingLr::CosineAnnealingLr(double base_lr, int64_t t_max, double eta_min)
    : LrSchedule(base_lr), t_max_(t_max), eta_min_(eta_min) {
  check(t_max >= 1, "CosineAnnealingLr: t_max must be >= 1, got ", t_max);
}

double CosineAnnealingLr::next_lr() {
  if (epoch_ == 0) return lr_;
  const auto e = static_cast<double>(epoch_);
  const auto t_max = static_cast<double>(t_max_);
  if ((epoch_ - 1 - t_max_) % (2 * t_max_) == 0) {
    return lr_ + (base_lr_ - eta_min_) * (1 - std::cos(kPi / t_max)) / 2;
  }
  return (1 + std::cos(kPi * e / t_max)) / (1 + std::cos(kPi * (e - 1) / t_max)) *
             (lr_ - eta_min_) +
         eta_min_;
}

// ---- LinearWarmup ------------------------------------------------------------------------

LinearWarmup::LinearWarmup(std::unique_ptr<LrSchedule> inner, int64_t warmup_steps,
                           double start_factor)
    : LrSchedule(inner ? inner->lr() : 0.0),
      inner_(std::move(inner)),
      warmup_steps_(warmup_steps),
      start_factor_(start_factor) {
  check(inner_ != nullptr, "LinearWarmup: no inner schedule");
  check(warmup_steps >= 1, "LinearWarmup: warmup_steps must be >= 1, got ", warmup_steps);
  check(start_factor >= 0.0 && start_factor <= 1.0,
        "LinearWarmup: start_factor must be in [0, 1], got ", start_factor);
  epoch_ = inner_->epoch();
  lr_ = inner_->lr() * factor(epoch_);
}

LinearWarmup::LinearWarmup(double base_lr, int64_t warmup_steps, double start_factor)
    : LinearWarmup(std::make_unique<ConstantLr>(base_lr), warmup_steps, start_factor) {}

double LinearWarmup::factor(int64_t epoch) const {
  const auto e = static_cast<double>(std::min(epoch, warmup_steps_));
  return start_factor_ + (1.0 - start_factor_) * e / static_cast<double>(warmup_steps_);
}

double LinearWarmup::next_lr() {
  inner_->step();
  return inner_->lr() * factor(epoch_);
}

ScheduleState LinearWarmup::state() const {
  ScheduleState s = LrSchedule::state();
  for (auto& [key, value] : inner_->state().values) s.values.emplace_back("inner." + key, value);
  return s;
}

void LinearWarmup::load_state(const ScheduleState& s) {
  LrSchedule::load_state(s);
  ScheduleState inner{inner_->kind(), {}};
  for (const auto& [key, value] : s.values) {
    if (key.rfind("inner.", 0) == 0) inner.values.emplace_back(key.substr(6), value);
  }
  inner_->load_state(inner);
}

// ---- ReduceLROnPlateau -------------------------------------------------------------------

ReduceLrOnPlateau::ReduceLrOnPlateau(double base_lr, const PlateauOptions& options)
    : options_(options), lr_(base_lr) {
  check_base_lr("ReduceLrOnPlateau", base_lr);
  check(options.factor < 1.0 && options.factor >= 0.0,
        "ReduceLrOnPlateau: factor should be < 1.0 (and >= 0), got ", options.factor);
  check(options.patience >= 0, "ReduceLrOnPlateau: negative patience ", options.patience);
  check(options.cooldown >= 0, "ReduceLrOnPlateau: negative cooldown ", options.cooldown);
  check(options.min_lr >= 0.0, "ReduceLrOnPlateau: negative min_lr ", options.min_lr);
  const double inf = std::numeric_limits<double>::infinity();
  best_ = options.mode == PlateauOptions::Mode::Min ? inf : -inf;
}

bool ReduceLrOnPlateau::is_better(double a) const {
  const bool rel = options_.threshold_mode == PlateauOptions::ThresholdMode::Rel;
  if (options_.mode == PlateauOptions::Mode::Min) {
    return rel ? a < best_ * (1.0 - options_.threshold) : a < best_ - options_.threshold;
  }
  return rel ? a > best_ * (options_.threshold + 1.0) : a > best_ + options_.threshold;
}

double ReduceLrOnPlateau::step(double metric) {
  ++epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > options_.patience) {
    const double new_lr = std::max(lr_ * options_.factor, options_.min_lr);
    if (lr_ - new_lr > options_.eps) lr_ = new_lr;
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
  return lr_;
}

double ReduceLrOnPlateau::step(double metric, LrControl& optimizer) {
  const double lr = step(metric);
  optimizer.set_lr(lr);
  return lr;
}

ScheduleState ReduceLrOnPlateau::state() const {
  return {"plateau",
          {{"epoch", static_cast<double>(epoch_)},
           {"lr", lr_},
           {"best", best_},
           {"num_bad_epochs", static_cast<double>(num_bad_epochs_)},
           {"cooldown_counter", static_cast<double>(cooldown_counter_)}}};
}

void ReduceLrOnPlateau::load_state(const ScheduleState& s) {
  check(s.kind == "plateau", "ReduceLrOnPlateau: state is for '", s.kind, "'");
  epoch_ = static_cast<int64_t>(s.get("epoch"));
  lr_ = s.get("lr");
  best_ = s.get("best");
  num_bad_epochs_ = static_cast<int64_t>(s.get("num_bad_epochs"));
  cooldown_counter_ = static_cast<int64_t>(s.get("cooldown_counter"));
}

}  // namespace rnn
