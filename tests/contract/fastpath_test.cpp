// The fast (fused AVX2) float path against the plain reference path, thread-count
// independence, the streaming stepper, and the accuracy of the vectorised exp/sigmoid/tanh.
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "rnn/kernels/fast_recurrent.h"
#include "rnn/kernels/gemm.h"
#include "rnn/layers/recurrent.h"
#include "support/compare.h"

namespace rnn {
namespace {

struct Case {
  CellMode mode;
  int64_t input, hidden, batch, steps, layers;
  bool bidirectional;
  bool lengths;
};

std::string case_name(const Case& c) {
  return to_string(c.mode) + "_I" + std::to_string(c.input) + "_H" + std::to_string(c.hidden) +
         "_B" + std::to_string(c.batch) + "_T" + std::to_string(c.steps) + "_L" +
         std::to_string(c.layers) + (c.bidirectional ? "_bi" : "") + (c.lengths ? "_len" : "");
}

Tensor<float> random_f(const Shape& shape, Rng& rng) {
  Tensor<float> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return t;
}

struct RunResult {
  Tensor<float> y, h_n, c_n, dx, dh0, dc0;
  std::vector<float> grads;
};

RunResult run_case(const Case& k, kernels::Backend backend, uint64_t seed = 5) {
  RecurrentConfig config;
  config.mode = k.mode;
  config.input_size = k.input;
  config.hidden_size = k.hidden;
  config.num_layers = k.layers;
  config.bidirectional = k.bidirectional;
  Rng rng(seed);
  Parameters<float> store;
  Recurrent<float> module(config, store, rng);
  const int64_t DL = config.directions() * k.layers;
  RecurrentInput<float> in;
  in.x = random_f({k.steps, k.batch, k.input}, rng);
  in.h0 = random_f({DL, k.batch, k.hidden}, rng);
  if (k.mode == CellMode::LSTM) in.c0 = random_f({DL, k.batch, k.hidden}, rng);
  if (k.lengths) {
    for (int64_t b = 0; b < k.batch; ++b) in.lengths.push_back(1 + (b * 5 + 3) % k.steps);
    in.lengths[0] = k.steps;
  }
  kernels::ScopedBackend scoped(backend);
  RecurrentCachePtr<float> cache;
  RunResult r;
  auto out = module.forward(in, Mode::Train, &rng, &cache);
  RecurrentGradOutput<float> up;
  up.dy = random_f(out.y.shape(), rng);
  up.dh_n = random_f(out.h_n.shape(), rng);
  if (k.mode == CellMode::LSTM) up.dc_n = random_f(out.c_n.shape(), rng);
  store.zero_grad();
  auto g = module.backward(*cache, up);
  r.y = out.y;
  r.h_n = out.h_n;
  r.c_n = out.c_n;
  r.dx = g.dx;
  r.dh0 = g.dh0;
  r.dc0 = g.dc0;
  r.grads.assign(store.grads().begin(), store.grads().end());
  return r;
}

class FastPath : public ::testing::TestWithParam<Case> {};

// Every output and gradient of the fast path `f` within the fp32 parity tolerance of the
// reference path's `r`.
void expect_within_parity(const Case& k, const RunResult& f, const RunResult& r) {
  const double atol = 1e-5, rtol = 1e-4;
  EXPECT_TRUE(test::all_close("y", f.y, r.y, atol, rtol));
  EXPECT_TRUE(test::all_close("h_n", f.h_n, r.h_n, atol, rtol));
  EXPECT_TRUE(test::all_close("dx", f.dx, r.dx, atol, rtol));
  EXPECT_TRUE(test::all_close("dh0", f.dh0, r.dh0, atol, rtol));
  if (k.mode == CellMode::LSTM) {
    EXPECT_TRUE(test::all_close("c_n", f.c_n, r.c_n, atol, rtol));
    EXPECT_TRUE(test::all_close("dc0", f.dc0, r.dc0, atol, rtol));
  }
  const std::vector<double> gf(f.grads.begin(), f.grads.end()), gr(r.grads.begin(), r.grads.end());
  EXPECT_TRUE(test::all_close("parameter grads", gf, gr, atol, rtol));
}

// The fused path agrees with the reference path within the fp32 parity tolerance.
TEST_P(FastPath, EqualsReferencePath) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast path is not used";
  const Case k = GetParam();
  const RunResult f = run_case(k, kernels::Backend::Blas);
  const RunResult r = run_case(k, kernels::Backend::Reference);
  expect_within_parity(k, f, r);
}

// The same with the L2 taken to hold 4 KiB: every weight matrix is then larger than it, so
// the steps and products take the choices made for weights from L3 (below batch 32 the input
// product apart from the steps and on OpenBLAS, from 32 on the tiles whatever W_ih's size;
// one block order; the next weights prefetched into L2 as the tiles run).
TEST_P(FastPath, EqualsReferencePathWithWeightsBeyondL2) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast path is not used";
  const Case k = GetParam();
  kernels::fast::set_l2_cache_bytes(4096);
  const RunResult f = run_case(k, kernels::Backend::Blas);
  kernels::fast::set_l2_cache_bytes(0);
  const RunResult r = run_case(k, kernels::Backend::Reference);
  expect_within_parity(k, f, r);
}

