#include "rnn/core/json_int.h"
#include "rnn/train/factory.h"
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
#include <set>
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
namespace rnn {
#include "rnn/core/json_int.h"
namespace {
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
// Reads keys of one JSON object, remembering which were used, so that leftovers can be
#include "rnn/core/json_int.h"
// reported as unknown.
#include "rnn/core/json_int.h"
class Reader {
#include "rnn/core/json_int.h"
 public:
#include "rnn/core/json_int.h"
  Reader(std::string who, const nlohmann::json& options) : who_(std::move(who)), j_(options) {
#include "rnn/core/json_int.h"
    check(j_.is_object() || j_.is_null(), who_, ": options must be a JSON object, got ",
#include "rnn/core/json_int.h"
          j_.dump());
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  double number(const char* key, double fallback) {
#include "rnn/core/json_int.h"
    if (!take(key)) return fallback;
#include "rnn/core/json_int.h"
    check(j_.at(key).is_number(), who_, ": option '", key, "' must be a number, got ",
#include "rnn/core/json_int.h"
          j_.at(key).dump());
#include "rnn/core/json_int.h"
    return j_.at(key).get<double>();
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  int64_t integer(const char* key, int64_t fallback) {
#include "rnn/core/json_int.h"
    if (!take(key)) return fallback;
#include "rnn/core/json_int.h"
    check(j_.at(key).is_number_integer(), who_, ": option '", key,
#include "rnn/core/json_int.h"
          "' must be an integer, got ", j_.at(key).dump());
#include "rnn/core/json_int.h"
    return j_.at(key).get<JsonInt<int64_t>>().value;
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  bool flag(const char* key, bool fallback) {
#include "rnn/core/json_int.h"
    if (!take(key)) return fallback;
#include "rnn/core/json_int.h"
    check(j_.at(key).is_boolean(), who_, ": option '", key, "' must be true or false, got ",
#include "rnn/core/json_int.h"
          j_.at(key).dump());
#include "rnn/core/json_int.h"
    return j_.at(key).get<bool>();
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  std::string text(const char* key, const std::string& fallback) {
#include "rnn/core/json_int.h"
    if (!take(key)) return fallback;
#include "rnn/core/json_int.h"
    check(j_.at(key).is_string(), who_, ": option '", key, "' must be a string, got ",
#include "rnn/core/json_int.h"
          j_.at(key).dump());
#include "rnn/core/json_int.h"
    return j_.at(key).get<std::string>();
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  // Throws on any key not read.
#include "rnn/core/json_int.h"
  void finish() const {
#include "rnn/core/json_int.h"
    if (!j_.is_object()) return;
#include "rnn/core/json_int.h"
    for (const auto& [key, value] : j_.items()) {
#include "rnn/core/json_int.h"
      if (!used_.count(key)) {
#include "rnn/core/json_int.h"
        std::string known;
#include "rnn/core/json_int.h"
        for (const auto& k : used_names_) known += (known.empty() ? "" : ", ") + k;
#include "rnn/core/json_int.h"
        fail(who_, ": unknown option '", key, "' (known: ", known, ")");
#include "rnn/core/json_int.h"
      }
#include "rnn/core/json_int.h"
    }
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
 private:
#include "rnn/core/json_int.h"
  bool take(const char* key) {
#include "rnn/core/json_int.h"
    used_names_.push_back(key);
#include "rnn/core/json_int.h"
    if (!j_.is_object() || !j_.contains(key)) return false;
#include "rnn/core/json_int.h"
    used_.insert(key);
#include "rnn/core/json_int.h"
    return true;
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  std::string who_;
#include "rnn/core/json_int.h"
  const nlohmann::json& j_;
#include "rnn/core/json_int.h"
  std::set<std::string> used_;
#include "rnn/core/json_int.h"
  std::vector<std::string> used_names_;
#include "rnn/core/json_int.h"
};
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
}  // namespace
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
template <class T>
#include "rnn/core/json_int.h"
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& kind,
#include "rnn/core/json_int.h"
                                             const nlohmann::json& options) {
#include "rnn/core/json_int.h"
  Reader r("optimizer '" + kind + "'", options);
#include "rnn/core/json_int.h"
  std::unique_ptr<Optimizer<T>> made;
#include "rnn/core/json_int.h"
  if (kind == "sgd") {
#include "rnn/core/json_int.h"
    SgdOptions o;
#include "rnn/core/json_int.h"
    o.lr = r.number("lr", o.lr);
#include "rnn/core/json_int.h"
    o.momentum = r.number("momentum", o.momentum);
#include "rnn/core/json_int.h"
    o.dampening = r.number("dampening", o.dampening);
#include "rnn/core/json_int.h"
    o.weight_decay = r.number("weight_decay", o.weight_decay);
#include "rnn/core/json_int.h"
    o.nesterov = r.flag("nesterov", o.nesterov);
#include "rnn/core/json_int.h"
    r.finish();
#include "rnn/core/json_int.h"
    made = std::make_unique<Sgd<T>>(o);
#include "rnn/core/json_int.h"
  } else if (kind == "adam" || kind == "adamw") {
#include "rnn/core/json_int.h"
    AdamWOptions o;
#include "rnn/core/json_int.h"
    if (kind == "adam") o.weight_decay = AdamOptions{}.weight_decay;
#include "rnn/core/json_int.h"
    o.lr = r.number("lr", o.lr);
#include "rnn/core/json_int.h"
    o.beta1 = r.number("beta1", o.beta1);
#include "rnn/core/json_int.h"
    o.beta2 = r.number("beta2", o.beta2);
#include "rnn/core/json_int.h"
    o.eps = r.number("eps", o.eps);
#include "rnn/core/json_int.h"
    o.weight_decay = r.number("weight_decay", o.weight_decay);
#include "rnn/core/json_int.h"
    o.amsgrad = r.flag("amsgrad", o.amsgrad);
#include "rnn/core/json_int.h"
    r.finish();
#include "rnn/core/json_int.h"
    if (kind == "adamw") {
#include "rnn/core/json_int.h"
      made = std::make_unique<AdamW<T>>(o);
#include "rnn/core/json_int.h"
    } else {
#include "rnn/core/json_int.h"
      made = std::make_unique<Adam<T>>(
#include "rnn/core/json_int.h"
          AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad});
#include "rnn/core/json_int.h"
    }
#include "rnn/core/json_int.h"
  } else if (kind == "rmsprop") {
#include "rnn/core/json_int.h"
    RmspropOptions o;
#include "rnn/core/json_int.h"
    o.lr = r.number("lr", o.lr);
#include "rnn/core/json_int.h"
    o.alpha = r.number("alpha", o.alpha);
#include "rnn/core/json_int.h"
    o.eps = r.number("eps", o.eps);
#include "rnn/core/json_int.h"
    o.weight_decay = r.number("weight_decay", o.weight_decay);
#include "rnn/core/json_int.h"
    o.momentum = r.number("momentum", o.momentum);
#include "rnn/core/json_int.h"
    o.centered = r.flag("centered", o.centered);
#include "rnn/core/json_int.h"
    r.finish();
#include "rnn/core/json_int.h"
    made = std::make_unique<Rmsprop<T>>(o);
#include "rnn/core/json_int.h"
  } else if (kind == "adagrad") {
#include "rnn/core/json_int.h"
    AdagradOptions o;
#include "rnn/core/json_int.h"
    o.lr = r.number("lr", o.lr);
#include "rnn/core/json_int.h"
    o.lr_decay = r.number("lr_decay", o.lr_decay);
#include "rnn/core/json_int.h"
    o.weight_decay = r.number("weight_decay", o.weight_decay);
#include "rnn/core/json_int.h"
    o.initial_accumulator_value = r.number("initial_accumulator_value", o.initial_accumulator_value);
#include "rnn/core/json_int.h"
    o.eps = r.number("eps", o.eps);
#include "rnn/core/json_int.h"
    r.finish();
#include "rnn/core/json_int.h"
    made = std::make_unique<Adagrad<T>>(o);
#include "rnn/core/json_int.h"
  } else {
#include "rnn/core/json_int.h"
    fail("unknown optimizer '", kind, "' (known: sgd, adam, adamw, rmsprop, adagrad)");
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  return made;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
std::unique_ptr<LrSchedule> make_schedule(const std::string& kind, double base_lr,
#include "rnn/core/json_int.h"
                                          const nlohmann::json& options) {
#include "rnn/core/json_int.h"
  Reader r("lr schedule '" + kind + "'", options);
#include "rnn/core/json_int.h"
  std::unique_ptr<LrSchedule> made;
#include "rnn/core/json_int.h"
  if (kind == "constant") {
#include "rnn/core/json_int.h"
    made = std::make_unique<ConstantLr>(base_lr);
#include "rnn/core/json_int.h"
  } else if (kind == "step") {
#include "rnn/core/json_int.h"
    const int64_t step_size = r.integer("step_size", 0);
#include "rnn/core/json_int.h"
    check(step_size > 0, "lr schedule 'step': option 'step_size' (> 0) is required");
#include "rnn/core/json_int.h"
    made = std::make_unique<StepLr>(base_lr, step_size, r.number("gamma", 0.1));
#include "rnn/core/json_int.h"
  } else if (kind == "exponential") {
#include "rnn/core/json_int.h"
    const double gamma = r.number("gamma", -1.0);
#include "rnn/core/json_int.h"
    check(gamma > 0.0, "lr schedule 'exponential': option 'gamma' (> 0) is required");
#include "rnn/core/json_int.h"
    made = std::make_unique<ExponentialLr>(base_lr, gamma);
#include "rnn/core/json_int.h"
  } else if (kind == "cosine") {
#include "rnn/core/json_int.h"
    const int64_t t_max = r.integer("t_max", 0);
#include "rnn/core/json_int.h"
    check(t_max > 0, "lr schedule 'cosine': option 't_max' (> 0) is required");
#include "rnn/core/json_int.h"
    made = std::make_unique<CosineAnnealingLr>(base_lr, t_max, r.number("eta_min", 0.0));
#include "rnn/core/json_int.h"
  } else {
#include "rnn/core/json_int.h"
    fail("unknown lr schedule '", kind, "' (known: constant, step, exponential, cosine)");
#include "rnn/core/json_int.h"
  }
#include "rnn/core/json_int.h"
  const int64_t warmup = r.integer("warmup_steps", 0);
#include "rnn/core/json_int.h"
  const double start_factor = r.number("warmup_start_factor", 1.0 / 3.0);
#include "rnn/core/json_int.h"
  r.finish();
#include "rnn/core/json_int.h"
  if (warmup > 0) made = std::make_unique<LinearWarmup>(std::move(made), warmup, start_factor);
#include "rnn/core/json_int.h"
  return made;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
PlateauOptions plateau_options(const nlohmann::json& options) {
#include "rnn/core/json_int.h"
  Reader r("lr schedule 'plateau'", options);
#include "rnn/core/json_int.h"
  PlateauOptions o;
#include "rnn/core/json_int.h"
  const std::string mode = r.text("mode", "min");
#include "rnn/core/json_int.h"
  check(mode == "min" || mode == "max", "lr schedule 'plateau': mode must be min or max, got '",
#include "rnn/core/json_int.h"
        mode, "'");
#include "rnn/core/json_int.h"
  o.mode = mode == "min" ? PlateauOptions::Mode::Min : PlateauOptions::Mode::Max;
#include "rnn/core/json_int.h"
  o.factor = r.number("factor", o.factor);
#include "rnn/core/json_int.h"
  o.patience = r.integer("patience", o.patience);
#include "rnn/core/json_int.h"
  o.threshold = r.number("threshold", o.threshold);
#include "rnn/core/json_int.h"
  const std::string tm = r.text("threshold_mode", "rel");
#include "rnn/core/json_int.h"
  check(tm == "rel" || tm == "abs", "lr schedule 'plateau': threshold_mode must be rel or abs, got '",
#include "rnn/core/json_int.h"
        tm, "'");
#include "rnn/core/json_int.h"
  o.threshold_mode = tm == "rel" ? PlateauOptions::ThresholdMode::Rel : PlateauOptions::ThresholdMode::Abs;
#include "rnn/core/json_int.h"
  o.cooldown = r.integer("cooldown", o.cooldown);
#include "rnn/core/json_int.h"
  o.min_lr = r.number("min_lr", o.min_lr);
#include "rnn/core/json_int.h"
  o.eps = r.number("eps", o.eps);
#include "rnn/core/json_int.h"
  r.finish();
#include "rnn/core/json_int.h"
  return o;
#include "rnn/core/json_int.h"
}
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const std::string&,
#include "rnn/core/json_int.h"
                                                                 const nlohmann::json&);
#include "rnn/core/json_int.h"
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const std::string&,
#include "rnn/core/json_int.h"
                                                                   const nlohmann::json&);
#include "rnn/core/json_int.h"

#include "rnn/core/json_int.h"
}  // namespace rnn
