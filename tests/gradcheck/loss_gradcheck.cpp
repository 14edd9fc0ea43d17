// Gradients of cross_entropy and mse against central finite differences in double.
//
// Shapes are non-square (N=5 rows, C=7 classes; sequences T=4, B=3, C=6; mse [4,3,2]),
// upstream gradients are random (a scale for Mean/Sum, per-row values for None), and
// every option is covered: ignore_index (default and a class index), label smoothing,
// class weights, masks, lengths, batch_first, each reduction.
// Bound: |analytic - numeric| / max(1, |numeric|) <= 1e-7 with step 1e-6.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "rnn/core/rng.h"
#include "rnn/train/losses.h"
#include "support/gradcheck.h"

namespace {

using rnn::Reduction;
using rnn::Tensor;
using rnn::test::gradcheck;
using rnn::test::random_tensor;

constexpr rnn::test::GradcheckOptions kOptions{1e-6, 1e-7};

const char* reduction_name(Reduction r) {
  return r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none";
}

// The scalar objective the upstream gradient defines: scale * loss, or <per_row, losses>.
template <class Result>
double objective(const Result& r, Reduction reduction, const rnn::LossUpstream<double>& up) {
  if (reduction != Reduction::None) return up.scale * r.loss;
  double sum = 0.0;
  for (int64_t i = 0; i < r.losses.numel(); ++i) sum += up.per_row[i] * r.losses[i];
  return sum;
}

struct CeVariant {
  const char* name;
  int64_t ignore_index = -100;
  std::vector<int64_t> ignored_rows;  // targets set to ignore_index
  double label_smoothing = 0.0;
  bool weight = false;
  std::vector<uint8_t> mask;  // empty = none
};

const std::vector<CeVariant>& ce_variants() {
  static const std::vector<CeVariant> variants = {
      {"plain", -100, {}, 0.0, false, {}},
      {"ignore", -100, {1, 3}, 0.0, false, {}},
      {"ignore_class_index", 4, {0, 2}, 0.0, false, {}},
      {"smoothing", -100, {}, 0.1, false, {}},
      {"smoothing_ignore", -100, {2}, 0.25, false, {}},
      {"weight", -100, {}, 0.0, true, {}},
      {"weight_ignore", -100, {4}, 0.0, true, {}},
      {"weight_smoothing_ignore", -100, {0}, 0.2, true, {}},
      {"full_smoothing", -100, {}, 1.0, true, {}},
      {"mask", -100, {}, 0.0, false, {1, 0, 1, 1, 0}},
      {"mask_weight_smoothing_ignore", -100, {3}, 0.15, true, {0, 1, 1, 1, 1}},
  };
  return variants;
}

class CrossEntropyGradcheck
    : public ::testing::TestWithParam<std::tuple<size_t, Reduction>> {};

TEST_P(CrossEntropyGradcheck, Logits) {
  const auto& v = ce_variants()[std::get<0>(GetParam())];
  const Reduction reduction = std::get<1>(GetParam());
  const int64_t N = 5, C = 7;
  rnn::Rng rng(1234 + std::get<0>(GetParam()) * 7 + static_cast<uint64_t>(reduction));
  Tensor<double> logits = random_tensor({N, C}, rng, 3.0);
  Tensor<int64_t> targets({N});
  for (int64_t n = 0; n < N; ++n) targets[n] = static_cast<int64_t>(rng.below(C));
  for (int64_t r : v.ignored_rows) targets[r] = v.ignore_index;
  rnn::CrossEntropyOptions<double> opt;
  opt.ignore_index = v.ignore_index;
  opt.label_smoothing = v.label_smoothing;
  opt.reduction = reduction;
  if (v.weight) {
    opt.weight = Tensor<double>({C});
    for (int64_t c = 0; c < C; ++c) opt.weight[c] = rng.uniform(0.2, 2.0);
  }
  if (!v.mask.empty()) {
    opt.mask = Tensor<uint8_t>({N}, v.mask);
    for (int64_t n = 0; n < N; ++n) {
      if (!v.mask[static_cast<size_t>(n)]) targets[n] = 1000;  // never read
    }
  }
  rnn::LossUpstream<double> up;
  up.scale = rng.uniform(0.5, 2.0);
  if (reduction == Reduction::None) up.per_row = random_tensor({N}, rng, 2.0);

  const auto analytic = rnn::cross_entropy(logits, targets, opt, up);
  ASSERT_EQ(analytic.grad.shape(), logits.shape());
  rnn::LossUpstream<double> value_only = up;
  value_only.want_grad = false;
  auto loss = [&] {
    return objective(rnn::cross_entropy(logits, targets, opt, value_only), reduction, up);
  };
  EXPECT_TRUE(gradcheck(std::string("cross_entropy ") + v.name + " " + reduction_name(reduction) +
                            ": dlogits",
                        logits.span(), analytic.grad.span(), loss, kOptions));
}

INSTANTIATE_TEST_SUITE_P(
    Train, CrossEntropyGradcheck,
    ::testing::Combine(::testing::Range<size_t>(0, 11),
                       ::testing::Values(Reduction::Mean, Reduction::Sum, Reduction::None)),
    [](const auto& param_info) {
      return std::string(ce_variants()[std::get<0>(param_info.param)].name) + "_" +
             reduction_name(std::get<1>(param_info.param));
    });

class CrossEntropySequenceGradcheck
    : public ::testing::TestWithParam<std::tuple<bool, Reduction>> {};

TEST_P(CrossEntropySequenceGradcheck, Logits) {
  const bool batch_first = std::get<0>(GetParam());
  const Reduction reduction = std::get<1>(GetParam());
  const int64_t T = 4, B = 3, C = 6;
  rnn::Rng rng(77 + static_cast<uint64_t>(reduction) + (batch_first ? 10 : 0));
  const rnn::Shape rows = batch_first ? rnn::Shape{B, T} : rnn::Shape{T, B};
  Tensor<double> logits = random_tensor({rows[0], rows[1], C}, rng, 2.0);
  Tensor<int64_t> targets(rows);
  for (int64_t i = 0; i < targets.numel(); ++i) targets[i] = static_cast<int64_t>(rng.below(C));
  targets[1] = -100;
  const std::vector<int64_t> lengths{2, 4, 3};
  rnn::CrossEntropyOptions<double> opt;
  opt.reduction = reduction;
  opt.label_smoothing = 0.1;
  opt.weight = random_tensor({C}, rng, 0.5);
  for (int64_t c = 0; c < C; ++c) opt.weight[c] += 1.0;
  rnn::LossUpstream<double> up;
  up.scale = -1.3;
  if (reduction == Reduction::None) up.per_row = random_tensor(rows, rng, 2.0);

  const auto analytic = rnn::cross_entropy_sequence(logits, targets, lengths, opt, up, batch_first);
  ASSERT_EQ(analytic.grad.shape(), logits.shape());
  rnn::LossUpstream<double> value_only = up;
  value_only.want_grad = false;
  auto loss = [&] {
    return objective(
        rnn::cross_entropy_sequence(logits, targets, lengths, opt, value_only, batch_first),
        reduction, up);
  };
  EXPECT_TRUE(gradcheck("cross_entropy_sequence: dlogits", logits.span(), analytic.grad.span(),
                        loss, kOptions));
}

INSTANTIATE_TEST_SUITE_P(
    Train, CrossEntropySequenceGradcheck,
    ::testing::Combine(::testing::Bool(),
                       ::testing::Values(Reduction::Mean, Reduction::Sum, Reduction::None)),
    [](const auto& param_info) {
      return std::string(std::get<0>(param_info.param) ? "batch_first_" : "time_major_") +
             reduction_name(std::get<1>(param_info.param));
    });

const char* mse_variant_name(int v) {
  return v == 0 ? "plain" : v == 1 ? "mask" : v == 2 ? "lengths" : "lengths_batch_first";
}

class MseGradcheck : public ::testing::TestWithParam<std::tuple<int, Reduction>> {};

TEST_P(MseGradcheck, Pred) {
  const int variant = std::get<0>(GetParam());  // 0 plain, 1 mask [T,B], 2 lengths, 3 batch_first lengths
  const Reduction reduction = std::get<1>(GetParam());
  rnn::Rng rng(900 + static_cast<uint64_t>(variant) * 3 + static_cast<uint64_t>(reduction));
  const rnn::Shape shape = variant == 3 ? rnn::Shape{3, 4, 2} : rnn::Shape{4, 3, 2};
  Tensor<double> pred = random_tensor(shape, rng, 2.0);
  const Tensor<double> target = random_tensor(shape, rng, 2.0);
  rnn::MseOptions<double> opt;
  opt.reduction = reduction;
  if (variant == 1) opt.mask = Tensor<uint8_t>({4, 3}, {1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0});
  if (variant >= 2) opt.lengths = {3, 1, 4};
  opt.batch_first = variant == 3;
  rnn::LossUpstream<double> up;
  up.scale = 0.7;
  if (reduction == Reduction::None) up.per_row = random_tensor(shape, rng, 2.0);

  const auto analytic = rnn::mse(pred, target, opt, up);
  rnn::LossUpstream<double> value_only = up;
  value_only.want_grad = false;
  auto loss = [&] { return objective(rnn::mse(pred, target, opt, value_only), reduction, up); };
  EXPECT_TRUE(gradcheck("mse: dpred", pred.span(), analytic.grad.span(), loss, kOptions));
}

INSTANTIATE_TEST_SUITE_P(
    Train, MseGradcheck,
    ::testing::Combine(::testing::Range(0, 4),
                       ::testing::Values(Reduction::Mean, Reduction::Sum, Reduction::None)),
    [](const auto& param_info) {
      return std::string(mse_variant_name(std::get<0>(param_info.param))) + "_" +
             reduction_name(std::get<1>(param_info.param));
    });

}  // namespace
