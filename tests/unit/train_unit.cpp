// Unit tests of the training pieces against hand-computed values: losses, optimizers
// (one step by hand, state save/load), schedules (closed forms), clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "rnn/kernels/gemm.h"
#include "rnn/train/clipping.h"
#include "rnn/train/factory.h"
#include "rnn/train/losses.h"
#include "rnn/train/optimizers.h"
#include "rnn/train/schedules.h"

namespace {

using rnn::Reduction;
using rnn::Tensor;

// ---- losses -------------------------------------------------------------------------------

TEST(TrainLosses, UniformLogitsGiveLogC) {
  const int64_t N = 3, C = 5;
  Tensor<float> logits({N, C}, 0.25f);
  Tensor<int64_t> targets({N}, std::vector<int64_t>{0, 4, 2});
  const auto r = rnn::cross_entropy(logits, targets);
  EXPECT_NEAR(r.loss, std::log(5.0), 1e-6);
  // d/dz_j = (1/N) (1/C - [j == t])
  EXPECT_NEAR(r.grad.at(0, 0), (0.2 - 1.0) / 3.0, 1e-7);
  EXPECT_NEAR(r.grad.at(0, 1), 0.2 / 3.0, 1e-7);
  EXPECT_NEAR(r.grad.at(1, 4), (0.2 - 1.0) / 3.0, 1e-7);
}

TEST(TrainLosses, GradientRowsSumToZero) {
  Tensor<double> logits({2, 4}, std::vector<double>{1, -2, 0.5, 3, 0, 0, 7, -1});
  Tensor<int64_t> targets({2}, std::vector<int64_t>{3, 1});
  rnn::CrossEntropyOptions<double> opt;
  opt.label_smoothing = 0.3;
  opt.weight = Tensor<double>({4}, std::vector<double>{1, 2, 0.5, 1.5});
  const auto r = rnn::cross_entropy(logits, targets, opt);
  for (int64_t n = 0; n < 2; ++n) {
    double sum = 0;
    for (int64_t c = 0; c < 4; ++c) sum += r.grad.at(n, c);
    // With weights: sum_j g_j = a w_t (1 - 1) + b (W - W) = 0
    EXPECT_NEAR(sum, 0.0, 1e-14);
  }
}

TEST(TrainLosses, IgnoredAndMaskedRowsContributeNothing) {
  Tensor<double> logits({3, 2}, std::vector<double>{1, 2, 3, 4, 5, 6});
  Tensor<int64_t> targets({3}, std::vector<int64_t>{0, -100, 1});
  const auto all = rnn::cross_entropy(logits, targets);
  rnn::CrossEntropyOptions<double> masked;
  masked.mask = Tensor<uint8_t>({3}, std::vector<uint8_t>{1, 0, 1});
  Tensor<int64_t> targets2({3}, std::vector<int64_t>{0, 12345, 1});  // masked: not checked
  const auto m = rnn::cross_entropy(logits, targets2, masked);
  EXPECT_DOUBLE_EQ(all.loss, m.loss);
  EXPECT_EQ(all.grad.at(1, 0), 0.0);
  EXPECT_EQ(m.grad.at(1, 1), 0.0);
}

TEST(TrainLosses, NoneReturnsPerRowLossesAndSum) {
  Tensor<float> logits({2, 3}, std::vector<float>{0, 0, 0, 1, 0, 0});
  Tensor<int64_t> targets({2}, std::vector<int64_t>{1, 0});
  rnn::CrossEntropyOptions<float> opt;
  opt.reduction = Reduction::None;
  const auto r = rnn::cross_entropy(logits, targets, opt);
  ASSERT_EQ(r.losses.shape(), rnn::Shape{2});
  EXPECT_NEAR(r.losses[0], std::log(3.0), 1e-6);
  EXPECT_NEAR(r.losses[1], -(1 - std::log(std::exp(1.0) + 2)), 1e-6);
  EXPECT_NEAR(r.loss, r.losses[0] + r.losses[1], 1e-6);
}

TEST(TrainLosses, ValueOnlySkipsGradient) {
  Tensor<float> logits({1, 2}, std::vector<float>{0, 1});
  Tensor<int64_t> targets({1}, std::vector<int64_t>{1});
  rnn::LossUpstream<float> up;
  up.want_grad = false;
  EXPECT_TRUE(rnn::cross_entropy(logits, targets, {}, up).grad.empty());
}

TEST(TrainLosses, LengthMask) {
  const std::vector<int64_t> lengths{2, 0, 3};
  const auto m = rnn::length_mask(3, lengths);
  ASSERT_EQ(m.shape(), (rnn::Shape{3, 3}));
  const std::vector<uint8_t> expected{1, 0, 1, 1, 0, 1, 0, 0, 1};
  EXPECT_EQ(m.values(), expected);
  const auto bf = rnn::length_mask(3, lengths, true);
  const std::vector<uint8_t> expected_bf{1, 1, 0, 0, 0, 0, 1, 1, 1};
  EXPECT_EQ(bf.values(), expected_bf);
}

TEST(TrainLosses, SequenceEqualsMaskedRows) {
  const int64_t T = 3, B = 2, C = 4;
  Tensor<double> logits({T, B, C});
  for (int64_t i = 0; i < logits.numel(); ++i) logits[i] = std::sin(0.7 * static_cast<double>(i));
  Tensor<int64_t> targets({T, B}, std::vector<int64_t>{0, 1, 2, 3, 1, -5});
  const std::vector<int64_t> lengths{3, 2};
  const auto seq = rnn::cross_entropy_sequence(logits, targets, lengths);
  Tensor<double> flat = logits;
  flat.reshape({T * B, C});
  Tensor<int64_t> flat_targets = targets;
  flat_targets.reshape({T * B});
  rnn::CrossEntropyOptions<double> opt;
  opt.mask = Tensor<uint8_t>({T * B}, std::vector<uint8_t>{1, 1, 1, 1, 1, 0});
  const auto rows = rnn::cross_entropy(flat, flat_targets, opt);
  EXPECT_DOUBLE_EQ(seq.loss, rows.loss);
  EXPECT_EQ(seq.grad.shape(), logits.shape());
  for (int64_t i = 0; i < logits.numel(); ++i) EXPECT_DOUBLE_EQ(seq.grad[i], rows.grad[i]);
}

TEST(TrainLosses, LargeBatchIsBitIdenticalAcrossThreadCounts) {
  const int64_t N = 300, C = 500;  // above the parallel threshold
  Tensor<float> logits({N, C});
  Tensor<int64_t> targets({N});
  for (int64_t i = 0; i < logits.numel(); ++i) {
    logits[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * 4.0);
  }
  for (int64_t n = 0; n < N; ++n) targets[n] = (n * 37) % C;
  targets[5] = -100;
  rnn::CrossEntropyOptions<float> opt;
  opt.label_smoothing = 0.1;
  const int saved = rnn::kernels::num_threads();
  rnn::kernels::set_num_threads(1);
  const auto one = rnn::cross_entropy(logits, targets, opt);
  rnn::kernels::set_num_threads(4);
  const auto four = rnn::cross_entropy(logits, targets, opt);
  rnn::kernels::set_num_threads(saved);
  EXPECT_EQ(one.loss, four.loss);
  EXPECT_EQ(one.grad.values(), four.grad.values());
}

TEST(TrainLosses, MseByHand) {
  Tensor<float> pred({2, 2}, std::vector<float>{1, 2, 3, 4});
  Tensor<float> target({2, 2}, std::vector<float>{0, 2, 5, 4});
  const auto mean = rnn::mse(pred, target);
  EXPECT_FLOAT_EQ(mean.loss, (1.0f + 0 + 4 + 0) / 4);
  EXPECT_FLOAT_EQ(mean.grad[0], 2.0f * 1 / 4);
  EXPECT_FLOAT_EQ(mean.grad[2], 2.0f * -2 / 4);
  rnn::MseOptions<float> masked;
  masked.mask = Tensor<uint8_t>({2}, std::vector<uint8_t>{0, 1});  // row 1 only
  const auto m = rnn::mse(pred, target, masked);
  EXPECT_FLOAT_EQ(m.loss, 4.0f / 2);
  EXPECT_FLOAT_EQ(m.grad[0], 0.0f);
  EXPECT_FLOAT_EQ(m.grad[2], 2.0f * -2 / 2);
}

// ---- optimizers ---------------------------------------------------------------------------

TEST(TrainOptimizers, SgdMomentumByHand) {
  rnn::Sgd<double> opt({.lr = 0.1, .momentum = 0.9});
  std::vector<double> p{1.0};
  const std::vector<double> g{2.0};
  opt.step(p, g);  // buf = 2, p = 1 - 0.2
  EXPECT_DOUBLE_EQ(p[0], 0.8);
  opt.step(p, g);  // buf = 0.9*2 + 2 = 3.8, p = 0.8 - 0.38
  EXPECT_NEAR(p[0], 0.42, 1e-15);
  EXPECT_EQ(opt.steps(), 2);
}

TEST(TrainOptimizers, AdamFirstStepIsLrTimesSign) {
  rnn::Adam<double> opt({.lr = 0.01, .eps = 0.0});
  std::vector<double> p{0.5, -0.5, 0.0};
  const std::vector<double> g{3.0, -0.001, 1e-3};
  opt.step(p, g);
  EXPECT_NEAR(p[0], 0.49, 1e-12);
  EXPECT_NEAR(p[1], -0.49, 1e-12);
  EXPECT_NEAR(p[2], -0.01, 1e-12);
}

TEST(TrainOptimizers, AdamWDecaysBeforeTheStep) {
  rnn::AdamW<double> opt({.lr = 0.1, .weight_decay = 0.5});
  std::vector<double> p{2.0};
  const std::vector<double> g{0.0};
  opt.step(p, g);  // zero gradient: only the decay 2 * (1 - 0.05)
  EXPECT_DOUBLE_EQ(p[0], 2.0 * (1 - 0.1 * 0.5));
}

TEST(TrainOptimizers, AdagradAccumulatorStartsAtInitialValue) {
  rnn::Adagrad<double> opt({.lr = 1.0, .initial_accumulator_value = 3.0, .eps = 0.0});
  std::vector<double> p{0.0};
  const std::vector<double> g{1.0};
  opt.step(p, g);  // s = 4, p = -1/2
  EXPECT_DOUBLE_EQ(p[0], -0.5);
  EXPECT_EQ(opt.state().buffers.at(0).name, "sum");
  EXPECT_EQ(opt.state().buffers.at(0).values.at(0), 4.0);
}

TEST(TrainOptimizers, DefaultsArePyTorchs) {
  EXPECT_EQ(rnn::AdamOptions{}.lr, 1e-3);
  EXPECT_EQ(rnn::AdamOptions{}.weight_decay, 0.0);
  EXPECT_EQ(rnn::AdamWOptions{}.weight_decay, 1e-2);
  EXPECT_EQ(rnn::RmspropOptions{}.alpha, 0.99);
  EXPECT_EQ(rnn::RmspropOptions{}.lr, 1e-2);
  EXPECT_EQ(rnn::AdagradOptions{}.eps, 1e-10);
}

TEST(TrainOptimizers, StateNamesAndLr) {
  rnn::Rmsprop<float> opt({.momentum = 0.5, .centered = true});
  std::vector<float> p{1, 2};
  const std::vector<float> g{0.1f, -0.2f};
  EXPECT_TRUE(opt.state().buffers.empty());  // nothing before the first step
  opt.step(p, g);
  opt.set_lr(0.5);
  const auto s = opt.state();
  EXPECT_EQ(s.kind, "rmsprop");
  EXPECT_EQ(s.step, 1);
  EXPECT_EQ(s.lr, 0.5);
  ASSERT_EQ(s.buffers.size(), 3u);
  EXPECT_EQ(s.buffers[0].name, "square_avg");
  EXPECT_EQ(s.buffers[1].name, "momentum_buffer");
  EXPECT_EQ(s.buffers[2].name, "grad_avg");
}

TEST(TrainOptimizers, ResumeIsBitExact) {
  const std::vector<float> g1{0.3f, -0.1f, 0.7f}, g2{-0.2f, 0.4f, 0.05f};
  rnn::Adam<float> a({.lr = 0.01, .amsgrad = true});
  std::vector<float> pa{1, 2, 3};
  a.step(pa, g1);
  a.step(pa, g2);
  a.step(pa, g1);

  rnn::Adam<float> b1({.lr = 0.01, .amsgrad = true});
  std::vector<float> pb{1, 2, 3};
  b1.step(pb, g1);
  const auto saved = b1.state();
  rnn::Adam<float> b2({.lr = 0.01, .amsgrad = true});
  b2.load_state(saved);
  b2.step(pb, g2);
  b2.step(pb, g1);
  EXPECT_EQ(pa, pb);
}

// ---- schedules ----------------------------------------------------------------------------

TEST(TrainSchedules, StepLrByHand) {
  rnn::StepLr s(1.0, 2, 0.5);
  EXPECT_EQ(s.lr(), 1.0);
  const std::vector<double> expected{1.0, 0.5, 0.5, 0.25, 0.25, 0.125};
  for (double e : expected) EXPECT_DOUBLE_EQ(s.step(), e);
}

TEST(TrainSchedules, CosineMatchesClosedFormForOneHalfPeriod) {
  const double base = 0.1, eta_min = 0.01;
  const int64_t t_max = 8;
  rnn::CosineAnnealingLr s(base, t_max, eta_min);
  for (int64_t e = 1; e <= t_max; ++e) {
    const double closed =
        eta_min + (base - eta_min) * (1 + std::cos(M_PI * static_cast<double>(e) / 8.0)) / 2;
    EXPECT_NEAR(s.step(), closed, 1e-15) << "epoch " << e;
  }
  EXPECT_NEAR(s.lr(), eta_min, 1e-15);
}

TEST(TrainSchedules, WarmupRampsLinearly) {
  rnn::LinearWarmup s(1.0, 4, 0.0);
  EXPECT_EQ(s.lr(), 0.0);
  EXPECT_DOUBLE_EQ(s.step(), 0.25);
  EXPECT_DOUBLE_EQ(s.step(), 0.5);
  EXPECT_DOUBLE_EQ(s.step(), 0.75);
  EXPECT_DOUBLE_EQ(s.step(), 1.0);
  EXPECT_DOUBLE_EQ(s.step(), 1.0);
  EXPECT_EQ(s.kind(), "warmup+constant");
}

TEST(TrainSchedules, StepSetsTheOptimizersLr) {
  rnn::Sgd<float> opt({.lr = 0.1});
  rnn::ExponentialLr s(0.1, 0.5);
  s.step(opt);
  EXPECT_DOUBLE_EQ(opt.lr(), 0.05);
}

TEST(TrainSchedules, PlateauReducesAfterPatience) {
  rnn::ReduceLrOnPlateau s(1.0, {.factor = 0.5, .patience = 2});
  EXPECT_EQ(s.step(1.0), 1.0);  // best
  EXPECT_EQ(s.step(1.0), 1.0);  // bad 1
  EXPECT_EQ(s.step(1.0), 1.0);  // bad 2
  EXPECT_EQ(s.step(1.0), 0.5);  // bad 3 > patience
  EXPECT_EQ(s.num_bad_epochs(), 0);
  EXPECT_EQ(s.step(0.5), 0.5);  // better
  EXPECT_EQ(s.best(), 0.5);
  EXPECT_EQ(s.step(std::nan("")), 0.5);  // NaN: no improvement
  EXPECT_EQ(s.num_bad_epochs(), 1);
}

TEST(TrainSchedules, StateRoundTrip) {
  rnn::LinearWarmup a(std::make_unique<rnn::StepLr>(0.2, 3), 2);
  for (int i = 0; i < 5; ++i) a.step();
  rnn::LinearWarmup b(std::make_unique<rnn::StepLr>(0.2, 3), 2);
  b.load_state(a.state());
  EXPECT_EQ(b.epoch(), 5);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.step(), b.step());
}

