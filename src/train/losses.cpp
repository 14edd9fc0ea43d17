#include "rnn/train/losses.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rnn {
namespace {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
    case Reduction::None: return "none";
  }
  return "?";
}

// The shared body of cross_entropy and cross_entropy_sequence, on flat rows.
//   logits [N,C], targets [N], mask [N] or null, per_row [N] or null.
template <class T>
LossResult<T> cross_entropy_rows(const char* who, const T* logits, int64_t N, int64_t C,
                                 const int64_t* targets, const uint8_t* mask,
                                 const CrossEntropyOptions<T>& options,
                                 const LossUpstream<T>& upstream, const T* per_row,
                                 const Shape& logits_shape, const Shape& losses_shape) {
  const double eps = options.label_smoothing;
  check(eps >= 0.0 && eps <= 1.0, who, ": label_smoothing must be in [0, 1], got ", eps);
  check(C >= 1, who, ": need at least one class, got logits ", shape_str(logits_shape));
  const bool weighted = !options.weight.empty();
  if (weighted) {
    check_shape(options.weight, Shape{C}, concat(who, ": weight"));
    check_finite<T>(options.weight.span(), concat(who, ": weight"));
  }
  auto w = [&](int64_t c) -> double {
    return weighted ? static_cast<double>(options.weight[c]) : 1.0;
  };
  double weight_total = 0.0;  // W = sum_c w[c]
  for (int64_t c = 0; c < C; ++c) weight_total += w(c);

  // Pass 1: validate, and the denominators of the mean.
  double den_nll = 0.0;     // sum of w[t_n] over kept, non-ignored rows
  for (int64_t n = 0; n < N; ++n) {
    if (mask && !mask[n]) continue;
    const T* row = logits + n * C;
    for (int64_t c = 0; c < C; ++c) {
      if (!std::isfinite(row[c])) {
        fail_non_finite(who, ": logits hold a non-finite value (", row[c], ") at row ", n,
                        ", class ", c);
      }
    }
    const int64_t t = targets[n];
    if (t == options.ignore_index) continue;
    if (t < 0 || t >= C) {
      fail(who, ": target ", t, " at row ", n, " is out of range [0, ", C, ")",
           " (ignore_index is ", options.ignore_index, ")");
    }
    den_nll += w(t);
  }
  // The smoothing term shares the NLL's denominator (PyTorch 1.13, with or without weights).
  double den_smooth = den_nll;
  const bool mean = options.reduction == Reduction::Mean;
  if (!mean) den_nll = den_smooth = 1.0;

  LossResult<T> result;
  const bool none = options.reduction == Reduction::None;
  if (none) result.losses = Tensor<T>(losses_shape);
  if (upstream.want_grad) result.grad = Tensor<T>(logits_shape);

  // Rows are independent: computed in parallel, reduced serially in row order, so the
  // result does not depend on the number of threads.
  std::vector<double> nll_row(static_cast<size_t>(N), 0.0);
  std::vector<double> smooth_row(static_cast<size_t>(N), 0.0);
  const double* weights = nullptr;
  std::vector<double> weight_values;
  if (weighted) {
    weight_values.assign(options.weight.values().begin(), options.weight.values().end());
    weights = weight_values.data();
  }
  const double inv_classes = 1.0 / static_cast<double>(C);
  T* grad = upstream.want_grad ? result.grad.data() : nullptr;
  T* losses = none ? result.losses.data() : nullptr;
  const T scale = upstream.scale;
#pragma omp parallel if (N * C >= (int64_t{1} << 16))
  {
    std::vector<double> logp(static_cast<size_t>(C));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      if (mask && !mask[n]) continue;
      const int64_t t = targets[n];
      if (t == options.ignore_index) continue;
      const T* row = logits + n * C;
      // log_softmax: logp_c = z_c - max - log(sum_j exp(z_j - max))
      double top = static_cast<double>(row[0]);
      for (int64_t c = 1; c < C; ++c) top = std::max(top, static_cast<double>(row[c]));
      double total = 0.0;
      for (int64_t c = 0; c < C; ++c) {
        const double shifted = static_cast<double>(row[c]) - top;
        logp[static_cast<size_t>(c)] = shifted;
        total += std::exp(shifted);
      }
      const double log_total = std::log(total);
      for (auto& v : logp) v -= log_total;
      // nll_n = -w[t] logp_t; smooth_n = -sum_c w[c] logp_c
      const double w_t = weights ? weights[t] : 1.0;
      const double nll = -w_t * logp[static_cast<size_t>(t)];
      double smooth = 0.0;
      if (eps > 0.0) {
        for (int64_t c = 0; c < C; ++c) {
          smooth -= (weights ? weights[c] : 1.0) * logp[static_cast<size_t>(c)];
        }
      }
      nll_row[static_cast<size_t>(n)] = nll;
      smooth_row[static_cast<size_t>(n)] = smooth;
      if (losses) losses[n] = static_cast<T>((1.0 - eps) * nll + eps * inv_classes * smooth);
      if (grad) {
        // d l_n / d z_j = a w[t] (p_j - [j==t]) + b (W p_j - w[j])
        const double g = none ? (per_row ? static_cast<double>(per_row[n]) : 1.0)
                              : static_cast<double>(scale);
        const double a = (1.0 - eps) * g / den_nll * w_t;
        const double b = eps * inv_classes * g / den_smooth;
        T* grad_row = grad + n * C;
        for (int64_t c = 0; c < C; ++c) {
          const double p = std::exp(logp[static_cast<size_t>(c)]);
          double d = a * (p - (c == t ? 1.0 : 0.0));
          if (eps > 0.0) d += b * (weight_total * p - (weights ? weights[c] : 1.0));
          grad_row[c] = static_cast<T>(d);
        }
      }
    }
  }
  double nll_sum = 0.0, smooth_sum = 0.0, none_sum = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const auto i = static_cast<size_t>(n);
    nll_sum += nll_row[i];
    smooth_sum += smooth_row[i];
    if (none) none_sum += (1.0 - eps) * nll_row[i] + eps * inv_classes * smooth_row[i];
  }
  if (none) {
    result.loss = static_cast<T>(none_sum);
  } else {
    double value = (1.0 - eps) * nll_sum / den_nll;
    if (eps > 0.0) value += (eps / static_cast<double>(C)) * smooth_sum / den_smooth;
    result.loss = static_cast<T>(value);
  }
  return result;
}

