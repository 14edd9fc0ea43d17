// Initialisation schemes: bounds, moments, orthogonality per gate block, identity,
// forget-gate bias, fans and gains, determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "rnn/core/parameters.h"
#include "rnn/nn/init.h"

namespace {

using rnn::Shape;
using rnn::Tensor;

template <class T>
std::pair<double, double> min_max(const Tensor<T>& t) {
  const auto [lo, hi] = std::minmax_element(t.values().begin(), t.values().end());
  return {static_cast<double>(*lo), static_cast<double>(*hi)};
}

template <class T>
std::pair<double, double> mean_std(const Tensor<T>& t) {
  double sum = 0, sq = 0;
  for (T x : t.values()) sum += static_cast<double>(x);
  const double mean = sum / static_cast<double>(t.numel());
  for (T x : t.values()) sq += (static_cast<double>(x) - mean) * (static_cast<double>(x) - mean);
  return {mean, std::sqrt(sq / static_cast<double>(t.numel()))};
}

// Max |(Q Q^T)_ij - delta_ij| over one [R, C] block at `data` (rows when R <= C).
double orthogonality_error(const double* data, int64_t R, int64_t C) {
  const bool rows = R <= C;
  const int64_t n = rows ? R : C, m = rows ? C : R;
  auto at = [&](int64_t vec, int64_t i) { return rows ? data[vec * C + i] : data[i * C + vec]; };
  double worst = 0;
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t b = 0; b < n; ++b) {
      double dot = 0;
      for (int64_t i = 0; i < m; ++i) dot += at(a, i) * at(b, i);
      worst = std::max(worst, std::abs(dot - (a == b ? 1.0 : 0.0)));
    }
  }
  return worst;
}

TEST(InitSchemes, UniformAndDefaultRecurrentBounds) {
  rnn::Rng rng(1);
  Tensor<float> w({40, 25});
  rnn::init::pytorch_default_recurrent(w.view(), rng, 25);
  const auto [lo, hi] = min_max(w);
  EXPECT_GE(lo, -0.2);
  EXPECT_LT(hi, 0.2);
  EXPECT_LT(lo, -0.18);  // the range is used
  EXPECT_GT(hi, 0.18);
  const auto [mean, sd] = mean_std(w);
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(sd, 0.2 / std::sqrt(3.0), 0.005);
}

TEST(InitSchemes, XavierAndKaimingScales) {
  rnn::Rng rng(2);
  Tensor<double> w({60, 40});
  rnn::init::xavier_uniform(w.view(), rng, 2.0);
  const double a = 2.0 * std::sqrt(6.0 / 100.0);
  EXPECT_LE(min_max(w).second, a);
  EXPECT_GE(min_max(w).first, -a);
  EXPECT_NEAR(mean_std(w).second, a / std::sqrt(3.0), 0.02 * a);

  rnn::init::xavier_normal(w.view(), rng);
  EXPECT_NEAR(mean_std(w).second, std::sqrt(2.0 / 100.0), 0.01);

  Tensor<double> bias({60});
  rnn::init::linear_default(w.view(), bias.view(), rng);  // U(+-1/sqrt(40))
  const double b = 1.0 / std::sqrt(40.0);
  EXPECT_LE(min_max(w).second, b + 1e-15);
  EXPECT_GE(min_max(w).first, -b - 1e-15);
  EXPECT_NEAR(mean_std(w).second, b / std::sqrt(3.0), 0.02 * b);
  EXPECT_LE(min_max(bias).second, b);

  rnn::init::kaiming_uniform(w.view(), rng, 0.0, rnn::init::FanMode::FanOut, "relu");
  const double k = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(60.0);
  EXPECT_LE(min_max(w).second, k);
  EXPECT_NEAR(mean_std(w).second, k / std::sqrt(3.0), 0.02 * k);
}

TEST(InitSchemes, GainsAndFans) {
  EXPECT_DOUBLE_EQ(rnn::init::calculate_gain("tanh"), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(rnn::init::calculate_gain("relu"), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(rnn::init::calculate_gain("leaky_relu", std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
  EXPECT_DOUBLE_EQ(rnn::init::calculate_gain("sigmoid"), 1.0);
  const auto f = rnn::init::fans({6, 4, 3});
  EXPECT_EQ(f.fan_in, 12);
  EXPECT_EQ(f.fan_out, 18);
}

TEST(InitSchemes, OrthogonalPerGateBlock) {
  rnn::Rng rng(3);
  // LSTM weight_hh [4H, H], H = 5: each [5, 5] block orthogonal.
  Tensor<double> hh({20, 5});
  rnn::init::orthogonal(hh.view(), rng, 1.0, 4);
  for (int64_t b = 0; b < 4; ++b) {
    EXPECT_LT(orthogonality_error(hh.data() + b * 25, 5, 5), 1e-13) << "block " << b;
  }
  // weight_ih [3H, I] with H = 5 < I = 7: orthonormal rows W W^T = I.
  Tensor<double> ih({15, 7});
  rnn::init::orthogonal(ih.view(), rng, 1.0, 3);
  for (int64_t b = 0; b < 3; ++b) {
    EXPECT_LT(orthogonality_error(ih.data() + b * 35, 5, 7), 1e-13) << "block " << b;
  }
  // H = 5 > I = 3: orthonormal columns W^T W = I.
  Tensor<double> tall({10, 3});
  rnn::init::orthogonal(tall.view(), rng, 1.0, 2);
  EXPECT_LT(orthogonality_error(tall.data(), 5, 3), 1e-13);
  EXPECT_LT(orthogonality_error(tall.data() + 15, 5, 3), 1e-13);
  // The blocks differ, and a gain scales.
  EXPECT_NE(hh[0], hh[25]);
  Tensor<float> g({4, 4});
  rnn::init::orthogonal(g.view(), rng, 2.0);
  double row0 = 0;
  for (int64_t c = 0; c < 4; ++c) row0 += static_cast<double>(g.at(0, c) * g.at(0, c));
  EXPECT_NEAR(row0, 4.0, 1e-5);
}

TEST(InitSchemes, IdentityAndConstant) {
  Tensor<float> w({6, 3}, 7.0f);
  rnn::init::identity(w.view(), 0.5, 2);
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(w.at(r, c), (r % 3 == c) ? 0.5f : 0.0f);
  }
  rnn::init::constant(w.view(), -1.5);
  for (float x : w.values()) EXPECT_EQ(x, -1.5f);
}

TEST(InitSchemes, ForgetGateBiasThroughParameters) {
  rnn::Parameters<float> params;
  const auto id = params.add("bias_hh_l0", {12});  // LSTM, H = 3
  rnn::init::constant(params.value_view(id), 0.25);
  rnn::init::forget_gate_bias(params.value_view(id), 1.0);
  const auto b = params.get("bias_hh_l0");
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(b[i], (i >= 3 && i < 6) ? 1.0f : 0.25f) << i;
}

TEST(InitSchemes, SameSeedSameValues) {
  Tensor<float> a({5, 7}), b({5, 7});
  rnn::Rng r1(42), r2(42);
  rnn::init::orthogonal(a.view(), r1);
  rnn::init::orthogonal(b.view(), r2);
  EXPECT_EQ(a.values(), b.values());
  rnn::init::xavier_normal(a.view(), r1);
  rnn::init::xavier_normal(b.view(), r2);
  EXPECT_EQ(a.values(), b.values());
}

}  // namespace
