// Gradchecks of the nn building blocks (Linear, Embedding, activations, Dropout): central
// differences in double, non-square shapes, a random upstream gradient, loss = <dy, y>.
// Bound: |analytic - numeric| / max(1, |numeric|) <= 1e-7 (eps 1e-6).
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "rnn/nn/activations.h"
#include "rnn/nn/dropout.h"
#include "rnn/nn/embedding.h"
#include "rnn/nn/linear.h"
#include "support/gradcheck.h"

namespace rnn::test {
namespace {

const GradcheckOptions kOptions{1e-6, 1e-7};

std::span<double> param_values(Parameters<double>& store, ParamId id) {
  return {store.value(id), store.info(id).numel};
}
std::span<const double> param_grads(Parameters<double>& store, ParamId id) {
  return {store.grad(id), store.info(id).numel};
}

void check_linear(const Shape& x_shape, int64_t in, int64_t out, bool bias) {
  Rng rng(11);
  Parameters<double> store;
  nn::Linear<double> linear(in, out, store, rng, "proj.", bias);
  Tensor<double> x = random_tensor(x_shape, rng);
  Shape y_shape = x_shape;
  y_shape.back() = out;
  const Tensor<double> dy = random_tensor(y_shape, rng);

  store.zero_grad();
  const Tensor<double> dx = linear.backward(x, dy);
  auto loss = [&] { return dot(dy, linear.forward(x)); };

  EXPECT_TRUE(gradcheck("dx", x.span(), dx.span(), loss, kOptions));
  EXPECT_TRUE(gradcheck("proj.weight", param_values(store, linear.weight_id()),
                        param_grads(store, linear.weight_id()), loss, kOptions));
  if (bias) {
    EXPECT_TRUE(gradcheck("proj.bias", param_values(store, linear.bias_id()),
                          param_grads(store, linear.bias_id()), loss, kOptions));
  }
}

TEST(NnGradcheck, LinearRows) { check_linear({4, 3}, 3, 5, true); }
TEST(NnGradcheck, LinearLeadingDims) { check_linear({2, 4, 5}, 5, 3, true); }
TEST(NnGradcheck, LinearNoBias) { check_linear({3, 2}, 2, 7, false); }

TEST(NnGradcheck, Embedding) {
  Rng rng(12);
  Parameters<double> store;
  nn::Embedding<double> embedding(7, 3, store, rng, "embed.");
  // [T=4, B=2] ids with repeats, so rows collect more than one gradient.
  const Tensor<int64_t> ids({4, 2}, std::vector<int64_t>{1, 6, 0, 1, 6, 6, 2, 1});
  const Tensor<double> dy = random_tensor({4, 2, 3}, rng);
  store.zero_grad();
  embedding.backward(ids, dy);
  auto loss = [&] { return dot(dy, embedding.forward(ids)); };
  EXPECT_TRUE(gradcheck("embed.weight", param_values(store, embedding.weight_id()),
                        param_grads(store, embedding.weight_id()), loss, kOptions));
}

using Forward = std::function<Tensor<double>(const Tensor<double>&)>;
using Backward = std::function<Tensor<double>(const Tensor<double>& x, const Tensor<double>& y,
                                              const Tensor<double>& dy)>;

void check_activation(const std::string& name, const Forward& forward, const Backward& backward,
                      bool away_from_zero = false) {
  Rng rng(13);
  Tensor<double> x = random_tensor({2, 3, 5}, rng, 2.0);
  if (away_from_zero) {  // relu's kink: keep every input at least 0.1 away from it
    for (int64_t i = 0; i < x.numel(); ++i) x[i] += x[i] >= 0 ? 0.1 : -0.1;
  }
  const Tensor<double> dy = random_tensor({2, 3, 5}, rng);
  const Tensor<double> y = forward(x);
  const Tensor<double> dx = backward(x, y, dy);
  EXPECT_TRUE(gradcheck(name + " dx", x.span(), dx.span(), [&] { return dot(dy, forward(x)); },
                        kOptions));
}

TEST(NnGradcheck, Tanh) {
  check_activation("tanh", nn::tanh<double>,
                   [](auto&, auto& y, auto& dy) { return nn::tanh_backward(y, dy); });
}
TEST(NnGradcheck, Sigmoid) {
  check_activation("sigmoid", nn::sigmoid<double>,
                   [](auto&, auto& y, auto& dy) { return nn::sigmoid_backward(y, dy); });
}
TEST(NnGradcheck, Relu) {
  check_activation("relu", nn::relu<double>,
                   [](auto& x, auto&, auto& dy) { return nn::relu_backward(x, dy); }, true);
}
TEST(NnGradcheck, Softmax) {
  check_activation("softmax", nn::softmax<double>,
                   [](auto&, auto& y, auto& dy) { return nn::softmax_backward(y, dy); });
}
TEST(NnGradcheck, LogSoftmax) {
  check_activation("log_softmax", nn::log_softmax<double>,
                   [](auto&, auto& y, auto& dy) { return nn::log_softmax_backward(y, dy); });
}

TEST(NnGradcheck, Dropout) {
  nn::Dropout<double> dropout(0.4);
  Rng rng(14);
  Tensor<double> x = random_tensor({3, 4, 2}, rng);
  const Tensor<double> dy = random_tensor({3, 4, 2}, rng);
  Rng mask_rng(99);
  Tensor<double> mask;
  dropout.forward(x, Mode::Train, mask_rng, &mask);
  const Tensor<double> dx = dropout.backward(mask, dy);
  // The same seed for every evaluation draws the same mask.
  auto loss = [&] {
    Rng r(99);
    return dot(dy, dropout.forward(x, Mode::Train, r));
  };
  EXPECT_TRUE(gradcheck("dropout dx", x.span(), dx.span(), loss, kOptions));
}

}  // namespace
}  // namespace rnn::test