template <class T>
void check_upstream(const char* who, const LossUpstream<T>& upstream, Reduction reduction,
                    const Shape& losses_shape) {
  if (!upstream.want_grad) return;
  if (reduction == Reduction::None) {
    if (!upstream.per_row.empty()) {
      check_shape(upstream.per_row, losses_shape, concat(who, ": upstream.per_row"));
    }
  } else {
    check(upstream.per_row.empty(), who, ": upstream.per_row is only for Reduction::None, got ",
          reduction_name(reduction));
  }
}

}  // namespace

template <class T>
LossResult<T> cross_entropy(const Tensor<T>& logits, const Tensor<int64_t>& targets,
                            const CrossEntropyOptions<T>& options,
                            const LossUpstream<T>& upstream) {
  const char* who = "cross_entropy";
  check(logits.rank() == 2, who, ": logits must be [N, C], got ", shape_str(logits.shape()));
  const int64_t N = logits.dim(0);
  const int64_t C = logits.dim(1);
  check_shape(targets, Shape{N}, concat(who, ": targets (logits are ", shape_str(logits.shape()), ")"));
  if (!options.mask.empty()) check_shape(options.mask, Shape{N}, concat(who, ": mask"));
  check_upstream(who, upstream, options.reduction, Shape{N});
  const T* per_row = upstream.per_row.empty() ? nullptr : upstream.per_row.data();
  return cross_entropy_rows(who, logits.data(), N, C, targets.data(),
                            options.mask.empty() ? nullptr : options.mask.data(), options,
                            upstream, per_row, logits.shape(), Shape{N});
}

Tensor<uint8_t> length_mask(int64_t steps, std::span<const int64_t> lengths, bool batch_first) {
  check(steps >= 0, "length_mask: negative number of steps ", steps);
  const auto B = static_cast<int64_t>(lengths.size());
  Tensor<uint8_t> mask(batch_first ? Shape{B, steps} : Shape{steps, B});
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = lengths[static_cast<size_t>(b)];
    check(len >= 0 && len <= steps, "length_mask: lengths[", b, "] = ", len,
          " is out of range [0, ", steps, "]");
    for (int64_t t = 0; t < len; ++t) {
      mask[batch_first ? b * steps + t : t * B + b] = 1;
    }
  }
  return mask;
}

template <class T>
LossResult<T> cross_entropy_sequence(const Tensor<T>& logits, const Tensor<int64_t>& targets,
                                     std::span<const int64_t> lengths,
                                     const CrossEntropyOptions<T>& options,
                                     const LossUpstream<T>& upstream, bool batch_first) {
  const char* who = "cross_entropy_sequence";
  check(logits.rank() == 3, who, ": logits must be ", batch_first ? "[B, T, C]" : "[T, B, C]",
        ", got ", shape_str(logits.shape()));
  check(options.mask.empty(), who, ": options.mask must be empty (the mask comes from lengths)");
  const Shape rows_shape{logits.dim(0), logits.dim(1)};
  check_shape(targets, rows_shape,
              concat(who, ": targets (logits are ", shape_str(logits.shape()), ")"));
  const int64_t B = batch_first ? logits.dim(0) : logits.dim(1);
  const int64_t steps = batch_first ? logits.dim(1) : logits.dim(0);
  check(static_cast<int64_t>(lengths.size()) == B, who, ": ", lengths.size(),
        " lengths for a batch of ", B);
  const Tensor<uint8_t> mask = length_mask(steps, lengths, batch_first);
  check_upstream(who, upstream, options.reduction, rows_shape);
  const T* per_row = upstream.per_row.empty() ? nullptr : upstream.per_row.data();
  return cross_entropy_rows(who, logits.data(), rows_shape[0] * rows_shape[1], logits.dim(2),
                            targets.data(), mask.data(), options, upstream, per_row,
                            logits.shape(), rows_shape);
}

