#include "rnn/nn/linear.h"

#include "rnn/kernels/gemm.h"
#include "rnn/nn/init.h"

namespace rnn::nn {

template <class T>
Linear<T>::Linear(int64_t in_features, int64_t out_features, Parameters<T>& store, Rng& rng,
                  const std::string& prefix, bool bias)
    : in_features_(in_features), out_features_(out_features), store_(&store) {
  check(in_features > 0, "Linear '", prefix, "': in_features must be positive, got ", in_features);
  check(out_features > 0, "Linear '", prefix, "': out_features must be positive, got ",
        out_features);
  weight_ = store.add(prefix + "weight", {out_features, in_features});
  if (bias) bias_ = store.add(prefix + "bias", {out_features});

  // kaiming_uniform_(a = sqrt(5)): gain = sqrt(2 / (1 + 5)), bound = gain * sqrt(3 / I)
  // = 1 / sqrt(I); the bias uses the same bound.
  init::linear_default(store.value_view(weight_),
                       bias ? store.value_view(bias_) : TensorView<T>{}, rng);
}

template <class T>
int64_t Linear<T>::rows_of(const Tensor<T>& t, int64_t features, const char* name) const {
  check(t.rank() >= 2 || (t.rank() == 1 && !t.empty()), "Linear: ", name,
        " must have at least one dimension, got ", shape_str(t.shape()));
  check(t.shape().back() == features, "Linear: ", name, " ", shape_str(t.shape()),
        " must end in ", features, " features");
  return t.numel() / features;
}

template <class T>
Tensor<T> Linear<T>::forward(const Tensor<T>& x) const {
  const int64_t n = rows_of(x, in_features_, "x");
  Shape out_shape = x.shape();
  out_shape.back() = out_features_;
  Tensor<T> y(out_shape);
  const T* w = store_->value(weight_);
  if (bias_.valid()) {
    // y[n, o] = b[o] + sum_i x[n, i] W[o, i]
    const T* b = store_->value(bias_);
    for (int64_t r = 0; r < n; ++r)
      std::copy(b, b + out_features_, y.data() + r * out_features_);
  }
  kernels::matmul_nt<T>(n, out_features_, in_features_, x.data(), w, y.data(), bias_.valid());
  return y;
}

template <class T>
Tensor<T> Linear<T>::backward(const Tensor<T>& x, const Tensor<T>& dy) const {
  const int64_t n = rows_of(x, in_features_, "x");
  const int64_t n_dy = rows_of(dy, out_features_, "dy");
  check(n == n_dy, "Linear::backward: dy ", shape_str(dy.shape()), " does not match x ",
        shape_str(x.shape()));
  // dW [O,I] += dy^T [O,N] x [N,I]
  kernels::matmul_tn<T>(out_features_, in_features_, n, dy.data(), x.data(),
                        store_->grad(weight_), true);
  if (bias_.valid()) {
    // db [O] += sum_n dy[n, :]
    T* db = store_->grad(bias_);
    for (int64_t r = 0; r < n; ++r) {
      const T* row = dy.data() + r * out_features_;
      for (int64_t o = 0; o < out_features_; ++o) db[o] += row[o];
    }
  }
  // dx [N,I] = dy [N,O] W [O,I]
  Tensor<T> dx(x.shape());
  kernels::matmul_nn<T>(n, in_features_, out_features_, dy.data(), store_->value(weight_),
                        dx.data(), false);
  return dx;
}

template class Linear<float>;
template class Linear<double>;

}  // namespace rnn::nn