// ---- factory ----------------------------------------------------------------------------

TEST(TrainFactory, OptimizersFromJson) {
  auto adam = rnn::make_optimizer<float>("adam", {{"lr", 0.01}, {"amsgrad", true}});
  EXPECT_EQ(adam->kind(), "adam");
  EXPECT_EQ(adam->lr(), 0.01);
  auto* typed = dynamic_cast<rnn::Adam<float>*>(adam.get());
  ASSERT_NE(typed, nullptr);
  EXPECT_TRUE(typed->options().amsgrad);
  EXPECT_EQ(typed->options().weight_decay, 0.0);
  auto adamw = rnn::make_optimizer<double>("adamw");
  EXPECT_EQ(dynamic_cast<rnn::AdamW<double>*>(adamw.get())->options().weight_decay, 0.01);
  auto sgd = rnn::make_optimizer<float>("sgd", {{"lr", 0.5}, {"momentum", 0.9}, {"nesterov", true}});
  EXPECT_TRUE(dynamic_cast<rnn::Sgd<float>*>(sgd.get())->options().nesterov);
  EXPECT_EQ(rnn::make_optimizer<float>("rmsprop")->kind(), "rmsprop");
  EXPECT_EQ(rnn::make_optimizer<float>("adagrad", {{"lr_decay", 0.1}})->kind(), "adagrad");
}

