// CTC loss on cases small enough to work out by hand, greedy and prefix beam search on
// hand-built frame scores, edit distance and the error rates.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rnn/ctc/ctc.h"
#include "rnn/ctc/metrics.h"

namespace {

using rnn::Tensor;
using namespace rnn::ctc;

// log_probs [T,1,C] from probabilities per frame.
Tensor<double> from_probs(const std::vector<std::vector<double>>& p) {
  const auto steps = static_cast<int64_t>(p.size()), classes = static_cast<int64_t>(p[0].size());
  Tensor<double> t({steps, 1, classes});
  for (int64_t i = 0; i < steps; ++i)
    for (int64_t c = 0; c < classes; ++c) t.at(i, 0, c) = std::log(p[i][c]);
  return t;
}

std::vector<float> flat_log(const std::vector<std::vector<double>>& p) {
  std::vector<float> out;
  for (const auto& row : p)
    for (double v : row) out.push_back(static_cast<float>(std::log(v)));
  return out;
}

TEST(CtcLoss, TwoFramesOneLabelByHand) {
  // Paths for "a" in 2 frames: a a, - a, a - :  p = .3*.8 + .7*.8 + .3*.2 = 0.86
  const auto lp = from_probs({{0.7, 0.3}, {0.2, 0.8}});
  const std::vector<int64_t> len = {2};
  const auto r = ctc_loss(lp, {{1}}, len, {0, Reduction::Sum, false});
  EXPECT_NEAR(r.loss, -std::log(0.86), 1e-12);
  // d/d log y_0(a) = -(y0a*y1a + y0a*y1-)/p = -(0.3)/0.86
  EXPECT_NEAR(r.grad.at(0, 0, 1), -0.3 / 0.86, 1e-12);
  EXPECT_NEAR(r.grad.at(0, 0, 0), -(0.7 * 0.8) / 0.86, 1e-12);
}

TEST(CtcLoss, RepeatedLabelNeedsABlankBetween) {
  // "a a" in 3 frames has the single path a - a.
  const auto lp = from_probs({{0.5, 0.5}, {0.4, 0.6}, {0.1, 0.9}});
  const std::vector<int64_t> len = {3};
  const auto r = ctc_loss(lp, {{1, 1}}, len, {0, Reduction::Sum, false});
  EXPECT_NEAR(r.loss, -std::log(0.5 * 0.4 * 0.9), 1e-12);
  EXPECT_EQ(min_frames(std::vector<int64_t>{1, 1}), 3);
  EXPECT_EQ(min_frames(std::vector<int64_t>{1, 2, 2, 2}), 6);
}

TEST(CtcLoss, MeanDividesByTargetLengthThenBatch) {
  const auto lp = from_probs({{0.7, 0.3}, {0.2, 0.8}});
  Tensor<double> two({2, 2, 2});
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 2; ++c) two.at(t, b, c) = lp.at(t, 0, c);
  const std::vector<int64_t> len = {2, 2};
  const auto r = ctc_loss(two, {{1}, {}}, len, {0, Reduction::Mean, false});
  // sample 1 (empty target): only "- -" : -log(.7*.2); divided by max(0,1) = 1
  EXPECT_NEAR(r.losses[1], -std::log(0.7 * 0.2), 1e-12);
  EXPECT_NEAR(r.loss, (-std::log(0.86) / 1 + -std::log(0.14)) / 2, 1e-12);
}

TEST(CtcLoss, ImpossibleIsReportedNotNan) {
  const auto lp = from_probs({{0.5, 0.5}, {0.5, 0.5}});
  const std::vector<int64_t> len = {2};
  const auto r = ctc_loss(lp, {{1, 1}}, len, {0, Reduction::Mean, false});
  EXPECT_TRUE(std::isinf(r.loss));
  EXPECT_EQ(r.impossible, std::vector<int64_t>{0});
  for (double g : r.grad.values()) EXPECT_EQ(g, 0.0);
  const auto z = ctc_loss(lp, {{1, 1}}, len, {0, Reduction::Mean, true});
  EXPECT_EQ(z.loss, 0.0);
}

TEST(CtcLoss, BadArgumentsThrowNamingTheSample) {
  const auto lp = from_probs({{0.5, 0.5}, {0.5, 0.5}});
  const std::vector<int64_t> ok = {2}, too_long = {3}, zero = {0};
  EXPECT_THROW(ctc_loss(lp, {{0}}, ok), rnn::Error);          // the blank as a target
  EXPECT_THROW(ctc_loss(lp, {{2}}, ok), rnn::Error);          // class out of range
  EXPECT_THROW(ctc_loss(lp, {{1}}, too_long), rnn::Error);    // input length > T
  EXPECT_THROW(ctc_loss(lp, {{1}}, zero), rnn::Error);        // input length 0
  EXPECT_THROW(ctc_loss(lp, {{1}, {1}}, ok), rnn::Error);     // batch mismatch
  try {
    ctc_loss(lp, {{2}}, ok);
  } catch (const rnn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("sample 0"), std::string::npos) << e.what();
  }
}

