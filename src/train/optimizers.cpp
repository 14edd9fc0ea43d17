#include "rnn/train/optimizers.h"

#include <algorithm>
#include <cmath>

namespace rnn {
namespace {

void check_lr(const char* who, double lr) {
  check(std::isfinite(lr) && lr >= 0.0, who, ": invalid learning rate ", lr,
        " (must be finite and >= 0)");
}
void check_nonneg(const char* who, const char* what, double value) {
  check(std::isfinite(value) && value >= 0.0, who, ": invalid ", what, " ", value,
        " (must be finite and >= 0)");
}
void check_beta(const char* who, const char* what, double value) {
  check(value >= 0.0 && value < 1.0, who, ": invalid ", what, " ", value, " (must be in [0, 1))");
}

}  // namespace

// ---- base --------------------------------------------------------------------------------

template <class T>
Optimizer<T>::Optimizer(double lr, std::vector<std::string> buffer_names) : lr_(lr) {
  for (auto& name : buffer_names) buffers_.push_back({std::move(name), {}});
}

template <class T>
void Optimizer<T>::set_lr(double lr) {
  check_lr(kind().c_str(), lr);
  lr_ = lr;
}

template <class T>
void Optimizer<T>::step(std::span<T> values, std::span<const T> grads) {
  check(values.size() == grads.size(), kind(), ": step: ", values.size(), " values but ",
        grads.size(), " gradients");
  if (numel_ < 0) {
    numel_ = static_cast<int64_t>(values.size());
    for (auto& b : buffers_) b.values.assign(values.size(), T(0));
    init_buffers();
  }
  check(static_cast<int64_t>(values.size()) == numel_, kind(), ": step: ", values.size(),
        " values, but the optimizer state holds ", numel_);
  ++step_;
  update(values, grads);
}

template <class T>
OptimizerState<T> Optimizer<T>::state() const {
  OptimizerState<T> s;
  s.kind = kind();
  s.step = step_;
  s.lr = lr_;
  if (numel_ >= 0) s.buffers = buffers_;
  return s;
}

template <class T>
void Optimizer<T>::load_state(const OptimizerState<T>& s) {
  const std::string who = kind() + ": load_state";
  check(s.kind == kind(), who, ": state is for a '", s.kind, "' optimizer");
  check(s.step >= 0, who, ": negative step count ", s.step);
  check_lr(who.c_str(), s.lr);
  int64_t numel = -1;
  if (!s.buffers.empty()) {
    check(s.buffers.size() == buffers_.size(), who, ": ", s.buffers.size(),
          " state buffers, expected ", buffers_.size(), " (are the options the same?)");
    for (size_t i = 0; i < buffers_.size(); ++i) {
      check(s.buffers[i].name == buffers_[i].name, who, ": buffer ", i, " is '",
            s.buffers[i].name, "', expected '", buffers_[i].name, "'");
      const auto n = static_cast<int64_t>(s.buffers[i].values.size());
      if (numel < 0) numel = n;
      check(n == numel, who, ": buffer '", s.buffers[i].name, "' holds ", n,
            " values, the others ", numel);
    }
  } else {
    check(buffers_.empty() || s.step == 0, who, ": state at step ", s.step,
          " has no buffers, expected ", buffers_.size());
  }
  step_ = s.step;
  lr_ = s.lr;
  numel_ = numel;
  if (numel >= 0) {
    for (size_t i = 0; i < buffers_.size(); ++i) buffers_[i].values = s.buffers[i].values;
  }
}

// ---- SGD ---------------------------------------------------------------------------------

template <class T>
Sgd<T>::Sgd(const SgdOptions& o)
    : Optimizer<T>(o.lr, o.momentum != 0.0 ? std::vector<std::string>{"momentum_buffer"}
                                           : std::vector<std::string>{}),
      options_(o) {
  check(o.lr != -1.0, "sgd: lr is required (PyTorch has no default)");
  check_lr("sgd", o.lr);
  check_nonneg("sgd", "momentum", o.momentum);
  check_nonneg("sgd", "weight_decay", o.weight_decay);
  check(std::isfinite(o.dampening), "sgd: invalid dampening ", o.dampening);
  check(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0),
        "sgd: nesterov momentum requires a momentum and zero dampening");
}

