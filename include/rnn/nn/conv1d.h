// A one-dimensional convolution, torch.nn.Conv1d with stride 1 and no padding:
//   y[b, o, t] = bias[o] + sum_{c, j} W[o, c, j] * x[b, c, t + j * dilation]
//
// Letters: B batch, C in_channels, O out_channels, K kernel_size, L input length,
// Lout = L - dilation * (K - 1).
#pragma once

#include <cstdint>
#include <string>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"

namespace rnn::nn {

template <class T>
class Conv1d {
 public:
  // Registers `prefix + "weight"` [O,C,K] and (when `bias`) `prefix + "bias"` [O] and
  // initialises both like PyTorch: U(-1/sqrt(C*K), 1/sqrt(C*K)), weight first, from `rng`.
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Parameters<T>& store,
         Rng& rng, const std::string& prefix = "", bool bias = true, int64_t dilation = 1);

  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  int64_t kernel_size() const { return kernel_size_; }
  int64_t dilation() const { return dilation_; }
  // Lout for an input of length L (throws when L is shorter than the receptive field).
  int64_t output_length(int64_t length) const;

  // x [B,C,L] -> y [B,O,Lout]
  Tensor<T> forward(const Tensor<T>& x) const;

  // Given the forward input x [B,C,L] and dy [B,O,Lout]: accumulates
  //   dW[o,c,j] += sum_{b,t} dy[b,o,t] x[b,c,t+j*d],  dbias[o] += sum_{b,t} dy[b,o,t]
  // into the store's gradients and returns dx [B,C,L] (dx[b,c,t+j*d] += W[o,c,j] dy[b,o,t]).
  Tensor<T> backward(const Tensor<T>& x, const Tensor<T>& dy) const;

 private:
  void check_input(const Tensor<T>& x, const char* who) const;

  int64_t in_channels_, out_channels_, kernel_size_, dilation_;
  Parameters<T>* store_;
  ParamId weight_;
  ParamId bias_;
};

extern template class Conv1d<float>;
extern template class Conv1d<double>;

}  // namespace rnn::nn
