// Properties every recurrent cell must keep (DESIGN.md section 3, "contract").
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rnn/kernels/gemm.h"
#include "rnn/layers/recurrent.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace rnn {
namespace {

constexpr double kTight = 1e-12;  // double precision, same arithmetic up to reassociation

RecurrentConfig make_config(CellMode mode, int64_t layers, bool bi, int64_t proj = 0) {
  RecurrentConfig c;
  c.mode = mode;
  c.input_size = 3;
  c.hidden_size = 5;
  c.num_layers = layers;
  c.bidirectional = bi;
  c.proj_size = proj;
  return c;
}

// Copies rows [t0, t1) of a [T, B, F] tensor.
Tensor<double> time_slice(const Tensor<double>& x, int64_t t0, int64_t t1) {
  const int64_t B = x.dim(1), F = x.dim(2);
  Tensor<double> out({t1 - t0, B, F});
  std::copy(x.data() + t0 * B * F, x.data() + t1 * B * F, out.data());
  return out;
}

// Copies batch row b of a [T, B, F] tensor (first `steps` steps) as [steps, 1, F].
Tensor<double> batch_row(const Tensor<double>& x, int64_t b, int64_t steps, int axis = 1) {
  if (axis == 0) {  // states [DL, B, F]
    const int64_t DL = x.dim(0), B = x.dim(1), F = x.dim(2);
    Tensor<double> out({DL, 1, F});
    for (int64_t l = 0; l < DL; ++l)
      std::copy(x.data() + (l * B + b) * F, x.data() + (l * B + b + 1) * F, out.data() + l * F);
    return out;
  }
  const int64_t B = x.dim(1), F = x.dim(2);
  Tensor<double> out({steps, 1, F});
  for (int64_t t = 0; t < steps; ++t)
    std::copy(x.data() + (t * B + b) * F, x.data() + (t * B + b + 1) * F, out.data() + t * F);
  return out;
}

class RecurrentContract : public ::testing::TestWithParam<CellMode> {};

const std::vector<CellMode> kModes = {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH,
                                      CellMode::RNN_RELU};

TEST_P(RecurrentContract, SteppingEqualsWholeSequence) {
  const CellMode mode = GetParam();
  const int64_t proj = mode == CellMode::LSTM ? 2 : 0;
  const RecurrentConfig config = make_config(mode, 2, false, proj);
  Rng rng(7);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  RecurrentInput<double> input;
  input.x = test::random_tensor({6, 2, 3}, rng);
  const auto whole = module.forward(input, Mode::Eval, nullptr, nullptr);

  auto state = module.initial_state(2);
  for (int64_t t = 0; t < 6; ++t) {
    Tensor<double> x_t({2, 3});
    std::copy(input.x.data() + t * 6, input.x.data() + (t + 1) * 6, x_t.data());
    const Tensor<double> y_t = module.step(x_t, state);
    const Tensor<double> expected = time_slice(whole.y, t, t + 1).reshape({2, config.output_hidden()});
    EXPECT_TRUE(test::all_close("y at step " + std::to_string(t), y_t, expected, kTight, kTight));
  }
  EXPECT_TRUE(test::all_close("h after stepping", state.h, whole.h_n, kTight, kTight));
  if (mode == CellMode::LSTM) {
    EXPECT_TRUE(test::all_close("c after stepping", state.c, whole.c_n, kTight, kTight));
  }
}

TEST_P(RecurrentContract, BatchEqualsRowsRunAlone) {
  const CellMode mode = GetParam();
  const RecurrentConfig config = make_config(mode, 2, true);
  Rng rng(8);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  const bool lstm = mode == CellMode::LSTM;
  RecurrentInput<double> input;
  input.x = test::random_tensor({5, 3, 3}, rng);
  input.h0 = test::random_tensor({4, 3, 5}, rng);
  if (lstm) input.c0 = test::random_tensor({4, 3, 5}, rng);
  input.lengths = {3, 5, 1};
  RecurrentCachePtr<double> cache;
  const auto batched = module.forward(input, Mode::Eval, nullptr, &cache);
  RecurrentGradOutput<double> up;
  up.dy = test::random_tensor(batched.y.shape(), rng);
  up.dh_n = test::random_tensor(batched.h_n.shape(), rng);
  const auto batched_grads = module.backward(*cache, up);

  for (int64_t b = 0; b < 3; ++b) {
    const int64_t len = input.lengths[static_cast<size_t>(b)];
    RecurrentInput<double> alone;
    alone.x = batch_row(input.x, b, len);
    alone.h0 = batch_row(input.h0, b, 0, 0);
    if (lstm) alone.c0 = batch_row(input.c0, b, 0, 0);
    RecurrentCachePtr<double> row_cache;
    const auto out = module.forward(alone, Mode::Eval, nullptr, &row_cache);
    const std::string row = " of row " + std::to_string(b);
    EXPECT_TRUE(test::all_close("y" + row, out.y, batch_row(batched.y, b, len), kTight, kTight));
    // Padded outputs are exactly zero.
    for (int64_t t = len; t < 5; ++t)
      for (int64_t j = 0; j < 10; ++j) EXPECT_EQ(batched.y.at(t, b, j), 0.0) << "t=" << t;
    EXPECT_TRUE(test::all_close("h_n" + row, out.h_n, batch_row(batched.h_n, b, 0, 0), kTight, kTight));
    RecurrentGradOutput<double> row_up;
    row_up.dy = batch_row(up.dy, b, len);
    row_up.dh_n = batch_row(up.dh_n, b, 0, 0);
    const auto grads = module.backward(*row_cache, row_up);
    EXPECT_TRUE(test::all_close("dx" + row, grads.dx, batch_row(batched_grads.dx, b, len), kTight, kTight));
    EXPECT_TRUE(test::all_close("dh0" + row, grads.dh0, batch_row(batched_grads.dh0, b, 0, 0), kTight, kTight));
  }
}

TEST_P(RecurrentContract, WindowsWithCarriedStateEqualFullBptt) {
  const CellMode mode = GetParam();
  const bool lstm = mode == CellMode::LSTM;
  const RecurrentConfig config = make_config(mode, 2, false, lstm ? 2 : 0);
  Rng rng(9);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  RecurrentInput<double> full;
  full.x = test::random_tensor({8, 2, 3}, rng);
  RecurrentCachePtr<double> full_cache;
  const auto full_out = module.forward(full, Mode::Eval, nullptr, &full_cache);
  RecurrentGradOutput<double> up;
  up.dy = test::random_tensor(full_out.y.shape(), rng);
  store.zero_grad();
  module.backward(*full_cache, up);
  const std::vector<double> full_grads(store.grads().begin(), store.grads().end());

  // Two windows of 4 with the state carried forward; then backward through the second
  // window, its dh0/dc0 fed as dh_n/dc_n of the first: exact BPTT across the edge.
  RecurrentInput<double> w1, w2;
  w1.x = time_slice(full.x, 0, 4);
  w2.x = time_slice(full.x, 4, 8);
  RecurrentCachePtr<double> c1, c2;
  const auto o1 = module.forward(w1, Mode::Eval, nullptr, &c1);
  w2.h0 = o1.h_n;
  w2.c0 = o1.c_n;
  const auto o2 = module.forward(w2, Mode::Eval, nullptr, &c2);
  EXPECT_TRUE(test::all_close("y window 1", o1.y, time_slice(full_out.y, 0, 4), kTight, kTight));
  EXPECT_TRUE(test::all_close("y window 2", o2.y, time_slice(full_out.y, 4, 8), kTight, kTight));
  EXPECT_TRUE(test::all_close("h_n", o2.h_n, full_out.h_n, kTight, kTight));

  store.zero_grad();
  RecurrentGradOutput<double> up2;
  up2.dy = time_slice(up.dy, 4, 8);
  const auto g2 = module.backward(*c2, up2);
  // Truncated BPTT stops here: the second window's weight gradients differ from the full ones.
  const std::vector<double> truncated(store.grads().begin(), store.grads().end());
  RecurrentGradOutput<double> up1;
  up1.dy = time_slice(up.dy, 0, 4);
  up1.dh_n = g2.dh0;
  up1.dc_n = g2.dc0;
  module.backward(*c1, up1);
  EXPECT_TRUE(test::all_close("weight grads, windows joined", std::span<const double>(store.grads()),
                              std::span<const double>(full_grads), 1e-12, 1e-10));
  double difference = 0.0;
  for (size_t i = 0; i < truncated.size(); ++i) difference += std::abs(truncated[i] - full_grads[i]);
  EXPECT_GT(difference, 1e-6) << "truncation should change the weight gradients";
}

TEST_P(RecurrentContract, BackwardAccumulates) {
  const CellMode mode = GetParam();
  const RecurrentConfig config = make_config(mode, 1, true);
  Rng rng(10);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  RecurrentInput<double> input;
  input.x = test::random_tensor({4, 2, 3}, rng);
  RecurrentCachePtr<double> cache;
  const auto out = module.forward(input, Mode::Eval, nullptr, &cache);
  RecurrentGradOutput<double> up;
  up.dy = test::random_tensor(out.y.shape(), rng);
  store.zero_grad();
  module.backward(*cache, up);
  const std::vector<double> once(store.grads().begin(), store.grads().end());
  module.backward(*cache, up);
  for (size_t i = 0; i < once.size(); ++i) ASSERT_NEAR(store.grads()[i], 2 * once[i], 1e-12) << i;
}

TEST_P(RecurrentContract, BlasPathEqualsReferencePath) {
  const CellMode mode = GetParam();
  const bool lstm = mode == CellMode::LSTM;
  const RecurrentConfig config = make_config(mode, 2, true, lstm ? 3 : 0);
  Rng rng(11);
  Parameters<float> store;
  Recurrent<float> module(config, store, rng);
  RecurrentInput<float> input;
  input.x = test::random_tensor_f({7, 3, 3}, rng);
  input.lengths = {7, 2, 5};
  auto run = [&](kernels::Backend backend) {
    kernels::ScopedBackend scoped(backend);
    RecurrentCachePtr<float> cache;
    auto out = module.forward(input, Mode::Eval, nullptr, &cache);
    RecurrentGradOutput<float> up;
    Rng up_rng(3);
    up.dy = test::random_tensor_f(out.y.shape(), up_rng);
    store.zero_grad();
    auto grads = module.backward(*cache, up);
    return std::make_tuple(out.y, grads.dx, std::vector<float>(store.grads().begin(), store.grads().end()));
  };
  const auto [y_blas, dx_blas, g_blas] = run(kernels::Backend::Blas);
  const auto [y_ref, dx_ref, g_ref] = run(kernels::Backend::Reference);
  EXPECT_TRUE(test::all_close("y", y_blas, y_ref, 1e-6, 1e-5));
  EXPECT_TRUE(test::all_close("dx", dx_blas, dx_ref, 1e-6, 1e-5));
  const std::vector<double> gb(g_blas.begin(), g_blas.end()), gr(g_ref.begin(), g_ref.end());
  EXPECT_TRUE(test::all_close("parameter grads", gb, gr, 1e-6, 1e-5));
}

TEST_P(RecurrentContract, FloatAgreesWithDouble) {
  const CellMode mode = GetParam();
  const RecurrentConfig config = make_config(mode, 2, true);
  Rng rng_f(12), rng_d(12);
  Parameters<float> sf;
  Parameters<double> sd;
  Recurrent<float> mf(config, sf, rng_f);
  Recurrent<double> md(config, sd, rng_d);
  for (size_t i = 0; i < sd.numel(); ++i) sd.values()[i] = sf.values()[i];
  Rng rng(13);
  RecurrentInput<double> xd;
  xd.x = test::random_tensor({5, 2, 3}, rng);
  RecurrentInput<float> xf;
  xf.x = xd.x.cast<float>();
  const auto yf = mf.forward(xf, Mode::Eval, nullptr, nullptr);
  const auto yd = md.forward(xd, Mode::Eval, nullptr, nullptr);
  EXPECT_TRUE(test::all_close("y float vs double", yf.y, yd.y, 1e-5, 1e-4));
}

INSTANTIATE_TEST_SUITE_P(Cells, RecurrentContract, ::testing::ValuesIn(kModes),
                         [](const auto& param_info) { return to_string(param_info.param); });

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// With every weight zero, each gate is a constant set by its biases: hand formulas.
TEST(RecurrentClosedForm, LstmWithZeroWeightsFollowsGateBiases) {
  RecurrentConfig config = make_config(CellMode::LSTM, 1, false);
  Rng rng(1);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  for (double& v : store.values()) v = 0.0;
  double* b_ih = store.value(store.id("bias_ih_l0"));
  const double bi = 0.3, bf = 1.2, bg = -0.7, bo = 0.5;
  for (int j = 0; j < 5; ++j) {
    b_ih[j] = bi;
    b_ih[5 + j] = bf;
    b_ih[10 + j] = bg;
    b_ih[15 + j] = bo;
  }
  RecurrentInput<double> input;
  input.x = test::random_tensor({6, 1, 3}, rng);
  const auto out = module.forward(input, Mode::Eval, nullptr, nullptr);
  double c = 0.0;
  for (int t = 0; t < 6; ++t) {
    c = sigmoid(bf) * c + sigmoid(bi) * std::tanh(bg);
    const double h = sigmoid(bo) * std::tanh(c);
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(out.y.at(t, 0, j), h, 1e-14) << "t=" << t;
  }
}

TEST(RecurrentClosedForm, GruWithZeroWeightsFollowsGateBiases) {
  RecurrentConfig config = make_config(CellMode::GRU, 1, false);
  Rng rng(2);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  for (double& v : store.values()) v = 0.0;
  double* b_ih = store.value(store.id("bias_ih_l0"));
  double* b_hh = store.value(store.id("bias_hh_l0"));
  const double br = 0.4, bz = -0.2, bin = 0.9, bhn = -0.6;
  for (int j = 0; j < 5; ++j) {
    b_ih[j] = br;
    b_ih[5 + j] = bz;
    b_ih[10 + j] = bin;
    b_hh[10 + j] = bhn;
  }
  RecurrentInput<double> input;
  input.x = test::random_tensor({5, 1, 3}, rng);
  input.h0 = Tensor<double>({1, 1, 5}, 0.25);
  const auto out = module.forward(input, Mode::Eval, nullptr, nullptr);
  double h = 0.25;
  for (int t = 0; t < 5; ++t) {
    const double r = sigmoid(br), z = sigmoid(bz), n = std::tanh(bin + r * bhn);
    h = (1 - z) * n + z * h;
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(out.y.at(t, 0, j), h, 1e-14) << "t=" << t;
  }
}

TEST(RecurrentClosedForm, ReluRnnWithIdentityRecurrenceSums) {
  // IRNN: W_hh = I, W_ih = [1 0 0] per unit, no bias: h_t = relu(h_{t-1} + x_t[0]).
  RecurrentConfig config = make_config(CellMode::RNN_RELU, 1, false);
  config.bias = false;
  Rng rng(3);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  for (double& v : store.values()) v = 0.0;
  double* w_ih = store.value(store.id("weight_ih_l0"));
  double* w_hh = store.value(store.id("weight_hh_l0"));
  for (int j = 0; j < 5; ++j) {
    w_ih[j * 3] = 1.0;
    w_hh[j * 5 + j] = 1.0;
  }
  RecurrentInput<double> input;
  input.x = Tensor<double>({4, 1, 3});
  const double xs[4] = {0.5, 0.25, -1.0, 2.0};
  for (int t = 0; t < 4; ++t) input.x.at(t, 0, 0) = xs[t];
  const auto out = module.forward(input, Mode::Eval, nullptr, nullptr);
  double h = 0.0;
  for (int t = 0; t < 4; ++t) {
    h = std::max(0.0, h + xs[t]);
    EXPECT_DOUBLE_EQ(out.y.at(t, 0, 2), h);
  }
}

}  // namespace
}  // namespace rnn