template <class T>
void Sgd<T>::update(std::span<T> p, std::span<const T> grads) {
  const T wd = static_cast<T>(options_.weight_decay);
  const T mom = static_cast<T>(options_.momentum);
  const T keep = static_cast<T>(1.0 - options_.dampening);
  const T neg_lr = static_cast<T>(-this->lr_);
  const bool use_wd = options_.weight_decay != 0.0;
  const bool use_mom = options_.momentum != 0.0;
  const bool first = this->step_ == 1;
  T* buf = use_mom ? this->buffer(0).data() : nullptr;
  for (size_t i = 0; i < p.size(); ++i) {
    T d = grads[i];
    if (use_wd) d = d + wd * p[i];
    if (use_mom) {
      buf[i] = first ? d : buf[i] * mom + keep * d;
      d = options_.nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] = p[i] + neg_lr * d;
  }
}

// ---- Adam / AdamW ------------------------------------------------------------------------

namespace {

// The shared Adam moment update and step (buffers: exp_avg, exp_avg_sq[, max_exp_avg_sq]).
template <class T>
void adam_update(std::span<T> p, std::span<const T> grads, T* m, T* v, T* vmax, double lr,
                 double beta1, double beta2, double eps, double l2, int64_t step) {
  const T b1 = static_cast<T>(beta1), one_b1 = static_cast<T>(1.0 - beta1);
  const T b2 = static_cast<T>(beta2), one_b2 = static_cast<T>(1.0 - beta2);
  const T wd = static_cast<T>(l2);
  const auto t = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(beta1, t);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  const T neg_step_size = static_cast<T>(-(lr / bias_correction1));
  const T bc2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
  const T e = static_cast<T>(eps);
  for (size_t i = 0; i < p.size(); ++i) {
    T g = grads[i];
    if (l2 != 0.0) g = g + wd * p[i];
    m[i] = m[i] * b1 + one_b1 * g;
    v[i] = v[i] * b2 + one_b2 * g * g;
    T second = v[i];
    if (vmax) {
      vmax[i] = std::max(vmax[i], v[i]);
      second = vmax[i];
    }
    const T denom = std::sqrt(second) / bc2_sqrt + e;
    p[i] = p[i] + neg_step_size * (m[i] / denom);
  }
}

std::vector<std::string> adam_buffers(bool amsgrad) {
  std::vector<std::string> names{"exp_avg", "exp_avg_sq"};
  if (amsgrad) names.push_back("max_exp_avg_sq");
  return names;
}

template <class Options>
void check_adam(const char* who, const Options& o) {
  check_lr(who, o.lr);
  check_nonneg(who, "epsilon", o.eps);
  check_beta(who, "beta1", o.beta1);
  check_beta(who, "beta2", o.beta2);
  check_nonneg(who, "weight_decay", o.weight_decay);
}

}  // namespace

template <class T>
Adam<T>::Adam(const AdamOptions& o) : Optimizer<T>(o.lr, adam_buffers(o.amsgrad)), options_(o) {
  check_adam("adam", o);
}

template <class T>
void Adam<T>::update(std::span<T> p, std::span<const T> grads) {
  adam_update<T>(p, grads, this->buffer(0).data(), this->buffer(1).data(),
                 options_.amsgrad ? this->buffer(2).data() : nullptr, this->lr_, options_.beta1,
                 options_.beta2, options_.eps, options_.weight_decay, this->step_);
}

template <class T>
AdamW<T>::AdamW(const AdamWOptions& o)
    : Optimizer<T>(o.lr, adam_buffers(o.amsgrad)), options_(o) {
  check_adam("adamw", o);
}

template <class T>
void AdamW<T>::update(std::span<T> p, std::span<const T> grads) {
  // p *= 1 - lr * weight_decay (decoupled), then Adam without L2.
  const T decay = static_cast<T>(1.0 - this->lr_ * options_.weight_decay);
  for (auto& x : p) x = x * decay;
  adam_update<T>(p, grads, this->buffer(0).data(), this->buffer(1).data(),
                 options_.amsgrad ? this->buffer(2).data() : nullptr, this->lr_, options_.beta1,
                 options_.beta2, options_.eps, 0.0, this->step_);
}

