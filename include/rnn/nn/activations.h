// Element-wise activations and (log-)softmax over the last dimension, with their
// backward passes. Backward functions take what PyTorch's autograd saves: the output y
// for tanh, sigmoid, softmax and log_softmax, the input x for relu.
//
// Shapes: any shape S; softmax and log_softmax normalise over the last dimension
// (rows [..., V]).
#pragma once

#include "rnn/core/tensor.h"

namespace rnn::nn {

// y = tanh(x);                  dx = dy * (1 - y^2)
template <class T> Tensor<T> tanh(const Tensor<T>& x);
template <class T> Tensor<T> tanh_backward(const Tensor<T>& y, const Tensor<T>& dy);

// y = 1 / (1 + exp(-x));        dx = dy * y * (1 - y)
template <class T> Tensor<T> sigmoid(const Tensor<T>& x);
template <class T> Tensor<T> sigmoid_backward(const Tensor<T>& y, const Tensor<T>& dy);

// y = max(x, 0);                dx = dy where x > 0, else 0 (0 at x = 0, like PyTorch)
template <class T> Tensor<T> relu(const Tensor<T>& x);
template <class T> Tensor<T> relu_backward(const Tensor<T>& x, const Tensor<T>& dy);

// y[..., v] = exp(x[..., v] - m) / sum_u exp(x[..., u] - m),  m = max_u x[..., u]
// dx = y * (dy - sum_v dy * y)
template <class T> Tensor<T> softmax(const Tensor<T>& x);
template <class T> Tensor<T> softmax_backward(const Tensor<T>& y, const Tensor<T>& dy);

// y[..., v] = x[..., v] - m - log sum_u exp(x[..., u] - m)
// dx = dy - exp(y) * sum_v dy
template <class T> Tensor<T> log_softmax(const Tensor<T>& x);
template <class T> Tensor<T> log_softmax_backward(const Tensor<T>& y, const Tensor<T>& dy);

}  // namespace rnn::nn
