// Optimizers over one flat parameter buffer, with PyTorch 1.13's exact update formulas
// and defaults (torch.optim, single-tensor path, one parameter group).
//
// Each works on the two flat spans of a Parameters<T>: values (updated in place) and
// grads (read). Per-element state (momentum, moments) is allocated on the first step;
// every later step must pass spans of the same length.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rnn/core/error.h"

namespace rnn {

// One named per-element state vector (e.g. "exp_avg").
template <class T>
struct NamedBuffer {
  std::string name;
  std::vector<T> values;
};

// Everything an optimizer carries between steps, for checkpoints. Loading it into an
// optimizer of the same kind and options resumes bit for bit.
template <class T>
struct OptimizerState {
  std::string kind;  // "sgd", "adam", "adamw", "rmsprop", "adagrad"
  int64_t step = 0;  // steps taken
  double lr = 0.0;   // current learning rate (schedules change it)
  std::vector<NamedBuffer<T>> buffers;  // empty before the first step
};

// The learning-rate knob that schedules turn (not templated, so schedules are not).
class LrControl {
 public:
  virtual ~LrControl() = default;
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
};

template <class T>
class Optimizer : public LrControl {
 public:
  ~Optimizer() override = default;

  // One update: values -= f(grads, state). values and grads have the same length.
  void step(std::span<T> values, std::span<const T> grads);

  double lr() const override { return lr_; }
  void set_lr(double lr) override;
  int64_t steps() const { return step_; }
  virtual std::string kind() const = 0;

  OptimizerState<T> state() const;
  // Throws rnn::Error when the kind, the buffer names or their lengths do not fit.
  void load_state(const OptimizerState<T>& state);

 protected:
  Optimizer(double lr, std::vector<std::string> buffer_names);
  // buffer(i) has values.size() elements; step_ was already incremented (1 on the first call).
  virtual void update(std::span<T> values, std::span<const T> grads) = 0;
  // Called once when the buffers are allocated (first step), to set their initial values.
  virtual void init_buffers() {}
  std::vector<T>& buffer(size_t i) { return buffers_[i].values; }

  double lr_ = 0.0;
  int64_t step_ = 0;

 private:
  std::vector<NamedBuffer<T>> buffers_;
  int64_t numel_ = -1;  // length of the buffers once allocated
};

// torch.optim.SGD. PyTorch has no default lr: it must be given (>= 0).
//   g = grad + weight_decay * p
//   momentum: buf = g on the first step, else buf = momentum * buf + (1 - dampening) * g;
//             g = nesterov ? g + momentum * buf : buf
//   p -= lr * g
struct SgdOptions {
  double lr = -1.0;  // required
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0
};

template <class T>
class Sgd final : public Optimizer<T> {
 public:
  explicit Sgd(const SgdOptions& options);
  std::string kind() const override { return "sgd"; }
  const SgdOptions& options() const { return options_; }

 private:
  void update(std::span<T> values, std::span<const T> grads) override;
  SgdOptions options_;
};

// torch.optim.Adam (weight decay as L2 on the gradient) and torch.optim.AdamW (decoupled:
// p *= 1 - lr * weight_decay first):
//   g = grad (+ weight_decay * p for Adam)
//   m = beta1 m + (1 - beta1) g ;  v = beta2 v + (1 - beta2) g^2 ;  vmax = max(vmax, v) (amsgrad)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v or vmax) / sqrt(1 - beta2^t) + eps)
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

template <class T>
class Adam final : public Optimizer<T> {
 public:
  explicit Adam(const AdamOptions& options = {});
  std::string kind() const override { return "adam"; }
  const AdamOptions& options() const { return options_; }

 private:
  void update(std::span<T> values, std::span<const T> grads) override;
  AdamOptions options_;
};

template <class T>
class AdamW final : public Optimizer<T> {
 public:
  explicit AdamW(const AdamWOptions& options = {});
  std::string kind() const override { return "adamw"; }
  const AdamWOptions& options() const { return options_; }

 private:
  void update(std::span<T> values, std::span<const T> grads) override;
  AdamWOptions options_;
};

// torch.optim.RMSprop:
//   g = grad + weight_decay * p ;  v = alpha v + (1 - alpha) g^2
//   centered: a = alpha a + (1 - alpha) g ;  avg = sqrt(v - a^2) + eps, else avg = sqrt(v) + eps
//   momentum > 0: buf = momentum buf + g / avg ; p -= lr buf ;  else p -= lr g / avg
struct RmspropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

template <class T>
class Rmsprop final : public Optimizer<T> {
 public:
  explicit Rmsprop(const RmspropOptions& options = {});
  std::string kind() const override { return "rmsprop"; }
  const RmspropOptions& options() const { return options_; }

 private:
  void update(std::span<T> values, std::span<const T> grads) override;
  RmspropOptions options_;
};

// torch.optim.Adagrad:
//   g = grad + weight_decay * p ;  clr = lr / (1 + (t - 1) lr_decay)
//   s += g^2 (s starts at initial_accumulator_value) ;  p -= clr g / (sqrt(s) + eps)
struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
};

template <class T>
class Adagrad final : public Optimizer<T> {
 public:
  explicit Adagrad(const AdagradOptions& options = {});
  std::string kind() const override { return "adagrad"; }
  const AdagradOptions& options() const { return options_; }

 private:
  void update(std::span<T> values, std::span<const T> grads) override;
  void init_buffers() override;
  AdagradOptions options_;
};

}  // namespace rnn