template <class T>
LossResult<T> mse(const Tensor<T>& pred, const Tensor<T>& target, const MseOptions<T>& options,
                  const LossUpstream<T>& upstream) {
  const char* who = "mse";
  check(pred.shape() == target.shape(), who, ": pred ", shape_str(pred.shape()),
        " and target ", shape_str(target.shape()), " differ in shape");
  check_finite<T>(pred.span(), "mse: pred");
  check_finite<T>(target.span(), "mse: target");
  check(options.mask.empty() || options.lengths.empty(), who,
        ": give mask or lengths, not both");

  // mask_data[k] covers elements [k*inner, (k+1)*inner).
  Tensor<uint8_t> mask = options.mask;
  if (!options.lengths.empty()) {
    check(pred.rank() >= 2, who, ": lengths need a prediction [T, B, ...], got ",
          shape_str(pred.shape()));
    const int64_t B = options.batch_first ? pred.dim(0) : pred.dim(1);
    const int64_t steps = options.batch_first ? pred.dim(1) : pred.dim(0);
    check(static_cast<int64_t>(options.lengths.size()) == B, who, ": ", options.lengths.size(),
          " lengths for a batch of ", B);
    mask = length_mask(steps, options.lengths, options.batch_first);
  }
  int64_t inner = 1;
  if (!mask.empty()) {
    bool prefix = mask.rank() <= pred.rank();
    for (int i = 0; prefix && i < mask.rank(); ++i) prefix = mask.dim(i) == pred.dim(i);
    check(prefix, who, ": mask shape ", shape_str(mask.shape()),
          " is not a leading part of the prediction's shape ", shape_str(pred.shape()));
    for (int i = mask.rank(); i < pred.rank(); ++i) inner *= pred.dim(i);
  }
  const bool none = options.reduction == Reduction::None;
  check_upstream(who, upstream, options.reduction, pred.shape());

  const int64_t numel = pred.numel();
  auto kept = [&](int64_t i) { return mask.empty() || mask[i / inner] != 0; };
  double count = 0.0;
  for (int64_t i = 0; i < numel; ++i) count += kept(i) ? 1.0 : 0.0;
  const double den = options.reduction == Reduction::Mean ? count : 1.0;

  LossResult<T> result;
  if (none) result.losses = Tensor<T>(pred.shape());
  if (upstream.want_grad) result.grad = Tensor<T>(pred.shape());
  double sum = 0.0;
  for (int64_t i = 0; i < numel; ++i) {
    if (!kept(i)) continue;
    // l_i = (p_i - y_i)^2 ; d l_i / d p_i = 2 (p_i - y_i)
    const double d = static_cast<double>(pred[i]) - static_cast<double>(target[i]);
    sum += d * d;
    if (none) result.losses[i] = static_cast<T>(d * d);
    if (upstream.want_grad) {
      const double g = none ? (upstream.per_row.empty() ? 1.0
                                                        : static_cast<double>(upstream.per_row[i]))
                            : static_cast<double>(upstream.scale);
      result.grad[i] = static_cast<T>(2.0 * d * g / den);
    }
  }
  result.loss = static_cast<T>(sum / den);
  return result;
}

#define RNN_INSTANTIATE_LOSSES(T)                                                              \
  template LossResult<T> cross_entropy<T>(const Tensor<T>&, const Tensor<int64_t>&,            \
                                          const CrossEntropyOptions<T>&, const LossUpstream<T>&); \
  template LossResult<T> cross_entropy_sequence<T>(                                            \
      const Tensor<T>&, const Tensor<int64_t>&, std::span<const int64_t>,                      \
      const CrossEntropyOptions<T>&, const LossUpstream<T>&, bool);                            \
  template LossResult<T> mse<T>(const Tensor<T>&, const Tensor<T>&, const MseOptions<T>&,      \
                                const LossUpstream<T>&);

RNN_INSTANTIATE_LOSSES(float)
RNN_INSTANTIATE_LOSSES(double)
#undef RNN_INSTANTIATE_LOSSES

}  // namespace rnn
