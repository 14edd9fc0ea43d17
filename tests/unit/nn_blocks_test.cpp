// Unit tests of the nn building blocks: registration and init, hand-computed forward
// values (PyTorch's for the activations), accumulation, padding, dropout statistics, and
// the errors for bad arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rnn/nn/activations.h"
#include "rnn/nn/dropout.h"
#include "rnn/nn/embedding.h"
#include "rnn/nn/linear.h"
#include "support/compare.h"

namespace rnn::test {
namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no rnn::Error thrown)";
}

// ---- Linear -------------------------------------------------------------------------

TEST(NnLinear, RegistersPyTorchNamesAndShapes) {
  Parameters<float> store;
  Rng rng(1);
  nn::Linear<float> linear(3, 5, store, rng, "decoder.");
  ASSERT_EQ(store.size(), 2u);
  EXPECT_EQ(store.info(store.id("decoder.weight")).shape, (Shape{5, 3}));
  EXPECT_EQ(store.info(store.id("decoder.bias")).shape, (Shape{5}));
  EXPECT_TRUE(linear.has_bias());

  Parameters<float> no_bias_store;
  nn::Linear<float> no_bias(3, 5, no_bias_store, rng, "", false);
  EXPECT_EQ(no_bias_store.size(), 1u);
  EXPECT_FALSE(no_bias.has_bias());
  EXPECT_FALSE(no_bias_store.find("bias").has_value());
}

TEST(NnLinear, InitIsUniformWithinOneOverSqrtFanIn) {
  Parameters<double> store;
  Rng rng(2);
  nn::Linear<double> linear(16, 64, store, rng);
  const double bound = 0.25;
  double max_abs = 0, sum = 0;
  for (double v : store.values()) {
    max_abs = std::max(max_abs, std::abs(v));
    sum += v;
  }
  EXPECT_LE(max_abs, bound);
  EXPECT_GT(max_abs, 0.95 * bound);  // spread over the whole interval
  EXPECT_NEAR(sum / static_cast<double>(store.numel()), 0.0, 0.02);

  // Same seed, same values.
  Parameters<double> again;
  Rng rng2(2);
  nn::Linear<double> linear2(16, 64, again, rng2);
  for (size_t i = 0; i < store.numel(); ++i) ASSERT_EQ(store.values()[i], again.values()[i]);
}

TEST(NnLinear, ForwardMatchesHandComputation) {
  Parameters<double> store;
  Rng rng(3);
  nn::Linear<double> linear(2, 3, store, rng);
  store.set("weight", Tensor<double>({3, 2}, {1, 2, 3, 4, 5, 6}));
  store.set("bias", Tensor<double>({3}, {0.5, -0.5, 1}));
  const Tensor<double> x({2, 2}, {1, -1, 2, 0.5});
  // rows: [1-2+0.5, 3-4-0.5, 5-6+1] and [2+1+0.5, 6+2-0.5, 10+3+1]
  const Tensor<double> expected({2, 3}, {-0.5, -1.5, 0, 3.5, 7.5, 14});
  EXPECT_TRUE(all_close("y", linear.forward(x), expected, 1e-14, 0));

  // Leading dimensions are kept: [T=1, B=2, I=2] -> [1, 2, 3].
  Tensor<double> x3 = x;
  x3.reshape({1, 2, 2});
  Tensor<double> expected3 = expected;
  expected3.reshape({1, 2, 3});
  EXPECT_TRUE(all_close("y3", linear.forward(x3), expected3, 1e-14, 0));
}

TEST(NnLinear, BackwardAccumulates) {
  Parameters<double> store;
  Rng rng(4);
  nn::Linear<double> linear(3, 2, store, rng);
  const Tensor<double> x({4, 3}, {1, 2, 3, -1, 0, 2, 0.5, 0.25, -2, 1, 1, 1});
  const Tensor<double> dy({4, 2}, {0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8});
  store.zero_grad();
  const Tensor<double> dx1 = linear.backward(x, dy);
  const Tensor<double> once = store.get_grad("weight");
  const Tensor<double> once_b = store.get_grad("bias");
  const Tensor<double> dx2 = linear.backward(x, dy);
  EXPECT_TRUE(bitwise_equal("dx", dx1, dx2));
  Tensor<double> twice = once, twice_b = once_b;
  for (auto& v : twice.values()) v *= 2;
  for (auto& v : twice_b.values()) v *= 2;
  EXPECT_TRUE(all_close("weight grad", store.get_grad("weight"), twice, 1e-15, 1e-15));
  EXPECT_TRUE(all_close("bias grad", store.get_grad("bias"), twice_b, 1e-15, 1e-15));
  // dbias = column sums of dy
  EXPECT_TRUE(all_close("bias grad once", once_b, Tensor<double>({2}, {0.6, 0.0}), 1e-15, 0));
}