// ---- RMSprop -----------------------------------------------------------------------------

namespace {
std::vector<std::string> rmsprop_buffers(const RmspropOptions& o) {
  std::vector<std::string> names{"square_avg"};
  if (o.momentum > 0.0) names.push_back("momentum_buffer");
  if (o.centered) names.push_back("grad_avg");
  return names;
}
}  // namespace

template <class T>
Rmsprop<T>::Rmsprop(const RmspropOptions& o)
    : Optimizer<T>(o.lr, rmsprop_buffers(o)), options_(o) {
  check_lr("rmsprop", o.lr);
  check_nonneg("rmsprop", "epsilon", o.eps);
  check_nonneg("rmsprop", "momentum", o.momentum);
  check_nonneg("rmsprop", "weight_decay", o.weight_decay);
  check_nonneg("rmsprop", "alpha", o.alpha);
}

template <class T>
void Rmsprop<T>::update(std::span<T> p, std::span<const T> grads) {
  const T alpha = static_cast<T>(options_.alpha);
  const T one_alpha = static_cast<T>(1.0 - options_.alpha);
  const T wd = static_cast<T>(options_.weight_decay);
  const T mom = static_cast<T>(options_.momentum);
  const T e = static_cast<T>(options_.eps);
  const T neg_lr = static_cast<T>(-this->lr_);
  const bool use_mom = options_.momentum > 0.0;
  T* v = this->buffer(0).data();
  T* buf = use_mom ? this->buffer(1).data() : nullptr;
  T* a = options_.centered ? this->buffer(use_mom ? 2 : 1).data() : nullptr;
  for (size_t i = 0; i < p.size(); ++i) {
    T g = grads[i];
    if (options_.weight_decay != 0.0) g = g + wd * p[i];
    v[i] = v[i] * alpha + one_alpha * g * g;
    T avg;
    if (a) {
      a[i] = a[i] * alpha + one_alpha * g;
      avg = std::sqrt(v[i] + T(-1) * a[i] * a[i]);
    } else {
      avg = std::sqrt(v[i]);
    }
    avg = avg + e;
    if (use_mom) {
      buf[i] = buf[i] * mom + g / avg;
      p[i] = p[i] + neg_lr * buf[i];
    } else {
      p[i] = p[i] + neg_lr * (g / avg);
    }
  }
}

// ---- Adagrad -----------------------------------------------------------------------------

template <class T>
Adagrad<T>::Adagrad(const AdagradOptions& o) : Optimizer<T>(o.lr, {"sum"}), options_(o) {
  check_lr("adagrad", o.lr);
  check_nonneg("adagrad", "lr_decay", o.lr_decay);
  check_nonneg("adagrad", "weight_decay", o.weight_decay);
  check_nonneg("adagrad", "initial_accumulator_value", o.initial_accumulator_value);
  check_nonneg("adagrad", "epsilon", o.eps);
}

template <class T>
void Adagrad<T>::init_buffers() {
  auto& s = this->buffer(0);
  std::fill(s.begin(), s.end(), static_cast<T>(options_.initial_accumulator_value));
}

template <class T>
void Adagrad<T>::update(std::span<T> p, std::span<const T> grads) {
  const T wd = static_cast<T>(options_.weight_decay);
  const double clr =
      this->lr_ / (1.0 + static_cast<double>(this->step_ - 1) * options_.lr_decay);
  const T neg_clr = static_cast<T>(-clr);
  const T e = static_cast<T>(options_.eps);
  T* s = this->buffer(0).data();
  for (size_t i = 0; i < p.size(); ++i) {
    T g = grads[i];
    if (options_.weight_decay != 0.0) g = g + wd * p[i];
    s[i] = s[i] + g * g;
    const T std_dev = std::sqrt(s[i]) + e;
    p[i] = p[i] + neg_clr * (g / std_dev);
  }
}

template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;
template class Rmsprop<float>;
template class Rmsprop<double>;
template class Adagrad<float>;
template class Adagrad<double>;

}  // namespace rnn
