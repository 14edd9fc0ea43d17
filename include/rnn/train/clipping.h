// Gradient clipping over a model's flat gradient buffer, as torch.nn.utils (PyTorch 1.13).
#pragma once

#include <limits>
#include <span>

namespace rnn {

inline constexpr double kInfNorm = std::numeric_limits<double>::infinity();

struct ClipNormOptions {
  double norm_type = 2.0;           // any p > 0, or kInfNorm (max |g|)
  bool error_if_nonfinite = false;  // throw rnn::Error when the total norm is NaN or Inf
};

// clip_grad_norm_: total = ||grads||_p (one norm over the whole buffer, the same as
// PyTorch's norm of per-parameter norms); coef = max_norm / (total + 1e-6), clamped to 1;
// grads *= coef (always, as PyTorch). Returns the total norm before clipping, rounded to T
// as PyTorch's fp32 tensor is. The norm is accumulated in double.
template <class T>
double clip_grad_norm(std::span<T> grads, double max_norm, const ClipNormOptions& options = {});

// clip_grad_value_: every gradient clamped to [-clip_value, clip_value] (clip_value >= 0).
template <class T>
void clip_grad_value(std::span<T> grads, double clip_value);

}  // namespace rnn
