// ||dL/dh_t|| per time step (rnn/diagnostics/gradient_flow.h) against central finite
// differences in double, and against hand-computed cases (ReLU RNN in its linear regime:
// the norm shrinks by exactly the recurrent scale per step back).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/core/parameters.h"
#include "rnn/core/rng.h"
#include "rnn/diagnostics/gradient_flow.h"
#include "rnn/layers/recurrent.h"
#include "rnn/nn/init.h"

namespace rnn::diagnostics {
namespace {

// Sizes: I=3, H=5, B=2, T=4 (never all equal).
constexpr int64_t kI = 3, kH = 5, kB = 2, kT = 4;

Tensor<double> random_tensor(const Shape& shape, Rng& rng) {
  Tensor<double> t(shape);
  for (auto& v : t.values()) v = rng.uniform(-1.0, 1.0);
  return t;
}

// L = sum_t <dy_t, y_t>, with h_t (the state step t produces) moved by `delta` [B,H] at
// step `at`: the rest of the sequence then runs from the moved state.
double loss_with_moved_state(const Recurrent<double>& m, const Tensor<double>& x,
                             const Tensor<double>& dy, int64_t at, const Tensor<double>& delta) {
  const bool lstm = m.config().mode == CellMode::LSTM;
  RecurrentState<double> state = m.initial_state(kB);
  double loss = 0.0;
  for (int64_t t = 0; t < kT; ++t) {
    RecurrentInput<double> in;
    in.x = Tensor<double>({1, kB, kI}, std::vector<double>(x.data() + t * kB * kI, x.data() + (t + 1) * kB * kI));
    in.h0 = state.h;
    if (lstm) in.c0 = state.c;
    RecurrentOutput<double> out = m.forward(in, Mode::Eval, nullptr, nullptr);
    state.h = out.h_n;
    if (lstm) state.c = out.c_n;
    if (t == at)
      for (int64_t i = 0; i < state.h.numel(); ++i) state.h[i] += delta[i];
    for (int64_t i = 0; i < kB * kH; ++i) loss += dy[t * kB * kH + i] * state.h[i];
  }
  return loss;
}

class GradientFlowCheck : public ::testing::TestWithParam<CellMode> {};

TEST_P(GradientFlowCheck, NormsMatchFiniteDifferences) {
  RecurrentConfig c;
  c.mode = GetParam();
  c.input_size = kI;
  c.hidden_size = kH;
  Parameters<double> store;
  Rng rng(17);
  Recurrent<double> m(c, store, rng);
  const Tensor<double> x = random_tensor({kT, kB, kI}, rng);
  const Tensor<double> dy = random_tensor({kT, kB, kH}, rng);  // random upstream, never ones

  const GradientFlow flow = dh_norms_by_steps<double>(m, x, dy);
  ASSERT_EQ(flow.size(), 1u);
  ASSERT_EQ(flow[0].size(), static_cast<size_t>(kT));
  const double eps = 1e-6;
  for (int64_t t = 0; t < kT; ++t) {
    double sq = 0.0;
    for (int64_t i = 0; i < kB * kH; ++i) {
      Tensor<double> d({kB, kH});
      d[i] = eps;
      const double up = loss_with_moved_state(m, x, dy, t, d);
      d[i] = -eps;
      const double down = loss_with_moved_state(m, x, dy, t, d);
      const double g = (up - down) / (2 * eps);
      sq += g * g;
    }
    const double expected = std::sqrt(sq);
    // Relative error bound 1e-7 (central differences in double on O(1) values).
    EXPECT_NEAR(flow[0][static_cast<size_t>(t)], expected, 1e-7 * std::max(1.0, expected))
        << to_string(c.mode) << " t=" << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, GradientFlowCheck,
                         ::testing::Values(CellMode::RNN_TANH, CellMode::RNN_RELU, CellMode::LSTM,
                                           CellMode::GRU),
                         [](const auto& param_info) { return to_string(param_info.param); });

TEST(GradientFlowHand, ReluRnnInItsLinearRegimeShrinksByTheRecurrentScale) {
  // h_t = relu(x_t W_ih^T + a h_{t-1}) with W_ih > 0, x > 0, zero biases, W_hh = a I: every
  // pre-activation is positive, so dh_{t-1} = a dh_t and, with the loss on the last step
  // only, ||dL/dh_t|| = a^(T-1-t) ||dy_{T-1}||. a = 1 is the IRNN: no decay at all.
  for (double a : {0.5, 1.0}) {
    RecurrentConfig c;
    c.mode = CellMode::RNN_RELU;
    c.input_size = kI;
    c.hidden_size = kH;
    Parameters<double> store;
    Rng rng(3);
    Recurrent<double> m(c, store, rng);
    init::identity<double>(store.value_view(store.id("weight_hh_l0")), a);
    init::uniform<double>(store.value_view(store.id("weight_ih_l0")), rng, 0.1, 1.0);
    init::constant<double>(store.value_view(store.id("bias_ih_l0")), 0.0);
    init::constant<double>(store.value_view(store.id("bias_hh_l0")), 0.0);
    Tensor<double> x({kT, kB, kI});
    for (auto& v : x.values()) v = rng.uniform(0.1, 1.0);
    Tensor<double> dy({kT, kB, kH});
    double last = 0.0;
    for (int64_t i = 0; i < kB * kH; ++i) {
      dy[(kT - 1) * kB * kH + i] = rng.uniform(-1.0, 1.0);
      last += dy[(kT - 1) * kB * kH + i] * dy[(kT - 1) * kB * kH + i];
    }
    last = std::sqrt(last);
    const GradientFlow flow = dh_norms_by_steps<double>(m, x, dy);
    for (int64_t t = 0; t < kT; ++t)
      EXPECT_NEAR(flow[0][static_cast<size_t>(t)], std::pow(a, static_cast<double>(kT - 1 - t)) * last, 1e-12)
          << "a=" << a << " t=" << t;
  }
}

TEST(GradientFlowHand, ParameterGradientsEqualOneBackwardOverTheSequence) {
  // The step-by-step pass accumulates the same parameter gradients as the layer's BPTT.
  RecurrentConfig c;
  c.mode = CellMode::LSTM;
  c.input_size = kI;
  c.hidden_size = kH;
  Parameters<double> store;
  Rng rng(8);
  Recurrent<double> m(c, store, rng);
  const Tensor<double> x = random_tensor({kT, kB, kI}, rng);
  const Tensor<double> dy = random_tensor({kT, kB, kH}, rng);
  dh_norms_by_steps<double>(m, x, dy);
  const std::vector<double> stepped(store.grads().begin(), store.grads().end());
  store.zero_grad();
  RecurrentInput<double> in;
  in.x = x;
  RecurrentCachePtr<double> cache;
  m.forward(in, Mode::Train, nullptr, &cache);
  RecurrentGradOutput<double> g;
  g.dy = dy;
  m.backward(*cache, g);
  for (size_t i = 0; i < stepped.size(); ++i) EXPECT_NEAR(stepped[i], store.grads()[i], 1e-12) << "grad " << i;
}

}  // namespace
}  // namespace rnn::diagnostics
