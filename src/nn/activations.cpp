#include "rnn/nn/activations.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace rnn::nn {
namespace {

template <class T>
void check_same(const Tensor<T>& a, const Tensor<T>& dy, const char* fn, const char* a_name) {
  check(a.shape() == dy.shape(), fn, ": dy ", shape_str(dy.shape()), " does not match ", a_name,
        " ", shape_str(a.shape()));
}

// Rows of the last dimension: returns {rows, V}.
template <class T>
std::pair<int64_t, int64_t> rows_last(const Tensor<T>& x, const char* fn) {
  check(x.rank() >= 1, fn, ": input must have at least one dimension");
  const int64_t v = x.shape().back();
  check(v > 0, fn, ": last dimension is empty in ", shape_str(x.shape()));
  return {x.numel() / v, v};
}

}  // namespace

template <class T>
Tensor<T> tanh(const Tensor<T>& x) {
  Tensor<T> y(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) y[i] = std::tanh(x[i]);
  return y;
}
template <class T>
Tensor<T> tanh_backward(const Tensor<T>& y, const Tensor<T>& dy) {
  check_same(y, dy, "tanh_backward", "y");
  Tensor<T> dx(y.shape());
  for (int64_t i = 0; i < y.numel(); ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
  return dx;
}

template <class T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  Tensor<T> y(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
  return y;
}
template <class T>
Tensor<T> sigmoid_backward(const Tensor<T>& y, const Tensor<T>& dy) {
  check_same(y, dy, "sigmoid_backward", "y");
  Tensor<T> dx(y.shape());
  for (int64_t i = 0; i < y.numel(); ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
  return dx;
}

template <class T>
Tensor<T> relu(const Tensor<T>& x) {
  Tensor<T> y(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
  return y;
}
template <class T>
Tensor<T> relu_backward(const Tensor<T>& x, const Tensor<T>& dy) {
  check_same(x, dy, "relu_backward", "x");
  Tensor<T> dx(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) dx[i] = x[i] > T(0) ? dy[i] : T(0);
  return dx;
}

template <class T>
Tensor<T> softmax(const Tensor<T>& x) {
  const auto [rows, v] = rows_last(x, "softmax");
  Tensor<T> y(x.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x.data() + r * v;
    T* out = y.data() + r * v;
    const T m = *std::max_element(in, in + v);
    T sum = 0;
    for (int64_t j = 0; j < v; ++j) sum += (out[j] = std::exp(in[j] - m));
    for (int64_t j = 0; j < v; ++j) out[j] /= sum;
  }
  return y;
}
template <class T>
Tensor<T> softmax_backward(const Tensor<T>& y, const Tensor<T>& dy) {
  check_same(y, dy, "softmax_backward", "y");
  const auto [rows, v] = rows_last(y, "softmax_backward");
  Tensor<T> dx(y.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y.data() + r * v;
    const T* g = dy.data() + r * v;
    T dot = 0;
    for (int64_t j = 0; j < v; ++j) dot += g[j] * yr[j];
    for (int64_t j = 0; j < v; ++j) dx[r * v + j] = yr[j] * (g[j] - dot);
  }
  return dx;
}

template <class T>
Tensor<T> log_softmax(const Tensor<T>& x) {
  const auto [rows, v] = rows_last(x, "log_softmax");
  Tensor<T> y(x.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x.data() + r * v;
    T* out = y.data() + r * v;
    const T m = *std::max_element(in, in + v);
    T sum = 0;
    for (int64_t j = 0; j < v; ++j) sum += std::exp(in[j] - m);
    const T lse = m + std::log(sum);
    for (int64_t j = 0; j < v; ++j) out[j] = in[j] - lse;
  }
  return y;
}
template <class T>
Tensor<T> log_softmax_backward(const Tensor<T>& y, const Tensor<T>& dy) {
  check_same(y, dy, "log_softmax_backward", "y");
  const auto [rows, v] = rows_last(y, "log_softmax_backward");
  Tensor<T> dx(y.shape());
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y.data() + r * v;
    const T* g = dy.data() + r * v;
    T sum = 0;
    for (int64_t j = 0; j < v; ++j) sum += g[j];
    for (int64_t j = 0; j < v; ++j) dx[r * v + j] = g[j] - std::exp(yr[j]) * sum;
  }
  return dx;
}

#define RNN_INSTANTIATE_ACTIVATIONS(T)                                          \
  template Tensor<T> tanh<T>(const Tensor<T>&);                                 \
  template Tensor<T> tanh_backward<T>(const Tensor<T>&, const Tensor<T>&);      \
  template Tensor<T> sigmoid<T>(const Tensor<T>&);                              \
  template Tensor<T> sigmoid_backward<T>(const Tensor<T>&, const Tensor<T>&);   \
  template Tensor<T> relu<T>(const Tensor<T>&);                                 \
  template Tensor<T> relu_backward<T>(const Tensor<T>&, const Tensor<T>&);      \
  template Tensor<T> softmax<T>(const Tensor<T>&);                              \
  template Tensor<T> softmax_backward<T>(const Tensor<T>&, const Tensor<T>&);   \
  template Tensor<T> log_softmax<T>(const Tensor<T>&);                          \
  template Tensor<T> log_softmax_backward<T>(const Tensor<T>&, const Tensor<T>&);

RNN_INSTANTIATE_ACTIVATIONS(float)
RNN_INSTANTIATE_ACTIVATIONS(double)
#undef RNN_INSTANTIATE_ACTIVATIONS

}  // namespace rnn::nn
