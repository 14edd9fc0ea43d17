#include "rnn/nn/init.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace rnn::init {
namespace {

template <class T>
void check_view(const TensorView<T>& w, const char* who) {
  check(w.data != nullptr || w.numel() == 0, who, ": null data for shape ", shape_str(w.shape));
}

// [rows, cols] of a weight, with rows split into `blocks`.
struct Blocks {
  int64_t rows = 0;  // per block
  int64_t cols = 0;
};

template <class T>
Blocks split_blocks(const TensorView<T>& w, int64_t blocks, const char* who) {
  check(w.shape.size() == 2, who, ": needs a matrix [rows, cols], got ", shape_str(w.shape));
  check(blocks >= 1, who, ": blocks must be >= 1, got ", blocks);
  check(w.shape[0] % blocks == 0, who, ": ", w.shape[0], " rows do not split into ", blocks,
        " blocks");
  return {w.shape[0] / blocks, w.shape[1]};
}

}  // namespace

Fans fans(const Shape& shape) {
  check(shape.size() >= 2, "init: fan in and fan out need at least 2 dimensions, got ",
        shape_str(shape));
  int64_t receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

double calculate_gain(std::string_view nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "identity" || nonlinearity == "sigmoid" ||
      nonlinearity.starts_with("conv")) {
    return 1.0;
  }
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu") return 3.0 / 4.0;
  fail("init::calculate_gain: unsupported nonlinearity '", std::string(nonlinearity), "'");
}

template <class T>
void constant(TensorView<T> w, double value) {
  check_view(w, "init::constant");
  for (T& x : w.span()) x = static_cast<T>(value);
}

template <class T>
void uniform(TensorView<T> w, Rng& rng, double low, double high) {
  check_view(w, "init::uniform");
  check(low <= high, "init::uniform: low ", low, " > high ", high);
  for (T& x : w.span()) x = static_cast<T>(rng.uniform(low, high));
}

template <class T>
void normal(TensorView<T> w, Rng& rng, double mean, double stddev) {
  check_view(w, "init::normal");
  check(stddev >= 0.0, "init::normal: negative stddev ", stddev);
  for (T& x : w.span()) x = static_cast<T>(rng.normal(mean, stddev));
}

template <class T>
void pytorch_default_recurrent(TensorView<T> w, Rng& rng, int64_t hidden_size) {
  check(hidden_size >= 1, "init::pytorch_default_recurrent: hidden_size must be >= 1, got ",
        hidden_size);
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  uniform(w, rng, -k, k);
}

template <class T>
void xavier_uniform(TensorView<T> w, Rng& rng, double gain) {
  const Fans f = fans(w.shape);
  const double a = gain * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out));
  uniform(w, rng, -a, a);
}

template <class T>
void xavier_normal(TensorView<T> w, Rng& rng, double gain) {
  const Fans f = fans(w.shape);
  normal(w, rng, 0.0, gain * std::sqrt(2.0 / static_cast<double>(f.fan_in + f.fan_out)));
}

template <class T>
void kaiming_uniform(TensorView<T> w, Rng& rng, double a, FanMode mode,
                     std::string_view nonlinearity) {
  const Fans f = fans(w.shape);
  const int64_t fan = mode == FanMode::FanIn ? f.fan_in : f.fan_out;
  check(fan > 0, "init::kaiming_uniform: zero fan for shape ", shape_str(w.shape));
  const double stddev = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
  const double bound = std::sqrt(3.0) * stddev;
  uniform(w, rng, -bound, bound);
}

template <class T>
void linear_default(TensorView<T> weight, TensorView<T> bias, Rng& rng) {
  kaiming_uniform(weight, rng, std::sqrt(5.0));
  if (bias.data == nullptr) return;
  const Fans f = fans(weight.shape);
  check(bias.shape == Shape{weight.shape[0]}, "init::linear_default: bias ",
        shape_str(bias.shape), " does not fit weight ", shape_str(weight.shape));
  const double bound = f.fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(f.fan_in)) : 0.0;
  uniform(bias, rng, -bound, bound);
}

