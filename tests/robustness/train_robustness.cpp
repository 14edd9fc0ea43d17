// Bad arguments to losses, optimizers, schedules, clipping and init give rnn::Error with a
// message naming the problem (and the offending row/value), never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "rnn/nn/init.h"
#include "rnn/train/clipping.h"
#include "rnn/train/factory.h"
#include "rnn/train/losses.h"
#include "rnn/train/optimizers.h"
#include "rnn/train/schedules.h"

namespace {

using rnn::Tensor;

// Expects `body` to throw rnn::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& body, std::initializer_list<std::string> parts) {
  try {
    body();
    ADD_FAILURE() << "no rnn::Error thrown (expected one mentioning '" << *parts.begin() << "')";
  } catch (const rnn::Error& e) {
    const std::string what = e.what();
    for (const auto& p : parts) {
      EXPECT_NE(what.find(p), std::string::npos) << "message '" << what << "' lacks '" << p << "'";
    }
  }
}

Tensor<float> logits_5x7() {
  Tensor<float> t({5, 7});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(i % 5) * 0.3f;
  return t;
}
Tensor<int64_t> targets(std::vector<int64_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return Tensor<int64_t>({n}, std::move(v));
}

TEST(TrainRobustness, TargetOutOfRangeNamesRowAndValue) {
  expect_error([] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 7, 2, 3})); },
               {"target 7", "row 2", "[0, 7)"});
  expect_error([] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 2, -1, 3})); },
               {"target -1", "row 3"});
  rnn::CrossEntropyOptions<float> opt;
  opt.ignore_index = 3;  // -100 is now an ordinary, out-of-range target
  expect_error([&] { rnn::cross_entropy(logits_5x7(), targets({0, -100, 2, 3, 3}), opt); },
               {"target -100", "row 1"});
}

TEST(TrainRobustness, ShapeMismatches) {
  expect_error([] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 2})); },
               {"targets", "[5]", "[3]"});
  expect_error([] { rnn::cross_entropy(Tensor<float>({7}), targets({0})); }, {"[N, C]"});
  rnn::CrossEntropyOptions<float> w;
  w.weight = Tensor<float>({6}, 1.0f);
  expect_error([&] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 2, 3, 4}), w); },
               {"weight", "[7]", "[6]"});
  rnn::CrossEntropyOptions<float> m;
  m.mask = Tensor<uint8_t>({4});
  expect_error([&] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 2, 3, 4}), m); },
               {"mask"});
  rnn::CrossEntropyOptions<float> none;
  none.reduction = rnn::Reduction::None;
  rnn::LossUpstream<float> up;
  up.per_row = Tensor<float>({4});
  expect_error([&] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 2, 3, 4}), none, up); },
               {"per_row"});
  rnn::LossUpstream<float> misplaced;
  misplaced.per_row = Tensor<float>({5});
  expect_error([&] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 2, 3, 4}), {}, misplaced); },
               {"per_row", "Reduction::None"});
  expect_error([] { rnn::mse(Tensor<float>({2, 3}), Tensor<float>({3, 2})); },
               {"[2, 3]", "[3, 2]"});
  rnn::MseOptions<float> bad_mask;
  bad_mask.mask = Tensor<uint8_t>({3});
  expect_error([&] { rnn::mse(Tensor<float>({2, 3}), Tensor<float>({2, 3}), bad_mask); },
               {"mask shape"});
}

TEST(TrainRobustness, NonFiniteInputs) {
  Tensor<float> x = logits_5x7();
  x.at(3, 4) = std::nanf("");
  expect_error([&] { rnn::cross_entropy(x, targets({0, 1, 2, 3, 4})); },
               {"non-finite", "row 3", "class 4"});
  x.at(3, 4) = std::numeric_limits<float>::infinity();
  expect_error([&] { rnn::cross_entropy(x, targets({0, 1, 2, 3, 4})); }, {"non-finite"});
  Tensor<double> p({2, 2}), y({2, 2});
  p[3] = std::nan("");
  expect_error([&] { rnn::mse(p, y); }, {"pred", "non-finite"});
  rnn::CrossEntropyOptions<float> w;
  w.weight = Tensor<float>({7}, 1.0f);
  w.weight[2] = std::nanf("");
  expect_error([&] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 2, 3, 4}), w); },
               {"weight", "non-finite"});
}

TEST(TrainRobustness, BadOptionsAndLengths) {
  rnn::CrossEntropyOptions<float> s;
  s.label_smoothing = 1.5;
  expect_error([&] { rnn::cross_entropy(logits_5x7(), targets({0, 1, 2, 3, 4}), s); },
               {"label_smoothing", "1.5"});
  const std::vector<int64_t> too_long{3, 5};
  expect_error([&] { rnn::length_mask(4, too_long); }, {"lengths[1] = 5"});
  Tensor<float> seq({4, 2, 3});
  Tensor<int64_t> seq_targets({4, 2});
  const std::vector<int64_t> three{1, 2, 3};
  expect_error([&] { rnn::cross_entropy_sequence(seq, seq_targets, three); },
               {"3 lengths", "batch of 2"});
  rnn::MseOptions<float> both;
  both.mask = Tensor<uint8_t>({4});
  both.lengths = {1, 2};
  expect_error([&] { rnn::mse(seq, seq, both); }, {"not both"});
}

