// BLEU and chrF on hand-worked examples (the arithmetic is in the comments), and the 13a
// tokeniser rule by rule.
#include <gtest/gtest.h>

#include <cmath>

#include "rnn/core/error.h"
#include "rnn/seq2seq/bleu.h"

namespace rnn::seq2seq {
namespace {

TEST(Tokenize13a, Rules) {
  // '.' and ',' split unless between digits; the apostrophe is not split; '?' always is.
  EXPECT_EQ(tokenize_13a("It's 3.5 km, isn't it?"), "It's 3.5 km , isn't it ?");
  EXPECT_EQ(tokenize_13a("1990-1995"), "1990 - 1995");
  EXPECT_EQ(tokenize_13a("a-b"), "a-b");
  EXPECT_EQ(tokenize_13a("&quot;hi&quot; &amp; (you)"), "\" hi \" & ( you )");
  EXPECT_EQ(tokenize_13a("  end.  "), "end .");
  EXPECT_EQ(tokenize_13a("x<skipped>y"), "xy");
  EXPECT_EQ(tokenize_13a("dijo: ¿Quién?"), "dijo : ¿Quién ?");  // non-ASCII untouched
}

TEST(CorpusBleu, HandWorkedExample) {
  // 1: hyp "the cat sat on the mat ." ref "the cat is on the mat ."  (7 / 7 tokens)
  //    1-grams 6/7 (not "sat"), 2-grams 4/6 (the cat, on the, the mat, mat .),
  //    3-grams 2/5 (on the mat, the mat .), 4-grams 1/4 (on the mat .)
  // 2: hyp "hello , world" ref "hello , big world !"  (3 / 5 tokens)
  //    1-grams 3/3, 2-grams 1/2 (hello ,), 3-grams 0/1, 4-grams 0/0
  // corpus: p = 9/10, 5/8, 2/6, 1/4; c = 10, r = 12, BP = exp(1 - 12/10)
  // BLEU = 100 * exp(-0.2) * (0.9 * 0.625 * (1/3) * 0.25)^(1/4) = 38.0957408555
  const BleuScore b = corpus_bleu({"the cat sat on the mat.", "hello, world"},
                                  {"the cat is on the mat.", "hello, big world!"});
  EXPECT_EQ(b.matches, (std::array<int64_t, 4>{9, 5, 2, 1}));
  EXPECT_EQ(b.totals, (std::array<int64_t, 4>{10, 8, 6, 4}));
  EXPECT_EQ(b.hyp_length, 10);
  EXPECT_EQ(b.ref_length, 12);
  EXPECT_NEAR(b.brevity_penalty, std::exp(-0.2), 1e-12);
  EXPECT_NEAR(b.precisions[0], 90.0, 1e-9);
  EXPECT_NEAR(b.precisions[2], 100.0 / 3.0, 1e-9);
  EXPECT_NEAR(b.score, 38.0957408555, 1e-8);
}

TEST(CorpusBleu, PerfectAndEmpty) {
  EXPECT_NEAR(corpus_bleu({"a b c d e"}, {"a b c d e"}).score, 100.0, 1e-9);
  EXPECT_EQ(corpus_bleu({""}, {"a b c d"}).score, 0.0);
  EXPECT_THROW(corpus_bleu({"a"}, {"a", "b"}), Error);
}

TEST(CorpusBleu, ExpSmoothingOfAMissingOrder) {
  // hyp "a b c d" ref "a b c e": p1 3/4, p2 2/3, p3 1/2, p4 0/1 -> 100/(2*1) = 50%
  // BLEU = 100 * (0.75 * 2/3 * 0.5 * 0.5)^(1/4) = 100 * 0.125^(1/4) = 59.4603557501
  const BleuScore b = corpus_bleu({"a b c d"}, {"a b c e"});
  EXPECT_NEAR(b.precisions[3], 50.0, 1e-9);
  EXPECT_NEAR(b.score, 59.4603557501, 1e-8);
}

TEST(CorpusChrf, HandWorkedExample) {
  // hyp "a b" -> "ab", ref "abc" (spaces removed).
  // n=1: P 2/2, R 2/3;  n=2: P 1/1, R 1/2;  n=3: no hypothesis 3-gram (not effective).
  // avg P = 1, avg R = (2/3 + 1/2) / 2 = 7/12; chrF = 100 * 5 P R / (4 P + R) = 100 * 35/55
  EXPECT_NEAR(corpus_chrf({"a b"}, {"abc"}), 100.0 * 35.0 / 55.0, 1e-9);
  EXPECT_NEAR(corpus_chrf({"la casa"}, {"la casa"}), 100.0, 1e-9);
  EXPECT_NEAR(corpus_chrf({"xyz"}, {"abc"}), 0.0, 1e-9);
}

}  // namespace
}  // namespace rnn::seq2seq
