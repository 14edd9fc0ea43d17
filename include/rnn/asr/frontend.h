// The optional convolutional front end of the recogniser (`rnn asr train --frontend conv`):
// torch.nn.Conv1d(M, C, K, stride=k) over the log-mel frames, then ReLU. Like frame
// stacking it shortens the sequence k times (T = ceil(F/k) steps, so the CTC length rules
// do not change), but each step is C learned filters over K >= k frames, so neighbouring
// steps overlap.
//
//   y[t, b, c] = relu(bias[c] + sum_{m, j<K} W[c, m, j] * x_b[t*k + j, m])
//
// with x_b = 0 past the end of utterance b. Letters: F frames, M mel bands, B batch,
// C channels, K kernel, k stride, T steps. Parameters: `prefix`weight [C, M, K] and
// `prefix`bias [C], PyTorch's Conv1d layout and initialisation. The convolution is
// nn::Conv1d (stride 1) evaluated at every k-th position.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"
#include "rnn/nn/conv1d.h"

namespace rnn::asr {

template <class T>
class ConvFrontEnd {
 public:
  ConvFrontEnd(int64_t mels, int64_t channels, int64_t kernel, int64_t stride,
               Parameters<T>& store, Rng& rng, const std::string& prefix = "frontend.");

  int64_t steps(int64_t frames) const { return (frames + stride_ - 1) / stride_; }
  int64_t channels() const { return conv_.out_channels(); }

  // Utterances features[i] ([F_i, M]) -> the convolution's input [B, M, L], zero past each
  // end, L = (T-1)*k + K for the longest utterance's T steps.
  Tensor<T> input(const std::vector<const Tensor<T>*>& features) const;
  // input [B, M, L] -> y [T, B, C] (time-major, what the recurrent layers read).
  Tensor<T> forward(const Tensor<T>& input) const;
  // Accumulates the weight and bias gradients for dy [T, B, C] (y: forward's output).
  void backward(const Tensor<T>& input, const Tensor<T>& y, const Tensor<T>& dy) const;

 private:
  int64_t mels_, kernel_, stride_;
  nn::Conv1d<T> conv_;
};

extern template class ConvFrontEnd<float>;
extern template class ConvFrontEnd<double>;

}  // namespace rnn::asr
