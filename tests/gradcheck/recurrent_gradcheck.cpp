// Finite-difference gradient checks (double precision) of RNN / LSTM / GRU for every
// option: layers, directions, bias, projection, lengths, batch_first, h0/c0, dropout.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rnn/layers/recurrent.h"
#include "support/gradcheck.h"

namespace rnn {
namespace {

struct Case {
  CellMode mode;
  int64_t layers;
  bool bidirectional;
  bool bias;
  int64_t proj;
  bool lengths;
  bool batch_first;
  double dropout;
  std::string name;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH, CellMode::RNN_RELU}) {
    for (int64_t layers : {1, 2}) {
      for (bool bi : {false, true}) {
        for (bool bias : {true, false}) {
          for (int64_t proj : {0, 2}) {
            if (proj > 0 && mode != CellMode::LSTM) continue;
            // lengths and batch_first vary together with the other options
            const bool lengths = (layers + bi + bias) % 2 == 1;
            const bool batch_first = bi != bias;
            cases.push_back({mode, layers, bi, bias, proj, lengths, batch_first, 0.0,
                             to_string(mode) + "_L" + std::to_string(layers) + (bi ? "_bi" : "_uni") +
                                 (bias ? "_bias" : "_nobias") + "_P" + std::to_string(proj) +
                                 (lengths ? "_lengths" : "") + (batch_first ? "_bf" : "")});
          }
        }
      }
    }
  }
  for (CellMode mode : {CellMode::LSTM, CellMode::GRU, CellMode::RNN_TANH}) {
    cases.push_back({mode, 2, true, true, 0, true, false, 0.4, to_string(mode) + "_dropout"});
  }
  return cases;
}

class RecurrentGradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(RecurrentGradcheck, AllGradientsMatchCentralDifferences) {
  const Case& k = GetParam();
  RecurrentConfig config;
  config.mode = k.mode;
  config.input_size = 3;  // I=3, H=5, P=2, B=3, T=4: never two sizes equal
  config.hidden_size = 5;
  config.num_layers = k.layers;
  config.bidirectional = k.bidirectional;
  config.bias = k.bias;
  config.proj_size = k.proj;
  config.batch_first = k.batch_first;
  config.dropout = k.dropout;
  const int64_t T = 4, B = 3, D = config.directions(), L = k.layers;
  const bool lstm = k.mode == CellMode::LSTM;

  Rng rng(1234);
  Parameters<double> store;
  Recurrent<double> module(config, store, rng);
  // Scale weights up a little so gates leave their linear region.
  for (double& v : store.values()) v *= 1.5;

  RecurrentInput<double> input;
  input.x = test::random_tensor(k.batch_first ? Shape{B, T, 3} : Shape{T, B, 3}, rng);
  input.h0 = test::random_tensor({D * L, B, config.output_hidden()}, rng, 0.5);
  if (lstm) input.c0 = test::random_tensor({D * L, B, 5}, rng, 0.5);
  if (k.lengths) input.lengths = {3, 4, 1};
  const Mode mode = k.dropout > 0 ? Mode::Train : Mode::Eval;

  RecurrentGradOutput<double> upstream;
  const Shape y_shape = k.batch_first ? Shape{B, T, D * config.output_hidden()}
                                      : Shape{T, B, D * config.output_hidden()};
  upstream.dy = test::random_tensor(y_shape, rng);
  upstream.dh_n = test::random_tensor({D * L, B, config.output_hidden()}, rng);
  if (lstm) upstream.dc_n = test::random_tensor({D * L, B, 5}, rng);

  // loss = <dy, y> + <dh_n, h_n> + <dc_n, c_n>; the same dropout mask every evaluation.
  auto loss = [&]() {
    Rng dropout_rng(99);
    auto out = module.forward(input, mode, &dropout_rng, nullptr);
    double value = test::dot(upstream.dy, out.y) + test::dot(upstream.dh_n, out.h_n);
    if (lstm) value += test::dot(upstream.dc_n, out.c_n);
    return value;
  };

  Rng dropout_rng(99);
  RecurrentCachePtr<double> cache;
  module.forward(input, mode, &dropout_rng, &cache);
  store.zero_grad();
  const auto grads = module.backward(*cache, upstream);

  EXPECT_TRUE(test::gradcheck("dx", input.x.span(), grads.dx.span(), loss));
  EXPECT_TRUE(test::gradcheck("dh0", input.h0.span(), grads.dh0.span(), loss));
  if (lstm) {
    EXPECT_TRUE(test::gradcheck("dc0", input.c0.span(), grads.dc0.span(), loss));
  }
  for (const auto& info : store.infos()) {
    std::span<double> values(store.values().data() + info.offset, info.numel);
    std::span<const double> analytic(store.grads().data() + info.offset, info.numel);
    EXPECT_TRUE(test::gradcheck(info.name, values, analytic, loss));
  }
}

INSTANTIATE_TEST_SUITE_P(AllOptions, RecurrentGradcheck, ::testing::ValuesIn(all_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace rnn