// Results are bit-identical at 1 and 2 threads (the threaded loops forced on every shape),
// with the steps shared by units and, from 16 rows, by rows.
TEST_P(FastPath, IndependentOfThreadCount) {
  const Case k = GetParam();
  kernels::set_min_parallel_step_macs(1);
  kernels::set_num_threads(1);
  const RunResult one = run_case(k, kernels::Backend::Blas);
  kernels::set_num_threads(2);
  for (const auto split : {kernels::StepSplit::Units, kernels::StepSplit::Rows}) {
    kernels::set_step_split(split);
    const RunResult two = run_case(k, kernels::Backend::Blas);
    SCOPED_TRACE(split == kernels::StepSplit::Units ? "split by units" : "split by rows");
    EXPECT_EQ(one.y.values(), two.y.values());
    EXPECT_EQ(one.h_n.values(), two.h_n.values());
    EXPECT_EQ(one.c_n.values(), two.c_n.values());
    EXPECT_EQ(one.dx.values(), two.dx.values());
    EXPECT_EQ(one.dh0.values(), two.dh0.values());
    EXPECT_EQ(one.dc0.values(), two.dc0.values());
    EXPECT_EQ(one.grads, two.grads);
  }
  kernels::set_step_split(kernels::StepSplit::Auto);
  kernels::set_num_threads(0);
  kernels::set_min_parallel_step_macs(0);
}

// The AVX-512 tiles sum the same products in the same order as the AVX2 ones: bit-identical.
TEST_P(FastPath, Avx512EqualsAvx2) {
  if (!kernels::fast::avx512_available()) GTEST_SKIP() << "no AVX-512F";
  const Case k = GetParam();
  const RunResult wide = run_case(k, kernels::Backend::Blas);
  kernels::fast::enable_avx512(false);
  const RunResult narrow = run_case(k, kernels::Backend::Blas);
  kernels::fast::enable_avx512(true);
  EXPECT_EQ(wide.y.values(), narrow.y.values());
  EXPECT_EQ(wide.h_n.values(), narrow.h_n.values());
  EXPECT_EQ(wide.dx.values(), narrow.dx.values());
  EXPECT_EQ(wide.dh0.values(), narrow.dh0.values());
  EXPECT_EQ(wide.grads, narrow.grads);
}

