// Losses with their gradients, numerically as torch.nn.functional (PyTorch 1.13).
//
// Letters: N rows (for sequences N = T*B), C classes, T time steps, B batch.
//
// Every loss computes its value and, when asked, d(outer)/d(input) in one pass: the
// outer objective is `upstream.scale * loss` for Reduction::Mean/Sum, and
// `sum_n upstream.per_row[n] * losses[n]` for Reduction::None.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "rnn/core/tensor.h"

namespace rnn {

enum class Reduction { Mean, Sum, None };

// The gradient flowing into a loss from above.
template <class T>
struct LossUpstream {
  bool want_grad = true;  // false: compute the value only (LossResult::grad stays empty)
  T scale = T(1);         // Mean/Sum: d(outer)/d(loss)
  Tensor<T> per_row;      // None: d(outer)/d(losses), shaped like LossResult::losses; empty = ones
};

template <class T>
struct LossResult {
  T loss = T(0);     // Mean/Sum: the reduced loss; None: the sum of `losses`
  Tensor<T> losses;  // None only: unreduced losses (cross_entropy [N]; mse like the input)
  Tensor<T> grad;    // d(outer)/d(input), shaped like the input (when upstream.want_grad)
};

template <class T>
struct CrossEntropyOptions {
  int64_t ignore_index = -100;   // rows with this target contribute nothing (PyTorch's meaning)
  double label_smoothing = 0.0;  // in [0, 1]
  Tensor<T> weight;              // [C] class weights; empty = all ones
  Reduction reduction = Reduction::Mean;
  // [N] 0/1, empty = all rows. A row with mask 0 counts as ignored, whatever its target
  // (which is then not checked): padding in a batch of sequences.
  Tensor<uint8_t> mask;
};

// cross_entropy(logits, targets) = NLL(log_softmax(logits)), as F.cross_entropy with class
// indices:
//   row loss   l_n = w[t_n] * (-(1-eps) logp[n,t_n]) - (eps/C) sum_c w[c] logp[n,c]
//              (l_n = 0 for ignored rows; w = 1 without weights; eps = label_smoothing)
//   Mean       sum_n l_n / sum_{n not ignored} w[t_n]
//   Sum        sum_n l_n
// logits [N,C], targets [N] in [0,C) or ignore_index. Throws rnn::Error on shape mismatch,
// a target out of range (naming the row and the value), or a non-finite logit.
template <class T>
LossResult<T> cross_entropy(const Tensor<T>& logits, const Tensor<int64_t>& targets,
                            const CrossEntropyOptions<T>& options = {},
                            const LossUpstream<T>& upstream = {});

// [T,B] mask (or [B,T] when batch_first): 1 where t < lengths[b]. lengths [B], each in 0..T.
Tensor<uint8_t> length_mask(int64_t steps, std::span<const int64_t> lengths,
                            bool batch_first = false);

// Cross-entropy over padded sequences: logits [T,B,C] (or [B,T,C]), targets [T,B] (or [B,T]),
// lengths [B]; steps at t >= lengths[b] are masked out (options.mask must be empty).
// The gradient comes back shaped like `logits`; Reduction::None gives losses [T,B] (or [B,T]).
template <class T>
LossResult<T> cross_entropy_sequence(const Tensor<T>& logits, const Tensor<int64_t>& targets,
                                     std::span<const int64_t> lengths,
                                     const CrossEntropyOptions<T>& options = {},
                                     const LossUpstream<T>& upstream = {},
                                     bool batch_first = false);

template <class T>
struct MseOptions {
  Reduction reduction = Reduction::Mean;
  // 0/1 mask whose shape is a leading part of the prediction's shape (e.g. [T,B] for a
  // [T,B,F] prediction); each entry covers the trailing elements. Empty = everything.
  Tensor<uint8_t> mask;
  // Alternative to `mask` for sequences: prediction [T,B,...] (or [B,T,...] with
  // batch_first), step t of sequence b counts when t < lengths[b].
  std::vector<int64_t> lengths;
  bool batch_first = false;
};

// mse(pred, target) = (pred - target)^2 per element, as F.mse_loss; Mean divides by the
// number of unmasked elements, masked elements are 0 in Reduction::None's losses.
// pred and target share one shape. Throws on shape mismatch or non-finite values.
template <class T>
LossResult<T> mse(const Tensor<T>& pred, const Tensor<T>& target, const MseOptions<T>& options = {},
                  const LossUpstream<T>& upstream = {});

}  // namespace rnn
