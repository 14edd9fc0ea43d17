// The deterministic split and the contiguous batched streams of truncated BPTT.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/lm/corpus.h"

namespace rnn::lm {
namespace {

TEST(LmCorpus, SplitIsLastFivePercentTestAndFiveBeforeValidation) {
  const SplitRanges r = split_ranges(1000);
  EXPECT_EQ(r.train_end, 900u);
  EXPECT_EQ(r.valid_end, 950u);
  EXPECT_EQ(r.total, 1000u);
  const SplitRanges odd = split_ranges(1019);  // floor(50.95) = 50 each
  EXPECT_EQ(odd.valid_end - odd.train_end, 50u);
  EXPECT_EQ(odd.total - odd.valid_end, 50u);
  EXPECT_THROW(split_ranges(30), Error);  // 1 token each: too few
  EXPECT_NO_THROW(split_ranges(40));
}

TEST(LmCorpus, MakeCorpusBuildsTheVocabularyFromTrainingOnly) {
  std::u32string text(200, U'a');
  text[195] = U'z';  // only in the test part
  const Corpus c = make_corpus(text, {}, "t");
  EXPECT_EQ(c.train.ids.size(), 180u);
  EXPECT_EQ(c.valid.ids.size(), 10u);
  EXPECT_EQ(c.test.ids.size(), 10u);
  EXPECT_EQ(c.vocab.size(), 2);
  EXPECT_EQ(c.test.unknown, 1);
  EXPECT_EQ(c.test.ids[5], 0);
  EXPECT_EQ(c.test.characters, 10);
}

TEST(LmCorpus, StreamsAreContiguousAndCoverEveryPredictionOnce) {
  std::vector<int64_t> tokens(103);
  std::iota(tokens.begin(), tokens.end(), 0);
  const TokenStreams s(tokens, 4, 7);  // L = floor(102 / 4) = 25, windows 7,7,7,4
  EXPECT_EQ(s.stream_length(), 25);
  EXPECT_EQ(s.windows(), 4);
  EXPECT_EQ(s.window_steps(3), 4);
  EXPECT_EQ(s.predictions(), 100);
  std::vector<std::vector<int64_t>> inputs(4), targets(4);
  Tensor<int64_t> x, y;
  for (int64_t w = 0; w < s.windows(); ++w) {
    s.window(w, x, y);
    ASSERT_EQ(x.dim(1), 4);
    for (int64_t t = 0; t < x.dim(0); ++t)
      for (int64_t b = 0; b < 4; ++b) {
        inputs[static_cast<size_t>(b)].push_back(x.at(t, b));
        targets[static_cast<size_t>(b)].push_back(y.at(t, b));
      }
  }
  std::vector<int> seen(tokens.size(), 0);
  for (int64_t b = 0; b < 4; ++b) {
    const auto& in = inputs[static_cast<size_t>(b)];
    ASSERT_EQ(in.size(), 25u);
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(in[i], b * 25 + static_cast<int64_t>(i));  // contiguous
      EXPECT_EQ(targets[static_cast<size_t>(b)][i], in[i] + 1);  // next token
      ++seen[static_cast<size_t>(in[i] + 1)];
    }
  }
  for (size_t i = 1; i <= 100; ++i) EXPECT_EQ(seen[i], 1) << "target " << i;
  EXPECT_THROW(s.window(4, x, y), Error);
  EXPECT_THROW(TokenStreams(std::span<const int64_t>(tokens).first(4), 4, 2), Error);
  EXPECT_THROW(TokenStreams(tokens, 0, 2), Error);
  EXPECT_THROW(TokenStreams(tokens, 2, 0), Error);
}

}  // namespace
}  // namespace rnn::lm