const std::vector<Case> kCases = {
    {CellMode::LSTM, 5, 13, 5, 7, 2, true, true},
    {CellMode::GRU, 5, 13, 5, 7, 2, true, true},
    {CellMode::RNN_TANH, 5, 37, 5, 7, 2, true, true},
    {CellMode::RNN_RELU, 5, 13, 4, 6, 1, false, true},
    {CellMode::LSTM, 33, 40, 1, 6, 1, false, false},
    {CellMode::GRU, 33, 40, 1, 6, 1, true, false},
    {CellMode::RNN_TANH, 9, 70, 7, 5, 1, false, false},
    // Large enough for the threaded loops at any reasonable threshold (B*G*H*H >= 2^23).
    {CellMode::LSTM, 64, 512, 9, 3, 1, true, true},
    {CellMode::GRU, 64, 600, 8, 3, 1, false, true},
    {CellMode::RNN_TANH, 64, 1100, 7, 3, 1, false, false},
    // From 16 rows on the per-step product runs on 6 x 16 tiles over 16-column panels, with
    // the input product in the same tiles while I + H <= 1024 (these; multi-layer and
    // bidirectional included) and from a separate product over all steps above (next three).
    {CellMode::LSTM, 7, 20, 17, 5, 2, true, true},
    {CellMode::GRU, 7, 13, 16, 5, 1, true, true},
    {CellMode::RNN_RELU, 7, 70, 16, 5, 1, false, true},
    {CellMode::RNN_TANH, 7, 9, 18, 4, 1, false, false},
    {CellMode::LSTM, 32, 128, 16, 4, 1, false, true},
    {CellMode::GRU, 32, 136, 20, 3, 1, true, false},
    {CellMode::GRU, 600, 450, 16, 2, 1, false, true},
    {CellMode::LSTM, 700, 330, 17, 2, 1, true, false},
    {CellMode::RNN_TANH, 1000, 40, 16, 3, 2, false, true},
    // AVX-512 row tiles over a group's panels side by side plus a tail: LSTM 4 panels in
    // 6-row tiles (43 = 7 x 6 + 1), GRU 3 panels (input apart) in 8-row tiles (43 = 5 x 8 + 3).
    {CellMode::LSTM, 16, 48, 43, 4, 1, false, true},
    {CellMode::GRU, 1000, 40, 43, 3, 1, false, true},
    // (The AVX-512 LSTM/GRU epilogues take 4 rows at a time: 43 = 10 x 4 + 3.) An RNN's full
    // 64-unit groups and a part one (130 = 2 x 64 + 2) with tanh on the panel path.
    {CellMode::RNN_TANH, 11, 130, 19, 3, 1, true, true},
};
INSTANTIATE_TEST_SUITE_P(Shapes, FastPath, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return case_name(p.param); });

// The packing of the weights is reused between calls only while they are unchanged: a change
// in place to any weight or bias (as an optimizer step makes) is seen by the next call, in the
// batch-1 layout, the panel layout with the input product fused, and the one without.
TEST(FastPathPacking, WeightChangesAreSeenByTheNextCall) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast path is not used";
  struct Shape3 {
    int64_t input, hidden, batch;
  };
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH}) {
    for (const Shape3& sh : {Shape3{6, 11, 1}, Shape3{6, 11, 16}, Shape3{1100, 9, 16}}) {
      RecurrentConfig config;
      config.mode = mode;
      config.input_size = sh.input;
      config.hidden_size = sh.hidden;
      Rng rng(3);
      Parameters<float> store;
      Recurrent<float> module(config, store, rng);
      RecurrentInput<float> in;
      in.x = random_f({4, sh.batch, sh.input}, rng);
      std::vector<float> previous = module.forward(in, Mode::Eval, nullptr, nullptr).y.values();
      for (size_t p = 0; p < store.size(); ++p) {
        const ParamId id{p};
        const size_t n = store.info(id).numel;
        store.value(id)[n / 2] += 0.25f;
        const std::vector<float> fast_y = module.forward(in, Mode::Eval, nullptr, nullptr).y.values();
        kernels::ScopedBackend reference(kernels::Backend::Reference);
        const std::vector<float> ref_y = module.forward(in, Mode::Eval, nullptr, nullptr).y.values();
        const std::string what = to_string(mode) + " B" + std::to_string(sh.batch) + " I" +
                                 std::to_string(sh.input) + " after changing " + store.info(id).name;
        EXPECT_NE(fast_y, previous) << what;
        EXPECT_TRUE(test::all_close(what, std::vector<double>(fast_y.begin(), fast_y.end()),
                                    std::vector<double>(ref_y.begin(), ref_y.end()), 1e-5, 1e-4));
        previous = fast_y;
      }
    }
  }
}

