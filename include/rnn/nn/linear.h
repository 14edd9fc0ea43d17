// A fully connected layer, torch.nn.Linear: y = x W^T + b.
//
// Letters: N rows (any leading dimensions flattened), I in_features, O out_features.
#pragma once

#include <cstdint>
#include <string>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"

namespace rnn::nn {

template <class T>
class Linear {
 public:
  // Registers `prefix + "weight"` [O,I] and (when `bias`) `prefix + "bias"` [O] in `store`
  // and initialises both like PyTorch (kaiming_uniform with a = sqrt(5), which comes to
  // U(-1/sqrt(I), 1/sqrt(I)) for the weight and the bias alike), drawn from `rng`:
  // first the weight in row-major order, then the bias.
  Linear(int64_t in_features, int64_t out_features, Parameters<T>& store, Rng& rng,
         const std::string& prefix = "", bool bias = true);

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  bool has_bias() const { return bias_.valid(); }
  ParamId weight_id() const { return weight_; }
  ParamId bias_id() const { return bias_; }  // invalid when there is no bias
  Parameters<T>& store() const { return *store_; }

  // x [..., I] -> y [..., O] (same leading dimensions, at least one).
  Tensor<T> forward(const Tensor<T>& x) const;

  // Given the forward input x [..., I] and dy [..., O]: accumulates
  //   dweight [O,I] += dy^T x,   dbias [O] += sum over rows of dy
  // into the store's gradients and returns dx [..., I] = dy W.
  Tensor<T> backward(const Tensor<T>& x, const Tensor<T>& dy) const;

 private:
  int64_t rows_of(const Tensor<T>& t, int64_t features, const char* name) const;

  int64_t in_features_;
  int64_t out_features_;
  Parameters<T>* store_;
  ParamId weight_;
  ParamId bias_;
};

extern template class Linear<float>;
extern template class Linear<double>;

}  // namespace rnn::nn
