// Inverted dropout, torch.nn.Dropout: in training each element is kept with probability
// 1 - p and scaled by 1 / (1 - p); in evaluation it is the identity.
//
// Shapes: any shape S; the mask has the shape of the input.
#pragma once

#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"
#include "rnn/layers/recurrent.h"  // Mode

namespace rnn::nn {

template <class T>
class Dropout {
 public:
  // p in [0, 1]; throws rnn::Error otherwise.
  explicit Dropout(double p);

  double p() const { return p_; }

  // Train: draws one uniform number per element from `rng` in row-major order (element
  // dropped when it is < p; none drawn when p is 0 or 1), y = x * mask with mask 0 or
  // 1/(1-p); p = 1 gives zeros. Eval: y = x, `rng` untouched, mask empty.
  // `mask` (output, optional) receives the mask for backward.
  Tensor<T> forward(const Tensor<T>& x, Mode mode, Rng& rng, Tensor<T>* mask = nullptr) const;

  // dx = dy * mask; an empty mask (evaluation) passes dy through.
  Tensor<T> backward(const Tensor<T>& mask, const Tensor<T>& dy) const;

 private:
  double p_;
};

extern template class Dropout<float>;
extern template class Dropout<double>;

}  // namespace rnn::nn