// A NaN weight (a diverged model's) gives NaN outputs where the reference path does, on the
// batch-1 and the panel path alike: the gate functions and ReLU must not turn it into a finite
// value (max(0, x) with the zero first, as std::max(x, 0) passes a NaN x on).
TEST(FastPath, NaNWeightGivesNaNLikeTheReferencePath) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast path is not used";
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH, CellMode::RNN_RELU}) {
    for (int64_t batch : {1, 16}) {
      RecurrentConfig config;
      config.mode = mode;
      config.input_size = 5;
      config.hidden_size = 24;
      Rng rng(8);
      Parameters<float> store;
      Recurrent<float> module(config, store, rng);
      store.value(ParamId{1})[7] = std::numeric_limits<float>::quiet_NaN();  // weight_hh_l0
      RecurrentInput<float> in;
      in.x = random_f({3, batch, 5}, rng);
      const std::vector<float> fast_y = module.forward(in, Mode::Eval, nullptr, nullptr).y.values();
      kernels::ScopedBackend reference(kernels::Backend::Reference);
      const std::vector<float> ref_y = module.forward(in, Mode::Eval, nullptr, nullptr).y.values();
      const std::string what = to_string(mode) + " B" + std::to_string(batch);
      EXPECT_EQ(store.info(ParamId{1}).name, "weight_hh_l0") << what;
      int nans = 0, differ = 0;
      for (size_t i = 0; i < ref_y.size(); ++i) {
        nans += std::isnan(ref_y[i]) ? 1 : 0;
        differ += std::isnan(fast_y[i]) != std::isnan(ref_y[i]) ? 1 : 0;
      }
      EXPECT_GT(nans, 0) << what;
      EXPECT_EQ(differ, 0) << what << ": outputs NaN on one path only";
    }
  }
}

// Where the fast path checks x inside its steps (input product fused), a NaN or Inf anywhere
// in x gives the error of the separate check: the same value and flat index, in either
// layout, at 1 and 2 threads; nothing is returned.
TEST(FastPath, NonFiniteInputNamedLikeTheSeparateCheck) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA: the fast path is not used";
  auto error_of = [](const Recurrent<float>& module, const RecurrentInput<float>& in) {
    try {
      module.forward(in, Mode::Eval, nullptr, nullptr);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  kernels::set_min_parallel_step_macs(1);
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH}) {
    for (int64_t batch : {1, 16, 40}) {
      for (bool batch_first : {false, true}) {
        RecurrentConfig config;
        config.mode = mode;
        config.input_size = 7;
        config.hidden_size = 20;
        config.num_layers = 2;
        config.bidirectional = true;
        config.batch_first = batch_first;
        Rng rng(4);
        Parameters<float> store;
        Recurrent<float> module(config, store, rng);
        const int64_t steps = 5;
        RecurrentInput<float> in;
        in.x = random_f(batch_first ? Shape{batch, steps, 7} : Shape{steps, batch, 7}, rng);
        const int64_t n = in.x.numel();
        for (int64_t at : {int64_t{0}, n / 2 + 3, n - 1}) {
          for (float bad :
               {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
            RecurrentInput<float> dirty = in;
            dirty.x[at] = bad;
            std::string expected;
            {
              kernels::ScopedBackend reference(kernels::Backend::Reference);
              expected = error_of(module, dirty);
            }
            const std::string what = to_string(mode) + " B" + std::to_string(batch) +
                                     (batch_first ? " batch_first" : "") + " at " +
                                     std::to_string(at);
            EXPECT_NE(expected.find("input x holds a non-finite value"), std::string::npos)
                << expected;
            EXPECT_NE(expected.find("at flat index " + std::to_string(at)), std::string::npos)
                << expected;
            for (int threads : {1, 2}) {
              kernels::set_num_threads(threads);
              EXPECT_EQ(error_of(module, dirty), expected) << what << ", " << threads << " threads";
            }
          }
        }
      }
    }
  }
  kernels::set_num_threads(0);
  kernels::set_min_parallel_step_macs(0);
}

// The stepper (float fused path, float plain path with projection, double) equals forward.
template <class T>
void check_stepper(CellMode mode, int64_t proj, double atol, double rtol, int64_t hidden = 11) {
  RecurrentConfig config;
  config.mode = mode;
  config.input_size = 6;
  config.hidden_size = hidden;
  config.num_layers = 2;
  config.proj_size = proj;
  Rng rng(21);
  Parameters<T> store;
  Recurrent<T> module(config, store, rng);
  const int64_t steps = 6, batch = 3;
  RecurrentInput<T> in;
  in.x = Tensor<T>({steps, batch, 6});
  for (int64_t i = 0; i < in.x.numel(); ++i) in.x[i] = static_cast<T>(rng.uniform(-1.0, 1.0));
  const auto full = module.forward(in, Mode::Eval, nullptr, nullptr);
  RecurrentStepper<T> stepper(module, batch);
  const int64_t Hout = config.output_hidden();
  Tensor<T> ys({steps, batch, Hout});
  for (int64_t t = 0; t < steps; ++t) {
    auto y = stepper.step(std::span<const T>(in.x.data() + t * batch * 6, static_cast<size_t>(batch * 6)));
    std::copy(y.begin(), y.end(), ys.data() + t * batch * Hout);
  }
  EXPECT_TRUE(test::all_close("stepper y", ys, full.y, atol, rtol));
  const auto st = stepper.state();
  EXPECT_TRUE(test::all_close("stepper h", st.h, full.h_n, atol, rtol));
  // set_state then one more step equals a fresh module step from that state.
  RecurrentStepper<T> other(module, batch);
  other.set_state(st);
  RecurrentState<T> ref_state = st;
  Tensor<T> x1({batch, 6}, T(0.25));
  const auto ref = module.step(x1, ref_state);
  auto y1 = other.step(x1.span());
  Tensor<T> got({batch, Hout}, std::vector<T>(y1.begin(), y1.end()));
  EXPECT_TRUE(test::all_close("stepper after set_state", got, ref, atol, rtol));
}

