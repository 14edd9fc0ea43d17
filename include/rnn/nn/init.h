// Parameter initialisation schemes, as torch.nn.init (distributions and scales; the
// random numbers come from rnn::Rng, so values differ from PyTorch's generator).
//
// Weights are [rows, cols] = [out, in] (e.g. weight_ih [G*H, I]); every scheme writes
// through a TensorView into a model's flat parameter buffer.
#pragma once

#include <cstdint>
#include <string_view>

#include "rnn/core/rng.h"
#include "rnn/core/tensor.h"

namespace rnn::init {

// fan_in = shape[1] * prod(shape[2:]), fan_out = shape[0] * prod(shape[2:]); needs rank >= 2.
struct Fans {
  int64_t fan_in = 0;
  int64_t fan_out = 0;
};
Fans fans(const Shape& shape);

// torch.nn.init.calculate_gain: linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2),
// leaky_relu sqrt(2 / (1 + param^2)) (param = negative slope), selu 3/4.
double calculate_gain(std::string_view nonlinearity, double param = 0.01);

template <class T>
void constant(TensorView<T> w, double value);

// U(low, high)
template <class T>
void uniform(TensorView<T> w, Rng& rng, double low, double high);

// N(mean, stddev^2)
template <class T>
void normal(TensorView<T> w, Rng& rng, double mean, double stddev);

// PyTorch's default for every RNN/LSTM/GRU parameter: U(-1/sqrt(H), 1/sqrt(H)).
template <class T>
void pytorch_default_recurrent(TensorView<T> w, Rng& rng, int64_t hidden_size);

// U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
template <class T>
void xavier_uniform(TensorView<T> w, Rng& rng, double gain = 1.0);

// N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).
template <class T>
void xavier_normal(TensorView<T> w, Rng& rng, double gain = 1.0);

enum class FanMode { FanIn, FanOut };

// U(-b, b), b = sqrt(3) * calculate_gain(nonlinearity, a) / sqrt(fan).
template <class T>
void kaiming_uniform(TensorView<T> w, Rng& rng, double a = 0.0, FanMode mode = FanMode::FanIn,
                     std::string_view nonlinearity = "leaky_relu");

// torch.nn.Linear's default: weight [O, I] kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(I), 1/sqrt(I)),
// bias [O] (may be empty: data null) U(-1/sqrt(I), 1/sqrt(I)).
template <class T>
void linear_default(TensorView<T> weight, TensorView<T> bias, Rng& rng);

// Orthogonal init per gate block: w [blocks*R, C] is cut into `blocks` row blocks [R, C];
// each becomes gain * Q with Q from the QR decomposition of a standard normal matrix
// (Gram-Schmidt, signs so that diag(R) > 0, as torch.nn.init.orthogonal_): orthonormal
// rows if R <= C (Q Q^T = I), orthonormal columns otherwise (Q^T Q = I).
template <class T>
void orthogonal(TensorView<T> w, Rng& rng, double gain = 1.0, int64_t blocks = 1);

// scale * identity per row block (IRNN: weight_hh [H, H] = I); w [blocks*R, C] gets
// block[i][i] = scale for i < min(R, C), zeros elsewhere.
template <class T>
void identity(TensorView<T> w, double scale = 1.0, int64_t blocks = 1);

// LSTM forget-gate bias: bias [4H] (gate order i, f, g, o), rows H..2H set to `value`
// (others untouched).
template <class T>
void forget_gate_bias(TensorView<T> bias, double value = 1.0);

}  // namespace rnn::init