TEST(TrainRobustness, OptimizerArguments) {
  expect_error([] { rnn::Sgd<float> o({}); }, {"lr is required"});
  expect_error([] { rnn::Sgd<float> o({.lr = 0.1, .nesterov = true}); }, {"nesterov"});
  expect_error([] { rnn::Adam<float> o({.lr = -1.0}); }, {"learning rate", "-1"});
  expect_error([] { rnn::Adam<float> o({.beta2 = 1.0}); }, {"beta2"});
  expect_error([] { rnn::Rmsprop<float> o({.eps = -1e-8}); }, {"epsilon"});
  expect_error([] { rnn::Adagrad<double> o({.lr_decay = -0.1}); }, {"lr_decay"});

  rnn::Adam<float> adam;
  std::vector<float> p(4), g(3);
  expect_error([&] { adam.step(p, g); }, {"4 values", "3 gradients"});
  std::vector<float> g4(4);
  adam.step(p, g4);
  std::vector<float> p5(5), g5(5);
  expect_error([&] { adam.step(p5, g5); }, {"5 values", "holds 4"});
  expect_error([&] { adam.set_lr(std::nan("")); }, {"learning rate"});

  rnn::OptimizerState<float> wrong_kind = adam.state();
  wrong_kind.kind = "sgd";
  expect_error([&] { rnn::Adam<float>().load_state(wrong_kind); }, {"'sgd'"});
  rnn::OptimizerState<float> short_buffer = adam.state();
  short_buffer.buffers[1].values.resize(2);
  expect_error([&] { rnn::Adam<float>().load_state(short_buffer); }, {"exp_avg_sq", "holds 2"});
  expect_error([&] { rnn::Adam<float>({.amsgrad = true}).load_state(adam.state()); },
               {"state buffers"});
}

TEST(TrainRobustness, ScheduleAndClippingArguments) {
  expect_error([] { rnn::StepLr s(0.1, 0); }, {"step_size"});
  expect_error([] { rnn::CosineAnnealingLr s(0.1, 0); }, {"t_max"});
  expect_error([] { rnn::LinearWarmup s(0.1, 0); }, {"warmup_steps"});
  expect_error([] { rnn::ReduceLrOnPlateau s(0.1, {.factor = 1.0}); }, {"factor"});
  rnn::StepLr step(0.1, 2);
  expect_error([&] { rnn::ExponentialLr(0.1, 0.5).load_state(step.state()); }, {"'step'"});
  expect_error([] { rnn::ScheduleState{"x", {}}.get("lr"); }, {"no value 'lr'"});

  std::vector<float> g{1, std::nanf("")};
  expect_error([&] { rnn::clip_grad_norm(std::span<float>(g), 1.0, {.error_if_nonfinite = true}); },
               {"non-finite"});
  EXPECT_TRUE(std::isnan(rnn::clip_grad_norm(std::span<float>(g), 1.0)));  // as PyTorch
  expect_error([&] { rnn::clip_grad_norm(std::span<float>(g), 1.0, {.norm_type = 0.0}); },
               {"norm_type"});
  expect_error([&] { rnn::clip_grad_value(std::span<float>(g), -1.0); }, {"clip_value"});
}

TEST(TrainRobustness, FactoryArguments) {
  expect_error([] { rnn::make_optimizer<float>("lion"); }, {"unknown optimizer 'lion'"});
  expect_error([] { rnn::make_optimizer<float>("adam", {{"momentum", 0.9}}); },
               {"unknown option 'momentum'", "beta1"});
  expect_error([] { rnn::make_optimizer<float>("adam", {{"lr", "fast"}}); },
               {"'lr'", "number", "fast"});
  expect_error([] { rnn::make_optimizer<float>("sgd", {{"nesterov", 1}}); }, {"true or false"});
  expect_error([] { rnn::make_optimizer<float>("sgd"); }, {"lr is required"});
  expect_error([] { rnn::make_schedule("step", 0.1); }, {"step_size"});
  expect_error([] { rnn::make_schedule("cosine", 0.1, {{"t_max", 2.5}}); }, {"integer"});
  expect_error([] { rnn::make_schedule("poly", 0.1); }, {"unknown lr schedule 'poly'"});
  expect_error([] { rnn::plateau_options({{"mode", "up"}}); }, {"min or max"});
  expect_error([] { rnn::make_optimizer<float>("adam", nlohmann::json::array()); },
               {"JSON object"});
}

TEST(TrainRobustness, InitArguments) {
  rnn::Rng rng(0);
  Tensor<float> v({6});
  expect_error([&] { rnn::init::xavier_uniform(v.view(), rng); }, {"2 dimensions"});
  Tensor<float> w({7, 3});
  expect_error([&] { rnn::init::orthogonal(w.view(), rng, 1.0, 2); }, {"7 rows", "2 blocks"});
  expect_error([&] { rnn::init::forget_gate_bias(v.view()); }, {"[4H]", "[6]"});
  expect_error([&] { rnn::init::calculate_gain("swish"); }, {"swish"});
  expect_error([&] { rnn::init::pytorch_default_recurrent(v.view(), rng, 0); }, {"hidden_size"});
}

}  // namespace
