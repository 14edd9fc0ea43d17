#include "rnn/train/factory.h"

#include <set>

namespace rnn {
namespace {

// Reads keys of one JSON object, remembering which were used, so that leftovers can be
// reported as unknown.
class Reader {
 public:
  Reader(std::string who, const nlohmann::json& options) : who_(std::move(who)), j_(options) {
    check(j_.is_object() || j_.is_null(), who_, ": options must be a JSON object, got ",
          j_.dump());
  }
  double number(const char* key, double fallback) {
    if (!take(key)) return fallback;
    check(j_.at(key).is_number(), who_, ": option '", key, "' must be a number, got ",
          j_.at(key).dump());
    return j_.at(key).get<double>();
  }
  int64_t integer(const char* key, int64_t fallback) {
    if (!take(key)) return fallback;
    check(j_.at(key).is_number_integer(), who_, ": option '", key,
          "' must be an integer, got ", j_.at(key).dump());
    return j_.at(key).get<int64_t>();
  }
  bool flag(const char* key, bool fallback) {
    if (!take(key)) return fallback;
    check(j_.at(key).is_boolean(), who_, ": option '", key, "' must be true or false, got ",
          j_.at(key).dump());
    return j_.at(key).get<bool>();
  }
  std::string text(const char* key, const std::string& fallback) {
    if (!take(key)) return fallback;
    check(j_.at(key).is_string(), who_, ": option '", key, "' must be a string, got ",
          j_.at(key).dump());
    return j_.at(key).get<std::string>();
  }
  // Throws on any key not read.
  void finish() const {
    if (!j_.is_object()) return;
    for (const auto& [key, value] : j_.items()) {
      if (!used_.count(key)) {
        std::string known;
        for (const auto& k : used_names_) known += (known.empty() ? "" : ", ") + k;
        fail(who_, ": unknown option '", key, "' (known: ", known, ")");
      }
    }
  }

 private:
  bool take(const char* key) {
    used_names_.push_back(key);
    if (!j_.is_object() || !j_.contains(key)) return false;
    used_.insert(key);
    return true;
  }
  std::string who_;
  const nlohmann::json& j_;
  std::set<std::string> used_;
  std::vector<std::string> used_names_;
};

}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& kind,
                                             const nlohmann::json& options) {
  Reader r("optimizer '" + kind + "'", options);
  std::unique_ptr<Optimizer<T>> made;
  if (kind == "sgd") {
    SgdOptions o;
    o.lr = r.number("lr", o.lr);
    o.momentum = r.number("momentum", o.momentum);
    o.dampening = r.number("dampening", o.dampening);
    o.weight_decay = r.number("weight_decay", o.weight_decay);
    o.nesterov = r.flag("nesterov", o.nesterov);
    r.finish();
    made = std::make_unique<Sgd<T>>(o);
  } else if (kind == "adam" || kind == "adamw") {
    AdamWOptions o;
    if (kind == "adam") o.weight_decay = AdamOptions{}.weight_decay;
    o.lr = r.number("lr", o.lr);
    o.beta1 = r.number("beta1", o.beta1);
    o.beta2 = r.number("beta2", o.beta2);
    o.eps = r.number("eps", o.eps);
    o.weight_decay = r.number("weight_decay", o.weight_decay);
    o.amsgrad = r.flag("amsgrad", o.amsgrad);
    r.finish();
    if (kind == "adamw") {
      made = std::make_unique<AdamW<T>>(o);
    } else {
      made = std::make_unique<Adam<T>>(
          AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad});
    }
  } else if (kind == "rmsprop") {
    RmspropOptions o;
    o.lr = r.number("lr", o.lr);
    o.alpha = r.number("alpha", o.alpha);
    o.eps = r.number("eps", o.eps);
    o.weight_decay = r.number("weight_decay", o.weight_decay);
    o.momentum = r.number("momentum", o.momentum);
    o.centered = r.flag("centered", o.centered);
    r.finish();
    made = std::make_unique<Rmsprop<T>>(o);
  } else if (kind == "adagrad") {
    AdagradOptions o;
    o.lr = r.number("lr", o.lr);
    o.lr_decay = r.number("lr_decay", o.lr_decay);
    o.weight_decay = r.number("weight_decay", o.weight_decay);
    o.initial_accumulator_value = r.number("initial_accumulator_value", o.initial_accumulator_value);
    o.eps = r.number("eps", o.eps);
    r.finish();
    made = std::make_unique<Adagrad<T>>(o);
  } else {
    fail("unknown optimizer '", kind, "' (known: sgd, adam, adamw, rmsprop, adagrad)");
  }
  return made;
}

std::unique_ptr<LrSchedule> make_schedule(const std::string& kind, double base_lr,
                                          const nlohmann::json& options) {
  Reader r("lr schedule '" + kind + "'", options);
  std::unique_ptr<LrSchedule> made;
  if (kind == "constant") {
    made = std::make_unique<ConstantLr>(base_lr);
  } else if (kind == "step") {
    const int64_t step_size = r.integer("step_size", 0);
    check(step_size > 0, "lr schedule 'step': option 'step_size' (> 0) is required");
    made = std::make_unique<StepLr>(base_lr, step_size, r.number("gamma", 0.1));
  } else if (kind == "exponential") {
    const double gamma = r.number("gamma", -1.0);
    check(gamma > 0.0, "lr schedule 'exponential': option 'gamma' (> 0) is required");
    made = std::make_unique<ExponentialLr>(base_lr, gamma);
  } else if (kind == "cosine") {
    const int64_t t_max = r.integer("t_max", 0);
    check(t_max > 0, "lr schedule 'cosine': option 't_max' (> 0) is required");
    made = std::make_unique<CosineAnnealingLr>(base_lr, t_max, r.number("eta_min", 0.0));
  } else {
    fail("unknown lr schedule '", kind, "' (known: constant, step, exponential, cosine)");
  }
  const int64_t warmup = r.integer("warmup_steps", 0);
  const double start_factor = r.number("warmup_start_factor", 1.0 / 3.0);
  r.finish();
  if (warmup > 0) made = std::make_unique<LinearWarmup>(std::move(made), warmup, start_factor);
  return made;
}

PlateauOptions plateau_options(const nlohmann::json& options) {
  Reader r("lr schedule 'plateau'", options);
  PlateauOptions o;
  const std::string mode = r.text("mode", "min");
  check(mode == "min" || mode == "max", "lr schedule 'plateau': mode must be min or max, got '",
        mode, "'");
  o.mode = mode == "min" ? PlateauOptions::Mode::Min : PlateauOptions::Mode::Max;
  o.factor = r.number("factor", o.factor);
  o.patience = r.integer("patience", o.patience);
  o.threshold = r.number("threshold", o.threshold);
  const std::string tm = r.text("threshold_mode", "rel");
  check(tm == "rel" || tm == "abs", "lr schedule 'plateau': threshold_mode must be rel or abs, got '",
        tm, "'");
  o.threshold_mode = tm == "rel" ? PlateauOptions::ThresholdMode::Rel : PlateauOptions::ThresholdMode::Abs;
  o.cooldown = r.integer("cooldown", o.cooldown);
  o.min_lr = r.number("min_lr", o.min_lr);
  o.eps = r.number("eps", o.eps);
  r.finish();
  return o;
}

template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const std::string&,
                                                                 const nlohmann::json&);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const std::string&,
                                                                   const nlohmann::json&);

}  // namespace rnn