TEST(Stepper, EqualsForwardEveryCell) {
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH, CellMode::RNN_RELU}) {
    SCOPED_TRACE(to_string(mode));
    check_stepper<float>(mode, 0, 1e-5, 1e-4);
    check_stepper<double>(mode, 0, 1e-12, 1e-10);
  }
  check_stepper<float>(CellMode::LSTM, 4, 1e-5, 1e-4);  // projection: plain path
  // From H = 16 on, AVX-512 runs the step on 16-unit blocks (37: a partial last block).
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH}) {
    SCOPED_TRACE(to_string(mode));
    check_stepper<float>(mode, 0, 1e-5, 1e-4, 37);
  }
}

// The fast stepper keeps denormals out of its state without FTZ/DAZ: a denormal in a state
// it is given comes back as a zero of its sign, and its step leaves the MXCSR alone.
TEST(Stepper, StateHoldsNoDenormals) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA";
  RecurrentConfig config;
  config.mode = CellMode::LSTM;
  config.input_size = 5;
  config.hidden_size = 11;
  Rng rng(3);
  Parameters<float> store;
  Recurrent<float> module(config, store, rng);
  RecurrentStepper<float> stepper(module, 2);
  RecurrentState<float> state = module.initial_state(2);
  for (int64_t i = 0; i < state.h.numel(); ++i) state.h[i] = 0.25f;
  for (int64_t i = 0; i < state.c.numel(); ++i) state.c[i] = -0.5f;
  state.h[3] = 1e-40f;
  state.c[7] = -1e-41f;
  state.c[8] = std::numeric_limits<float>::min();  // the smallest normal stays
  stepper.set_state(state);
  const RecurrentState<float> back = stepper.state();
  EXPECT_EQ(back.h[3], 0.0f);
  EXPECT_FALSE(std::signbit(back.h[3]));
  EXPECT_EQ(back.c[7], 0.0f);
  EXPECT_TRUE(std::signbit(back.c[7]));
  EXPECT_EQ(back.c[8], std::numeric_limits<float>::min());
  EXPECT_EQ(back.h[4], 0.25f);
  const unsigned before = _mm_getcsr();
  std::vector<float> x(10, 0.5f);
  x[1] = 1e-39f;
  stepper.step(std::span<const float>(x));
  EXPECT_EQ(_mm_getcsr(), before);
}

// The stepper's AVX-512 tiles (16-unit blocks for LSTM/GRU, zmm for RNN's 32) give the AVX2
// tiles' results bit for bit: the same sums, row tiling and epilogue operations.
TEST(Stepper, Avx512EqualsAvx2) {
  if (!kernels::fast::avx512_available()) GTEST_SKIP() << "no AVX-512F";
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH, CellMode::RNN_RELU}) {
    for (int64_t batch : {1, 5}) {
      SCOPED_TRACE(to_string(mode) + " batch " + std::to_string(batch));
      RecurrentConfig config;
      config.mode = mode;
      config.input_size = 9;
      config.hidden_size = 37;
      config.num_layers = 2;
      Rng rng(5);
      Parameters<float> store;
      Recurrent<float> module(config, store, rng);
      kernels::fast::enable_avx512(true);
      RecurrentStepper<float> wide(module, batch);
      kernels::fast::enable_avx512(false);
      RecurrentStepper<float> narrow(module, batch);
      kernels::fast::enable_avx512(true);
      for (int t = 0; t < 4; ++t) {
        std::vector<float> x(static_cast<size_t>(batch * 9));
        for (auto& v : x) v = static_cast<float>(rng.uniform(-2.0, 2.0));
        const auto a = wide.step(std::span<const float>(x));
        const std::vector<float> ya(a.begin(), a.end());
        kernels::fast::enable_avx512(false);
        const auto b = narrow.step(std::span<const float>(x));
        kernels::fast::enable_avx512(true);
        EXPECT_EQ(ya, std::vector<float>(b.begin(), b.end())) << "step " << t;
      }
    }
  }
}

