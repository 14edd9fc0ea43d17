#include "rnn/nn/dropout.h"

namespace rnn::nn {

template <class T>
Dropout<T>::Dropout(double p) : p_(p) {
  check(p >= 0.0 && p <= 1.0, "Dropout: p must be in [0, 1], got ", p);
}

template <class T>
Tensor<T> Dropout<T>::forward(const Tensor<T>& x, Mode mode, Rng& rng, Tensor<T>* mask) const {
  if (mode == Mode::Eval) {
    if (mask) *mask = Tensor<T>();
    return x;
  }
  // mask = 0 with probability p, else 1 / (1 - p);  y = x * mask
  Tensor<T> m(x.shape(), p_ >= 1.0 ? T(0) : T(1));
  if (p_ > 0.0 && p_ < 1.0) {
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p_));
    for (int64_t i = 0; i < m.numel(); ++i) m[i] = rng.uniform() < p_ ? T(0) : keep_scale;
  }
  Tensor<T> y(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) y[i] = x[i] * m[i];
  if (mask) *mask = std::move(m);
  return y;
}

template <class T>
Tensor<T> Dropout<T>::backward(const Tensor<T>& mask, const Tensor<T>& dy) const {
  if (mask.empty()) return dy;
  check(mask.shape() == dy.shape(), "Dropout::backward: dy ", shape_str(dy.shape()),
        " does not match the mask ", shape_str(mask.shape()));
  Tensor<T> dx(dy.shape());
  for (int64_t i = 0; i < dy.numel(); ++i) dx[i] = dy[i] * mask[i];
  return dx;
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace rnn::nn