TEST(NnLinear, RejectsBadShapes) {
  Parameters<float> store;
  Rng rng(5);
  EXPECT_NE(error_of([&] { nn::Linear<float>(0, 3, store, rng); }).find("in_features"),
            std::string::npos);
  nn::Linear<float> linear(3, 2, store, rng);
  const std::string msg = error_of([&] { linear.forward(Tensor<float>({4, 5})); });
  EXPECT_NE(msg.find("[4, 5]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 features"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { linear.backward(Tensor<float>({4, 3}), Tensor<float>({3, 2})); })
                .find("does not match"),
            std::string::npos);
}

// ---- Embedding ----------------------------------------------------------------------

TEST(NnEmbedding, LooksUpRowsAndKeepsIdShape) {
  Parameters<float> store;
  Rng rng(6);
  nn::Embedding<float> embedding(4, 3, store, rng, "embed.");
  EXPECT_EQ(store.info(store.id("embed.weight")).shape, (Shape{4, 3}));
  const Tensor<float> w = store.get("embed.weight");
  const Tensor<int64_t> ids({2, 3}, std::vector<int64_t>{3, 0, 3, 1, 2, 0});
  const Tensor<float> y = embedding.forward(ids);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 3}));
  for (int64_t i = 0; i < ids.numel(); ++i)
    for (int64_t e = 0; e < 3; ++e) ASSERT_EQ(y[i * 3 + e], w[ids[i] * 3 + e]);
}

TEST(NnEmbedding, InitIsStandardNormal) {
  Parameters<double> store;
  Rng rng(7);
  nn::Embedding<double> embedding(200, 50, store, rng);
  double sum = 0, sum_sq = 0;
  for (double v : store.values()) {
    sum += v;
    sum_sq += v * v;
  }
  const double n = static_cast<double>(store.numel());
  EXPECT_NEAR(sum / n, 0.0, 0.03);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.05);
}

