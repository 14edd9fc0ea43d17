// RecurrentGradInput::dh_norms (asked for with RecurrentGradOutput::record_dh_norms): the
// 2-norm over batch and units of dLoss/dh_t for every layer-direction and time index.
//
// Finite differences on a tiny double module: the loss as a function of h_t alone is
// dy_t . h_t (h_t is the output at t) plus the loss of the rest of the sequence run from
// state (h_t, c_t), which a second forward call over x[t+1..] with h0 = h_t gives exactly.
// Then the fast float path against the reference path (stacked, bidirectional, lengths) and
// its thread-count independence.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rnn/kernels/fast_recurrent.h"
#include "rnn/kernels/gemm.h"
#include "rnn/layers/recurrent.h"

namespace rnn {
namespace {

template <class T>
Tensor<T> random_t(const Shape& shape, Rng& rng) {
  Tensor<T> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(rng.uniform(-1.0, 1.0));
  return t;
}

// Rows [t0, t1) of a [T, B, F] tensor.
Tensor<double> time_slice(const Tensor<double>& x, int64_t t0, int64_t t1) {
  const int64_t B = x.dim(1), F = x.dim(2);
  Tensor<double> out({t1 - t0, B, F});
  std::copy(x.data() + t0 * B * F, x.data() + t1 * B * F, out.data());
  return out;
}

double dot(const double* a, const double* b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

class DhNormsFiniteDifference : public ::testing::TestWithParam<CellMode> {};

TEST_P(DhNormsFiniteDifference, SingleLayerDouble) {
  const CellMode mode = GetParam();
  const bool lstm = mode == CellMode::LSTM;
  const int64_t I = 3, H = 4, B = 2, T = 5;
  RecurrentConfig config;
  config.mode = mode;
  config.input_size = I;
  config.hidden_size = H;
  Rng rng(11);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  RecurrentInput<double> in;
  in.x = random_t<double>({T, B, I}, rng);
  in.h0 = random_t<double>({1, B, H}, rng);
  if (lstm) in.c0 = random_t<double>({1, B, H}, rng);
  RecurrentGradOutput<double> up;
  up.dy = random_t<double>({T, B, H}, rng);
  up.dh_n = random_t<double>({1, B, H}, rng);
  if (lstm) up.dc_n = random_t<double>({1, B, H}, rng);
  up.record_dh_norms = true;

  RecurrentCachePtr<double> cache;
  module.forward(in, Mode::Train, nullptr, &cache);
  const RecurrentGradInput<double> g = module.backward(*cache, up);
  ASSERT_EQ(g.dh_norms.shape(), (Shape{1, T}));

  for (int64_t t = 0; t < T; ++t) {
    // State after time t.
    RecurrentInput<double> prefix = in;
    prefix.x = time_slice(in.x, 0, t + 1);
    const RecurrentOutput<double> pre = module.forward(prefix, Mode::Eval, nullptr, nullptr);
    // Loss of the part after t as a function of h_t.
    auto rest = [&](const Tensor<double>& h) {
      if (t == T - 1) return dot(h.data(), up.dh_n.data(), B * H);
      RecurrentInput<double> suffix;
      suffix.x = time_slice(in.x, t + 1, T);
      suffix.h0 = h;
      if (lstm) suffix.c0 = pre.c_n;
      const RecurrentOutput<double> out = module.forward(suffix, Mode::Eval, nullptr, nullptr);
      double loss = dot(out.y.data(), up.dy.data() + (t + 1) * B * H, (T - t - 1) * B * H);
      loss += dot(out.h_n.data(), up.dh_n.data(), B * H);
      if (lstm) loss += dot(out.c_n.data(), up.dc_n.data(), B * H);
      return loss;
    };
    double sum = 0.0;
    const double eps = 1e-6;
    for (int64_t i = 0; i < B * H; ++i) {
      Tensor<double> hp = pre.h_n, hm = pre.h_n;
      hp[i] += eps;
      hm[i] -= eps;
      const double grad = up.dy[t * B * H + i] + (rest(hp) - rest(hm)) / (2 * eps);
      sum += grad * grad;
    }
    const double expected = std::sqrt(sum);
    EXPECT_NEAR(g.dh_norms[t], expected, 1e-7 * (1.0 + expected)) << to_string(mode) << " t=" << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Cells, DhNormsFiniteDifference,
                         ::testing::Values(CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH,
                                           CellMode::RNN_RELU),
                         [](const auto& p) { return to_string(p.param); });

TEST(DhNorms, EmptyUnlessAsked) {
  RecurrentConfig config;
  config.mode = CellMode::GRU;
  config.input_size = 3;
  config.hidden_size = 5;
  Rng rng(2);
  Parameters<float> store;
  Recurrent<float> module(config, store, rng);
  RecurrentInput<float> in;
  in.x = random_t<float>({4, 2, 3}, rng);
  RecurrentCachePtr<float> cache;
  module.forward(in, Mode::Train, nullptr, &cache);
  RecurrentGradOutput<float> up;
  up.dy = random_t<float>({4, 2, 5}, rng);
  EXPECT_TRUE(module.backward(*cache, up).dh_norms.empty());
}

// Stacked and bidirectional with lengths: the fast float path (few and many rows) gives the
// reference path's norms, and the same bits at one and two threads.
Tensor<float> norms_of(CellMode mode, int64_t batch, kernels::Backend backend, int threads) {
  kernels::ScopedBackend scoped(backend);
  kernels::set_num_threads(threads);
  kernels::set_min_parallel_step_macs(1);  // the threaded loops on this small shape too
  RecurrentConfig config;
  config.mode = mode;
  config.input_size = 6;
  config.hidden_size = 80;
  config.num_layers = 2;
  config.bidirectional = true;
  Rng rng(7);
  Parameters<float> store;
  Recurrent<float> module(config, store, rng);
  const int64_t T = 6;
  RecurrentInput<float> in;
  in.x = random_t<float>({T, batch, 6}, rng);
  for (int64_t b = 0; b < batch; ++b) in.lengths.push_back(1 + (b * 5 + 2) % T);
  RecurrentCachePtr<float> cache;
  module.forward(in, Mode::Train, nullptr, &cache);
  RecurrentGradOutput<float> up;
  up.dy = random_t<float>({T, batch, 160}, rng);
  up.dh_n = random_t<float>({4, batch, 80}, rng);
  if (mode == CellMode::LSTM) up.dc_n = random_t<float>({4, batch, 80}, rng);
  up.record_dh_norms = true;
  Tensor<float> norms = module.backward(*cache, up).dh_norms;
  kernels::set_num_threads(0);
  kernels::set_min_parallel_step_macs(0);
  return norms;
}

TEST(DhNorms, FastPathEqualsReferenceAndThreadCount) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast path is not used";
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH}) {
    for (int64_t batch : {3, 17}) {
      const Tensor<float> ref = norms_of(mode, batch, kernels::Backend::Reference, 1);
      const Tensor<float> fast1 = norms_of(mode, batch, kernels::Backend::Blas, 1);
      const Tensor<float> fast2 = norms_of(mode, batch, kernels::Backend::Blas, 2);
      ASSERT_EQ(ref.shape(), (Shape{4, 6}));
      ASSERT_EQ(fast1.shape(), ref.shape());
      for (int64_t i = 0; i < ref.numel(); ++i) {
        EXPECT_NEAR(fast1[i], ref[i], 1e-5 + 1e-4 * std::abs(ref[i]))
            << to_string(mode) << " B=" << batch << " i=" << i;
        EXPECT_GT(ref[i], 0.0f);
      }
      EXPECT_EQ(fast1.values(), fast2.values()) << to_string(mode) << " B=" << batch;
    }
  }
}

}  // namespace
}  // namespace rnn