TEST(CtcDecode, GreedyCollapsesRepeatsAndDropsBlanks) {
  // argmax per frame: 1 1 0 1 2 2 0  ->  1 1 2
  const std::vector<int> best = {1, 1, 0, 1, 2, 2, 0};
  std::vector<float> scores;
  for (int b : best)
    for (int c = 0; c < 3; ++c) scores.push_back(c == b ? 1.0f : 0.0f);
  EXPECT_EQ(greedy_decode(scores, 7, 3, 0), (std::vector<int64_t>{1, 1, 2}));
  EXPECT_EQ(greedy_decode(scores, 2, 3, 0), (std::vector<int64_t>{1}));  // first 2 frames
  EXPECT_EQ(greedy_decode(scores, 7, 3, 1), (std::vector<int64_t>{0, 2, 0}));  // blank = 1
}

TEST(CtcDecode, BeamFindsTheMostProbablePrefixGreedyMisses) {
  // Each frame: blank .6, a .4.  Greedy: "" (path - -, .36).
  // P("") = .36, P("a") = a a + a - + - a = .16 + .24 + .24 = .64.
  const auto lp = flat_log({{0.6, 0.4}, {0.6, 0.4}});
  EXPECT_TRUE(greedy_decode(lp, 2, 2).empty());
  const auto beams = prefix_beam_search(lp, 2, 2, {.beam_width = 4});
  ASSERT_EQ(beams.size(), 2u);
  EXPECT_EQ(beams[0].tokens, std::vector<int64_t>{1});
  EXPECT_NEAR(beams[0].log_prob, std::log(0.64), 1e-6);
  EXPECT_TRUE(beams[1].tokens.empty());
  EXPECT_NEAR(beams[1].log_prob, std::log(0.36), 1e-6);
}

TEST(CtcDecode, BeamKeepsRepeatsSeparatedByABlankApart) {
  // a - a is "a a"; a a a is "a". Frames favour a, blank, a.
  const auto lp = flat_log({{0.1, 0.9}, {0.8, 0.2}, {0.1, 0.9}});
  const auto beams = prefix_beam_search(lp, 3, 2, {.beam_width = 8});
  ASSERT_FALSE(beams.empty());
  EXPECT_EQ(beams[0].tokens, (std::vector<int64_t>{1, 1}));
  // P("a a") = only a - a = .9*.8*.9
  EXPECT_NEAR(beams[0].log_prob, std::log(0.9 * 0.8 * 0.9), 1e-6);
  // The beam's probabilities of all prefixes add up to one when nothing is pruned.
  double total = 0;
  for (const auto& b : beams) total += std::exp(b.log_prob);
  EXPECT_NEAR(total, 1.0, 1e-6);
}

TEST(CtcDecode, BeamWidthOneStillDecodes) {
  const auto lp = flat_log({{0.1, 0.9, 0.0 + 1e-9}, {0.9, 0.05, 0.05}, {0.1, 0.1, 0.8}});
  const auto beams = prefix_beam_search(lp, 3, 3, {.beam_width = 1});
  ASSERT_EQ(beams.size(), 1u);
  EXPECT_EQ(beams[0].tokens, (std::vector<int64_t>{1, 2}));
  EXPECT_THROW(prefix_beam_search(lp, 3, 3, {.beam_width = 0}), rnn::Error);
  EXPECT_THROW(prefix_beam_search(lp, 4, 3), rnn::Error);
}

TEST(ErrorRates, EditDistanceByHand) {
  const std::string a = "kitten", b = "sitting";
  EXPECT_EQ(edit_distance<char>(std::span<const char>(a.data(), a.size()),
                                std::span<const char>(b.data(), b.size())),
            3);
  const std::vector<int> empty, three = {1, 2, 3};
  EXPECT_EQ(edit_distance<int>(empty, three), 3);
  EXPECT_EQ(edit_distance<int>(three, empty), 3);
  EXPECT_EQ(edit_distance<int>(three, three), 0);
}

TEST(ErrorRates, WerCerAndStringAccuracy) {
  ErrorCounts e;
  // words: delete "two", insert "four" -> 2 edits of 3 words.
  // chars "one two three" (13) -> "one three four" (14): 
  e.add("one two three", "one  three four");
  EXPECT_EQ(e.word_edits, 2);
  EXPECT_EQ(e.words, 3);
  EXPECT_EQ(e.chars, 13);
  EXPECT_EQ(e.strings_right, 0);
  e.add("oh five", " oh   five ");  // whitespace does not count
  EXPECT_EQ(e.word_edits, 2);
  EXPECT_EQ(e.words, 5);
  EXPECT_EQ(e.strings_right, 1);
  EXPECT_NEAR(e.wer(), 2.0 / 5.0, 1e-12);
  EXPECT_NEAR(e.string_accuracy(), 0.5, 1e-12);
  ErrorCounts c;
  c.add("abc", "abd");
  EXPECT_NEAR(c.cer(), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(c.wer(), 1.0, 1e-12);
  ErrorCounts sum;
  sum.add(e);
  sum.add(c);
  EXPECT_EQ(sum.strings, 3);
  EXPECT_EQ(ErrorCounts{}.wer(), 0.0);
}

}  // namespace