TEST(NnEmbedding, PaddingRowIsZeroAndGetsNoGradient) {
  Parameters<double> store;
  Rng rng(8);
  nn::Embedding<double> embedding(5, 2, store, rng, "", -1);  // -1 means row 4
  ASSERT_EQ(embedding.padding_idx(), 4);
  const Tensor<double> w = store.get("weight");
  EXPECT_EQ(w.at(4, 0), 0.0);
  EXPECT_EQ(w.at(4, 1), 0.0);
  const Tensor<int64_t> ids({3}, std::vector<int64_t>{4, 1, 4});
  store.zero_grad();
  embedding.backward(ids, Tensor<double>({3, 2}, {1, 2, 3, 4, 5, 6}));
  const Tensor<double> g = store.get_grad("weight");
  EXPECT_EQ(g.at(4, 0), 0.0);
  EXPECT_EQ(g.at(4, 1), 0.0);
  EXPECT_EQ(g.at(1, 0), 3.0);
  EXPECT_EQ(g.at(1, 1), 4.0);
  // Accumulates.
  embedding.backward(ids, Tensor<double>({3, 2}, {1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(store.get_grad("weight").at(1, 1), 8.0);
  EXPECT_NE(error_of([&] { nn::Embedding<double>(5, 2, store, rng, "p.", 5); }).find("padding_idx 5"),
            std::string::npos);
}

TEST(NnEmbedding, OutOfRangeIdNamesIdAndPosition) {
  Parameters<float> store;
  Rng rng(9);
  nn::Embedding<float> embedding(10, 4, store, rng);
  const Tensor<int64_t> ids({2, 2}, std::vector<int64_t>{1, 2, 10, 3});
  const std::string msg = error_of([&] { embedding.forward(ids); });
  EXPECT_NE(msg.find("id 10"), std::string::npos) << msg;
  EXPECT_NE(msg.find("position 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0..9"), std::string::npos) << msg;
  const Tensor<int64_t> negative({1}, std::vector<int64_t>{-3});
  EXPECT_NE(error_of([&] { embedding.forward(negative); }).find("id -3"), std::string::npos);
  EXPECT_NE(error_of([&] { embedding.backward(Tensor<int64_t>({2}, std::vector<int64_t>{0, 1}),
                                              Tensor<float>({2, 3})); })
                .find("dy"),
            std::string::npos);
}

// ---- activations --------------------------------------------------------------------

TEST(NnActivations, MatchPyTorchValues) {
  const Tensor<double> row({3}, {0.5, -1.25, 2.0});
  // torch.tanh / torch.sigmoid in float64
  EXPECT_TRUE(all_close("tanh", nn::tanh(row),
                        Tensor<double>({3}, {0.46211715726000974, -0.84828363995751288,
                                             0.96402758007581690}),
                        1e-15, 1e-15));
  EXPECT_TRUE(all_close("sigmoid", nn::sigmoid(row),
                        Tensor<double>({3}, {0.62245933120185459, 0.22270013882530884,
                                             0.88079707797788231}),
                        1e-15, 1e-15));
  EXPECT_TRUE(bitwise_equal("relu", nn::relu(row), Tensor<double>({3}, {0.5, 0, 2})));

  // Rows of the last dimension; the second row would overflow a naive exp.
  const Tensor<double> x({2, 3}, {0.5, -1.25, 2.0, 1000.0, 0.0, -1000.0});
  EXPECT_TRUE(all_close("softmax", nn::softmax(x),
                        Tensor<double>({2, 3}, {0.17682018210744427, 0.03072674032643643,
                                                0.79245307756611927, 1, 0, 0}),
                        1e-15, 1e-14));
  EXPECT_TRUE(all_close("log_softmax", nn::log_softmax(x),
                        Tensor<double>({2, 3}, {-1.73262198310203264, -3.48262198310203264,
                                                -0.232621983102032664, 0, -1000, -2000}),
                        1e-14, 1e-14));
  // float too
  const Tensor<float> xf = x.cast<float>();
  EXPECT_TRUE(all_close("log_softmax float", nn::log_softmax(xf), nn::log_softmax(x), 1e-5, 1e-5));
}

TEST(NnActivations, ReluGradientIsZeroAtZero) {
  const Tensor<float> x({3}, {-1.0f, 0.0f, 2.0f});
  const Tensor<float> dx = nn::relu_backward(x, Tensor<float>({3}, {5, 6, 7}));
  EXPECT_TRUE(bitwise_equal("relu dx", dx, Tensor<float>({3}, {0, 0, 7})));
}

TEST(NnActivations, BackwardRejectsMismatchedShapes) {
  const std::string msg =
      error_of([] { nn::softmax_backward(Tensor<float>({2, 3}), Tensor<float>({3, 2})); });
  EXPECT_NE(msg.find("softmax_backward"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3, 2]"), std::string::npos) << msg;
}

// ---- Dropout ------------------------------------------------------------------------

TEST(NnDropout, EvalIsIdentityAndLeavesRngAlone) {
  nn::Dropout<float> dropout(0.5);
  Rng rng(10);
  const auto before = rng.snapshot();
  const Tensor<float> x({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<float> mask({1});
  EXPECT_TRUE(bitwise_equal("eval y", dropout.forward(x, Mode::Eval, rng, &mask), x));
  EXPECT_TRUE(mask.empty());
  EXPECT_EQ(rng.snapshot().state, before.state);
  EXPECT_TRUE(bitwise_equal("eval dx", dropout.backward(mask, x), x));
}

TEST(NnDropout, ExtremesZeroAndOne) {
  Rng rng(11);
  const Tensor<double> x({2, 2}, {1, -2, 3, -4});
  EXPECT_TRUE(bitwise_equal("p=0", nn::Dropout<double>(0.0).forward(x, Mode::Train, rng), x));
  Tensor<double> mask;
  EXPECT_TRUE(bitwise_equal("p=1", nn::Dropout<double>(1.0).forward(x, Mode::Train, rng, &mask),
                            Tensor<double>({2, 2}, 0.0)));
  EXPECT_TRUE(bitwise_equal("p=1 dx", nn::Dropout<double>(1.0).backward(mask, x),
                            Tensor<double>({2, 2}, 0.0)));
}

TEST(NnDropout, InvertedScalingAndRate) {
  const double p = 0.3;
  nn::Dropout<double> dropout(p);
  Rng rng(12);
  const Tensor<double> x({100, 100}, 1.0);
  Tensor<double> mask;
  const Tensor<double> y = dropout.forward(x, Mode::Train, rng, &mask);
  int64_t dropped = 0;
  double sum = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    ASSERT_TRUE(y[i] == 0.0 || std::abs(y[i] - 1.0 / (1.0 - p)) < 1e-15) << y[i];
    ASSERT_EQ(y[i], mask[i]);
    dropped += y[i] == 0.0;
    sum += y[i];
  }
  // 10,000 draws: the dropped fraction is within ~4.4 standard deviations (0.02) of p,
  // and inverted scaling keeps the mean near 1.
  EXPECT_NEAR(static_cast<double>(dropped) / 1e4, p, 0.02);
  EXPECT_NEAR(sum / 1e4, 1.0, 0.03);

  // Same seed, same mask.
  Rng a(5), b(5);
  Tensor<double> mask_a, mask_b;
  dropout.forward(x, Mode::Train, a, &mask_a);
  dropout.forward(x, Mode::Train, b, &mask_b);
  EXPECT_TRUE(bitwise_equal("mask", mask_a, mask_b));
}

TEST(NnDropout, RejectsBadProbability) {
  EXPECT_NE(error_of([] { nn::Dropout<float>(1.5); }).find("1.5"), std::string::npos);
  EXPECT_NE(error_of([] { nn::Dropout<float>(-0.1); }).find("[0, 1]"), std::string::npos);
}

}  // namespace
}  // namespace rnn::test