// The bias gradients' column sums: bit-identical to the plain loop (same adds, same row order)
// for every width around the 8-float vectors and 64-column blocks and row counts around the
// 32-row chunks, adding to the sums already there, of whole rows and of submatrices.
TEST(FastKernels, ColumnSumsEqualPlainLoop) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA";
  Rng rng(11);
  for (int64_t rows : {0, 1, 31, 32, 33, 70}) {
    for (int64_t cols : {1, 7, 8, 9, 63, 64, 65, 130, 200}) {
      const int64_t lda = cols + (cols % 3);  // a submatrix where cols % 3 != 0
      std::vector<float> a(static_cast<size_t>(rows * lda)), sum(static_cast<size_t>(cols));
      for (auto& v : a) v = static_cast<float>(rng.uniform(-3.0, 3.0));
      for (auto& v : sum) v = static_cast<float>(rng.uniform(-1.0, 1.0));
      std::vector<float> plain = sum;
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < cols; ++j) {
          plain[static_cast<size_t>(j)] += a[static_cast<size_t>(r * lda + j)];
        }
      }
      kernels::fast::add_column_sums(rows, cols, a.data(), lda, sum.data());
      EXPECT_EQ(sum, plain) << rows << " x " << cols;
    }
  }
}

// The products over a whole sequence's rows (x W_ih^T from W_ih packed transposed, and
// dgi W_ih): within float rounding of a double-precision product, the same bits for any
// split of the rows (the threads' shares) and on the AVX2 and AVX-512 tiles, and adding to
// what is there with `accumulate`. Sizes around the 16-column panels, the 8-row tiles and
// the row blocks (1 MiB of the left operand: 256 rows at K = 1024).
// A's rows in two parts (GRU's backward: r and z from dgi, n from dgh_n) give the bits of A
// in one piece, on either tile width, over any panel range and order.
TEST(FastKernels, TwoPartProductEqualsOnePiece) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA";
  namespace fast = kernels::fast;
  Rng rng(13);
  struct Dims {
    int64_t m, n, kx, ka;
  };
  for (const Dims d : {Dims{16, 13, 26, 13}, Dims{43, 40, 80, 40}, Dims{64, 130, 260, 130}}) {
    const int64_t k = d.kx + d.ka;
    std::vector<float> whole(static_cast<size_t>(d.m * k)),
        x(static_cast<size_t>(d.m * (d.kx + 5))), a(static_cast<size_t>(d.m * d.ka)),
        b(static_cast<size_t>(k * d.n));
    for (auto& v : b) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    for (int64_t r = 0; r < d.m; ++r) {
      for (int64_t q = 0; q < k; ++q) {
        const float v = static_cast<float>(rng.uniform(-1.0, 1.0));
        whole[static_cast<size_t>(r * k + q)] = v;
        if (q < d.kx) {
          x[static_cast<size_t>(r * (d.kx + 5) + q)] = v;  // x's rows with a stride of their own
        } else {
          a[static_cast<size_t>(r * d.ka + q - d.kx)] = v;
        }
      }
    }
    fast::PackedMatrix p;
    fast::pack_matrix(p, k, d.n, b.data(), 16);
    for (const bool wide : {true, false}) {
      if (wide && !fast::avx512_available()) continue;
      fast::enable_avx512(wide);
      for (const bool last_first : {false, true}) {
        for (const int64_t first : {int64_t{0}, p.blocks / 2}) {
          SCOPED_TRACE(std::to_string(d.m) + " x " + std::to_string(d.n) +
                       (wide ? " avx512" : " avx2") + (last_first ? " last first" : "") +
                       " from panel " + std::to_string(first));
          std::vector<float> one(static_cast<size_t>(d.m * d.n), 7.0f), two = one;
          fast::packed_gemm(p, d.m, whole.data(), k, one.data(), d.n, first, p.blocks, false,
                            last_first);
          fast::packed_gemm_two_part(p, d.m, x.data(), d.kx + 5, d.kx, a.data(), d.ka, two.data(),
                                     d.n, first, p.blocks, last_first);
          EXPECT_EQ(one, two);
        }
      }
    }
    fast::enable_avx512(true);
  }
}

