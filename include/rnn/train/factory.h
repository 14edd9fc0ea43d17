// Optimizers and LR schedules built from a kind name and JSON options, for the CLI and
// run configurations: make_optimizer<float>("adam", {{"lr", 3e-3}, {"amsgrad", true}}).
// Keys are the option field names of optimizers.h / schedules.h; a missing key keeps
// PyTorch's default. An unknown kind or key, or a value of the wrong type, throws
// rnn::Error naming it.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "rnn/train/optimizers.h"
#include "rnn/train/schedules.h"

namespace rnn {

// kinds: sgd (lr, momentum, dampening, weight_decay, nesterov), adam / adamw (lr, beta1,
// beta2, eps, weight_decay, amsgrad), rmsprop (lr, alpha, eps, weight_decay, momentum,
// centered), adagrad (lr, lr_decay, weight_decay, initial_accumulator_value, eps).
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& kind,
                                             const nlohmann::json& options = nlohmann::json::object());

// kinds: constant, step (step_size, gamma), exponential (gamma), cosine (t_max, eta_min).
// Any kind also takes warmup_steps (> 0 wraps it in LinearWarmup) and warmup_start_factor.
std::unique_ptr<LrSchedule> make_schedule(const std::string& kind, double base_lr,
                                          const nlohmann::json& options = nlohmann::json::object());

// ReduceLROnPlateau options: mode ("min"/"max"), factor, patience, threshold,
// threshold_mode ("rel"/"abs"), cooldown, min_lr, eps.
PlateauOptions plateau_options(const nlohmann::json& options);

}  // namespace rnn