TEST(TrainFactory, SchedulesFromJson) {
  auto s = rnn::make_schedule("cosine", 0.1, {{"t_max", 10}, {"warmup_steps", 2}});
  EXPECT_EQ(s->kind(), "warmup+cosine");
  EXPECT_NEAR(s->lr(), 0.1 / 3.0, 1e-15);
  auto step = rnn::make_schedule("step", 1.0, {{"step_size", 1}, {"gamma", 0.5}});
  EXPECT_EQ(step->step(), 0.5);
  const auto p = rnn::plateau_options({{"mode", "max"}, {"patience", 3}});
  EXPECT_EQ(p.mode, rnn::PlateauOptions::Mode::Max);
  EXPECT_EQ(p.patience, 3);
  EXPECT_EQ(p.factor, 0.1);
}

// ---- clipping -----------------------------------------------------------------------------

TEST(TrainClipping, NormByHand) {
  std::vector<float> g{3, 4};
  const double total = rnn::clip_grad_norm(std::span<float>(g), 1.0);
  EXPECT_DOUBLE_EQ(total, 5.0);
  const float coef = 1.0f / (5.0f + 1e-6f);
  EXPECT_FLOAT_EQ(g[0], 3 * coef);
  EXPECT_FLOAT_EQ(g[1], 4 * coef);
}

TEST(TrainClipping, BelowMaxNormIsUnchanged) {
  std::vector<double> g{0.3, -0.4};
  EXPECT_NEAR(rnn::clip_grad_norm(std::span<double>(g), 10.0), 0.5, 1e-15);
  EXPECT_EQ(g[0], 0.3);
  EXPECT_EQ(g[1], -0.4);
}

TEST(TrainClipping, InfNorm) {
  std::vector<double> g{0.5, -2.0, 1.0};
  EXPECT_EQ(rnn::clip_grad_norm(std::span<double>(g), 1.0, {.norm_type = rnn::kInfNorm}), 2.0);
  EXPECT_NEAR(g[1], -1.0, 1e-6);
}

TEST(TrainClipping, Value) {
  std::vector<float> g{-3, 0.1f, 2};
  rnn::clip_grad_value(std::span<float>(g), 1.0);
  EXPECT_EQ(g, (std::vector<float>{-1, 0.1f, 1}));
}

}  // namespace