// Prefetching the next panels into L2 (where the weights are larger than it) changes no
// bit of the panel products: the same sums with the L2 taken to hold 1 KiB as with 1 GiB,
// over any panel range and order, with few rows (more lines to prefetch than k steps) and
// many, and over a whole sequence's rows.
TEST(FastKernels, WeightPrefetchLeavesProductsUnchanged) {
  if (!kernels::fast::avx512_available()) GTEST_SKIP() << "no AVX-512F: no prefetching tiles";
  namespace fast = kernels::fast;
  Rng rng(14);
  struct Dims {
    int64_t m, n, k;
  };
  for (const Dims d : {Dims{3, 130, 67}, Dims{16, 200, 96}, Dims{43, 130, 200}, Dims{64, 70, 33}}) {
    std::vector<float> a(static_cast<size_t>(d.m * d.k)), b(static_cast<size_t>(d.k * d.n));
    std::vector<float> c0(static_cast<size_t>(d.m * d.n));
    for (auto& v : a) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    for (auto& v : b) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    for (auto& v : c0) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    fast::PackedMatrix p;
    fast::pack_matrix(p, d.k, d.n, b.data(), 16);
    auto products = [&](int64_t l2_bytes) {
      fast::set_l2_cache_bytes(l2_bytes);
      std::vector<std::vector<float>> out;
      for (const bool last_first : {false, true}) {
        for (const bool accumulate : {false, true}) {
          for (const int64_t first : {int64_t{0}, p.blocks / 2 + 1}) {
            out.push_back(c0);
            fast::packed_gemm(p, d.m, a.data(), d.k, out.back().data(), d.n, first, p.blocks,
                              accumulate, last_first);
          }
        }
      }
      out.push_back(c0);
      fast::packed_gemm_rows(p, d.m, a.data(), d.k, out.back().data(), d.n, false);
      fast::set_l2_cache_bytes(0);
      return out;
    };
    SCOPED_TRACE(std::to_string(d.m) + " x " + std::to_string(d.n) + " x " + std::to_string(d.k));
    EXPECT_EQ(products(1024), products(int64_t{1} << 30));
  }
}

TEST(FastKernels, SequenceProductEqualsPlainProduct) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA";
  namespace fast = kernels::fast;
  Rng rng(12);
  struct Dims {
    int64_t m, n, k;
  };
  for (const Dims d : {Dims{1, 1, 1}, Dims{7, 17, 5}, Dims{43, 48, 33}, Dims{300, 40, 1024},
                       Dims{530, 130, 600}}) {
    std::vector<float> a(static_cast<size_t>(d.m * d.k)), bt(static_cast<size_t>(d.n * d.k));
    std::vector<float> c0(static_cast<size_t>(d.m * d.n));
    for (auto& v : a) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    for (auto& v : bt) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    for (auto& v : c0) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    fast::PackedMatrix p;
    fast::pack_matrix_transposed(p, d.k, d.n, bt.data());
    for (const bool accumulate : {false, true}) {
      SCOPED_TRACE(std::to_string(d.m) + " x " + std::to_string(d.n) + " x " + std::to_string(d.k) +
                   (accumulate ? " accumulate" : ""));
      std::vector<float> c = c0;
      fast::packed_gemm_rows(p, d.m, a.data(), d.k, c.data(), d.n, accumulate);
      for (int64_t i = 0; i < d.m; ++i) {
        for (int64_t j = 0; j < d.n; ++j) {
          double sum = accumulate ? c0[static_cast<size_t>(i * d.n + j)] : 0.0;
          double size = std::abs(sum);
          for (int64_t q = 0; q < d.k; ++q) {
            const double t = static_cast<double>(a[static_cast<size_t>(i * d.k + q)]) *
                             bt[static_cast<size_t>(j * d.k + q)];
            sum += t;
            size += std::abs(t);
          }
          ASSERT_NEAR(c[static_cast<size_t>(i * d.n + j)], sum, 1e-6 * size + 1e-7)
              << i << ", " << j;
        }
      }
      // Rows in two shares (the two threads' split) give the same bits.
      const int64_t half = d.m / 2 + 3 * (d.m > 8);
      std::vector<float> split = c0;
      fast::packed_gemm_rows(p, half, a.data(), d.k, split.data(), d.n, accumulate);
      fast::packed_gemm_rows(p, d.m - half, a.data() + half * d.k, d.k, split.data() + half * d.n,
                             d.n, accumulate);
      EXPECT_EQ(split, c);
      if (fast::avx512_available()) {
        fast::enable_avx512(false);
        std::vector<float> narrow = c0;
        fast::packed_gemm_rows(p, d.m, a.data(), d.k, narrow.data(), d.n, accumulate);
        fast::enable_avx512(true);
        EXPECT_EQ(narrow, c);
      }
    }
    // B packed from its transpose is B packed directly.
    std::vector<float> b(static_cast<size_t>(d.k * d.n));
    for (int64_t q = 0; q < d.k; ++q) {
      for (int64_t j = 0; j < d.n; ++j)
        b[static_cast<size_t>(q * d.n + j)] = bt[static_cast<size_t>(j * d.k + q)];
    }
    fast::PackedMatrix direct;
    fast::pack_matrix(direct, d.k, d.n, b.data(), 16);
    EXPECT_TRUE(std::equal(direct.w.data(), direct.w.data() + direct.w.size(), p.w.data()));
  }
}

