// CTC loss gradient with respect to log_probs against central finite differences in double
// (relative error <= 1e-6), for each reduction, blank 0 and a blank in the middle, repeated
// labels, an empty target and unequal input lengths. The inputs are arbitrary scores (not
// normalised), so the check covers the exact d loss / d log_probs, not only its projection
// through a log_softmax. Shapes: T=6, B=3, C=5 (never equal).
#include <gtest/gtest.h>

#include <vector>

#include "rnn/ctc/ctc.h"
#include "support/gradcheck.h"

namespace {

using rnn::Tensor;

void run(rnn::ctc::Reduction reduction, int64_t blank, bool zero_infinity) {
  rnn::Rng rng(7 + static_cast<uint64_t>(blank));
  Tensor<double> lp = rnn::test::random_tensor({6, 3, 5}, rng, 1.5);
  const std::vector<std::vector<int64_t>> targets =
      blank == 0 ? std::vector<std::vector<int64_t>>{{1, 1, 3}, {}, {4, 2}}
                 : std::vector<std::vector<int64_t>>{{1, 1, 3}, {}, {4, 0}};
  const std::vector<int64_t> lengths = {6, 4, 5};
  rnn::ctc::CtcOptions o{blank, reduction, zero_infinity};
  const auto analytic = rnn::ctc::ctc_loss(lp, targets, lengths, o);
  auto loss = [&] { return rnn::ctc::ctc_loss(lp, targets, lengths, o, false).loss; };
  EXPECT_TRUE(rnn::test::gradcheck("log_probs", lp.span(), analytic.grad.span(), loss));
}

TEST(CtcGradcheck, Mean) { run(rnn::ctc::Reduction::Mean, 0, false); }
TEST(CtcGradcheck, Sum) { run(rnn::ctc::Reduction::Sum, 0, false); }
TEST(CtcGradcheck, NoneSumsTheLosses) { run(rnn::ctc::Reduction::None, 0, false); }
TEST(CtcGradcheck, BlankInTheMiddle) { run(rnn::ctc::Reduction::Mean, 2, false); }
TEST(CtcGradcheck, ZeroInfinityWithAPossibleBatch) { run(rnn::ctc::Reduction::Mean, 0, true); }

// An impossible sample (3 repeated labels need 5 frames, it has 4) contributes zero loss with
// zero_infinity and a zero gradient; the other sample's gradient stays exact.
TEST(CtcGradcheck, ZeroInfinityMasksTheImpossibleSample) {
  rnn::Rng rng(3);
  Tensor<double> lp = rnn::test::random_tensor({4, 2, 4}, rng, 1.0);
  const std::vector<std::vector<int64_t>> targets = {{2, 2, 2}, {1, 3}};
  const std::vector<int64_t> lengths = {4, 4};
  rnn::ctc::CtcOptions o{0, rnn::ctc::Reduction::Sum, true};
  const auto analytic = rnn::ctc::ctc_loss(lp, targets, lengths, o);
  ASSERT_EQ(analytic.impossible, std::vector<int64_t>{0});
  auto loss = [&] { return rnn::ctc::ctc_loss(lp, targets, lengths, o, false).loss; };
  EXPECT_TRUE(rnn::test::gradcheck("log_probs", lp.span(), analytic.grad.span(), loss));
}

}  // namespace
