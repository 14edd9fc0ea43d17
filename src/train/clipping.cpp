#include "rnn/train/clipping.h"

#include <algorithm>
#include <cmath>

#include "rnn/core/error.h"

namespace rnn {

template <class T>
double clip_grad_norm(std::span<T> grads, double max_norm, const ClipNormOptions& options) {
  const double p = options.norm_type;
  check(p > 0.0, "clip_grad_norm: norm_type must be > 0 (or infinity), got ", p);
  check(!std::isnan(max_norm), "clip_grad_norm: max_norm is NaN");
  double norm = 0.0;
  if (std::isinf(p)) {
    for (T g : grads) {
      const double a = std::abs(static_cast<double>(g));
      if (std::isnan(a)) {
        norm = a;
        break;
      }
      norm = std::max(norm, a);
    }
  } else if (p == 2.0) {
    double sum = 0.0;
    for (T g : grads) sum += static_cast<double>(g) * static_cast<double>(g);
    norm = std::sqrt(sum);
  } else if (p == 1.0) {
    for (T g : grads) norm += std::abs(static_cast<double>(g));
  } else {
    double sum = 0.0;
    for (T g : grads) sum += std::pow(std::abs(static_cast<double>(g)), p);
    norm = std::pow(sum, 1.0 / p);
  }
  const T total = static_cast<T>(norm);
  if (options.error_if_nonfinite && !std::isfinite(total)) {
    fail("clip_grad_norm: the total norm of order ", p, " of the gradients is non-finite (",
         total, "), so it cannot be clipped");
  }
  // coef = max_norm / (total + 1e-6), clamped to at most 1 (computed in T, as in PyTorch)
  const T coef = static_cast<T>(max_norm) / (total + static_cast<T>(1e-6));
  const T clamped = std::isnan(coef) ? coef : std::min(coef, T(1));
  for (T& g : grads) g = g * clamped;
  return static_cast<double>(total);
}

template <class T>
void clip_grad_value(std::span<T> grads, double clip_value) {
  check(clip_value >= 0.0, "clip_grad_value: clip_value must be >= 0, got ", clip_value);
  const T hi = static_cast<T>(clip_value);
  for (T& g : grads) {
    // NaN stays NaN, as torch.clamp.
    if (g > hi) g = hi;
    else if (g < -hi) g = -hi;
  }
}

template double clip_grad_norm<float>(std::span<float>, double, const ClipNormOptions&);
template double clip_grad_norm<double>(std::span<double>, double, const ClipNormOptions&);
template void clip_grad_value<float>(std::span<float>, double);
template void clip_grad_value<double>(std::span<double>, double);

}  // namespace rnn