// Max error of the vectorised functions against double-precision libm on a dense grid.
TEST(FastMath, ExpSigmoidTanhAccuracy) {
  if (!kernels::fast::available()) GTEST_SKIP() << "no AVX2+FMA";
  std::vector<float> x, y(0);
  for (double v = -30.0; v <= 30.0; v += 1.0 / 4096.0) x.push_back(static_cast<float>(v));
  for (float v : {1e-6f, -1e-6f, 1e-20f, 0.0f, -0.0f, 0.6249f, 0.6251f, -0.625f, 87.0f, -87.0f, 100.0f, -100.0f})
    x.push_back(v);
  y.resize(x.size());
  const int64_t n = static_cast<int64_t>(x.size());
  double exp_rel = 0, sig_abs = 0, sig_rel = 0, tanh_abs = 0, tanh_rel = 0;
  kernels::fast::exp_n(x.data(), y.data(), n);
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::fabs(x[i]) > 87.0f) continue;
    const double ref = std::exp(static_cast<double>(x[i]));
    exp_rel = std::max(exp_rel, std::fabs(y[i] - ref) / ref);
  }
  kernels::fast::sigmoid_n(x.data(), y.data(), n);
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
    sig_abs = std::max(sig_abs, std::fabs(y[i] - ref));
    if (ref > 1e-30) sig_rel = std::max(sig_rel, std::fabs(y[i] - ref) / ref);
  }
  kernels::fast::tanh_n(x.data(), y.data(), n);
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = std::tanh(static_cast<double>(x[i]));
    tanh_abs = std::max(tanh_abs, std::fabs(y[i] - ref));
    if (ref != 0.0) tanh_rel = std::max(tanh_rel, std::fabs(y[i] - ref) / std::fabs(ref));
  }
  std::printf("fast exp max rel err %.3g; sigmoid max abs %.3g rel %.3g; tanh max abs %.3g rel %.3g\n",
              exp_rel, sig_abs, sig_rel, tanh_abs, tanh_rel);
  // fp32 epsilon is 1.19e-7; all stay within a few ulp, far inside 1e-5 + 1e-4 |ref|.
  EXPECT_LT(exp_rel, 4e-7);
  EXPECT_LT(sig_abs, 2.5e-7);
  EXPECT_LT(sig_rel, 1e-6);
  EXPECT_LT(tanh_abs, 2.5e-7);
  EXPECT_LT(tanh_rel, 1e-6);
  // A NaN (a diverged model's) comes out as NaN, not as a clamped finite value.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> in(9, nan), out(9, 0.0f);
  kernels::fast::exp_n(in.data(), out.data(), 9);
  for (float v : out) EXPECT_TRUE(std::isnan(v));
  kernels::fast::sigmoid_n(in.data(), out.data(), 9);
  for (float v : out) EXPECT_TRUE(std::isnan(v));
  kernels::fast::tanh_n(in.data(), out.data(), 9);
  for (float v : out) EXPECT_TRUE(std::isnan(v));
}

}  // namespace
}  // namespace rnn