template <class T>
void orthogonal(TensorView<T> w, Rng& rng, double gain, int64_t blocks) {
  check_view(w, "init::orthogonal");
  const Blocks blk = split_blocks(w, blocks, "init::orthogonal");
  const int64_t R = blk.rows, C = blk.cols;
  if (R == 0 || C == 0) return;
  // n orthonormal vectors of length m: rows of the block if R <= C, else its columns.
  const int64_t m = std::max(R, C);
  const int64_t n = std::min(R, C);
  std::vector<double> q(static_cast<size_t>(m * n));  // q[j*m + i]: vector j, element i
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t j = 0; j < n; ++j) {
      double* v = q.data() + j * m;
      for (int attempt = 0;; ++attempt) {
        check(attempt < 100, "init::orthogonal: could not draw an independent vector");
        for (int64_t i = 0; i < m; ++i) v[i] = rng.normal();
        double first_norm = 0.0;
        for (int64_t i = 0; i < m; ++i) first_norm += v[i] * v[i];
        first_norm = std::sqrt(first_norm);
        // Modified Gram-Schmidt, twice for orthogonality to rounding (the projection
        // keeps diag(R) > 0, so this is QR with PyTorch's sign convention).
        for (int pass = 0; pass < 2; ++pass) {
          for (int64_t k = 0; k < j; ++k) {
            const double* u = q.data() + k * m;
            double dotp = 0.0;
            for (int64_t i = 0; i < m; ++i) dotp += u[i] * v[i];
            for (int64_t i = 0; i < m; ++i) v[i] -= dotp * u[i];
          }
        }
        double norm = 0.0;
        for (int64_t i = 0; i < m; ++i) norm += v[i] * v[i];
        norm = std::sqrt(norm);
        if (norm <= 1e-8 * first_norm || norm == 0.0) continue;  // (almost) dependent: redraw
        for (int64_t i = 0; i < m; ++i) v[i] /= norm;
        break;
      }
    }
    T* out = w.data + b * R * C;
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t c = 0; c < C; ++c) {
        const double value = R <= C ? q[static_cast<size_t>(r * m + c)]
                                    : q[static_cast<size_t>(c * m + r)];
        out[r * C + c] = static_cast<T>(gain * value);
      }
    }
  }
}

template <class T>
void identity(TensorView<T> w, double scale, int64_t blocks) {
  check_view(w, "init::identity");
  const Blocks blk = split_blocks(w, blocks, "init::identity");
  for (int64_t b = 0; b < blocks; ++b) {
    T* out = w.data + b * blk.rows * blk.cols;
    for (int64_t r = 0; r < blk.rows; ++r) {
      for (int64_t c = 0; c < blk.cols; ++c) {
        out[r * blk.cols + c] = r == c ? static_cast<T>(scale) : T(0);
      }
    }
  }
}

template <class T>
void forget_gate_bias(TensorView<T> bias, double value) {
  check_view(bias, "init::forget_gate_bias");
  check(bias.shape.size() == 1 && bias.shape[0] % 4 == 0 && bias.shape[0] > 0,
        "init::forget_gate_bias: needs an LSTM bias [4H], got ", shape_str(bias.shape));
  const int64_t H = bias.shape[0] / 4;
  for (int64_t i = H; i < 2 * H; ++i) bias.data[i] = static_cast<T>(value);
}

#define RNN_INSTANTIATE_INIT(T)                                                           \
  template void constant<T>(TensorView<T>, double);                                       \
  template void uniform<T>(TensorView<T>, Rng&, double, double);                          \
  template void normal<T>(TensorView<T>, Rng&, double, double);                           \
  template void pytorch_default_recurrent<T>(TensorView<T>, Rng&, int64_t);               \
  template void xavier_uniform<T>(TensorView<T>, Rng&, double);                           \
  template void xavier_normal<T>(TensorView<T>, Rng&, double);                            \
  template void kaiming_uniform<T>(TensorView<T>, Rng&, double, FanMode, std::string_view); \
  template void linear_default<T>(TensorView<T>, TensorView<T>, Rng&);                    \
  template void orthogonal<T>(TensorView<T>, Rng&, double, int64_t);                      \
  template void identity<T>(TensorView<T>, double, int64_t);                              \
  template void forget_gate_bias<T>(TensorView<T>, double);

RNN_INSTANTIATE_INIT(float)
RNN_INSTANTIATE_INIT(double)
#undef RNN_INSTANTIATE_INIT

}  // namespace rnn::init
