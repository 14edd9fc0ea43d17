// Search and masking contracts: beam search finds the known best sequence of a hand-built
// scorer where greedy does not; beam 1 equals greedy; a batch decodes like its sources one by
// one; padding a source (longer neighbours in the batch) changes neither the loss nor the
// translation.
#include <gtest/gtest.h>

#include <cmath>

#include "rnn/seq2seq/data.h"
#include "rnn/seq2seq/model.h"
#include "rnn/seq2seq/search.h"

namespace rnn::seq2seq {
namespace {

// A bigram table: the next token's distribution depends on the previous token only.
// Tokens: 0 <unk>, 1 <s>, 2 </s>, 3 A, 4 B. Unlisted entries get 1e-4 before normalising.
//   after <s>: A 0.6, B 0.4       after A: A 0.34, B 0.33, </s> 0.33     after B: </s> 0.9
// Greedy takes A, then A forever (0.6 * 0.34^n). The best finished sequence is B </s>
// (0.4 * 0.9 = 0.36) against A </s> (0.198), A B </s> (0.178) and anything longer.
class BigramScorer final : public StepScorer {
 public:
  int64_t vocab_size() const override { return 5; }
  Tensor<float> log_probs(std::span<const int64_t> previous) override {
    EXPECT_EQ(static_cast<int64_t>(previous.size()), rows_);
    Tensor<float> out({static_cast<int64_t>(previous.size()), 5});
    for (size_t r = 0; r < previous.size(); ++r) {
      double p[5] = {1e-4, 1e-4, 1e-4, 1e-4, 1e-4};
      if (previous[r] == 1) p[3] = 0.6, p[4] = 0.4;
      if (previous[r] == 3) p[3] = 0.34, p[4] = 0.33, p[2] = 0.33;
      if (previous[r] == 4) p[2] = 0.9;
      double sum = 0;
      for (double v : p) sum += v;
      for (int v = 0; v < 5; ++v) out.at(static_cast<int64_t>(r), v) = static_cast<float>(std::log(p[v] / sum));
    }
    return out;
  }
  void select(const std::vector<int64_t>& rows) override {
    for (int64_t r : rows) EXPECT_LT(r, rows_);
    rows_ = static_cast<int64_t>(rows.size());
  }
  int64_t rows_ = 1;
};

TEST(Seq2SeqSearch, BeamFindsTheKnownBestSequenceGreedyMisses) {
  BigramScorer greedy_scorer;
  const Hypothesis g = greedy_search(greedy_scorer, {6})[0];
  EXPECT_EQ(g.ids, (std::vector<int64_t>{3, 3, 3, 3, 3, 3}));  // cut at the limit
  BigramScorer beam_scorer;
  const Hypothesis b = beam_search(beam_scorer, {6}, {.beam = 2, .length_penalty = 0.0})[0];
  EXPECT_EQ(b.ids, (std::vector<int64_t>{4, 2}));
  EXPECT_NEAR(b.log_prob, std::log(0.4 / 1.0003) + std::log(0.9 / 0.9004), 1e-5);
  // Two sources at once, each with its own beam and limit.
  BigramScorer batched;
  batched.rows_ = 2;
  const std::vector<Hypothesis> both = beam_search(batched, {6, 1}, {.beam = 2, .length_penalty = 0.0});
  EXPECT_EQ(both[0].ids, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(both[1].ids, (std::vector<int64_t>{3}));  // limit 1: the best live token
}

TEST(Seq2SeqSearch, LengthNormalisationPrefersLongerWhenAlphaIsLarge) {
  // With alpha = 0 the shortest good sequence wins; all finished hypotheses are ranked by
  // log_prob / length^alpha, so a large alpha can only favour longer ones.
  BigramScorer s0, s1;
  const Hypothesis raw = beam_search(s0, {6}, {.beam = 3, .length_penalty = 0.0})[0];
  const Hypothesis norm = beam_search(s1, {6}, {.beam = 3, .length_penalty = 2.0})[0];
  EXPECT_GE(norm.ids.size(), raw.ids.size());
  EXPECT_NEAR(norm.score, norm.log_prob / std::pow(static_cast<double>(norm.ids.size()), 2.0), 1e-9);
}

Seq2SeqConfig small_config(AttentionScore score) {
  Seq2SeqConfig c;
  c.src_vocab = 13;
  c.tgt_vocab = 11;
  c.embed_size = 6;
  c.hidden_size = 5;
  c.encoder_layers = 2;
  c.decoder_layers = 1;
  c.attention = score;
  return c;
}

std::vector<EncodedPair> some_pairs() {
  return {{{3, 4, 5, 6, 7}, {3, 4, 5}}, {{8, 9}, {6, 7, 8, 9}}, {{10, 11, 12}, {10}}};
}

TEST(Seq2SeqSearch, BatchEqualsRowsAloneAndBeamOneIsGreedy) {
  for (AttentionScore score : {AttentionScore::General, AttentionScore::Additive, AttentionScore::None}) {
    Rng rng(4);
    Seq2Seq<float> model(small_config(score), rng);
    std::vector<std::vector<int64_t>> sources;
    for (const EncodedPair& p : some_pairs()) sources.push_back(p.source);
    TranslateOptions greedy{.search = {.beam = 1}, .batch = 3, .max_length = 8};
    const auto together = translate(model, sources, greedy);
    for (size_t i = 0; i < sources.size(); ++i) {
      const auto alone = translate(model, {sources[i]}, greedy);
      EXPECT_EQ(alone[0].ids, together[i].ids) << to_string(score) << " source " << i;
      EXPECT_NEAR(alone[0].log_prob, together[i].log_prob, 1e-4);
    }
    // beam search with beam 1 through the generic code equals greedy
    Tensor<int64_t> src({5, 3}, kEos);
    std::vector<int64_t> lengths;
    for (int64_t b = 0; b < 3; ++b) {
      for (size_t t = 0; t < sources[static_cast<size_t>(b)].size(); ++t)
        src.at(static_cast<int64_t>(t), b) = sources[static_cast<size_t>(b)][t];
      lengths.push_back(static_cast<int64_t>(sources[static_cast<size_t>(b)].size()));
    }
    Seq2SeqScorer scorer(model, src, lengths);
    const auto b1 = beam_search(scorer, {8, 8, 8}, {.beam = 1, .length_penalty = 0.0});
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(b1[i].ids, together[i].ids);
    // a wider beam is batched the same way
    TranslateOptions beam4 = greedy;
    beam4.search.beam = 4;
    const auto wide = translate(model, sources, beam4);
    for (size_t i = 0; i < sources.size(); ++i) {
      const auto alone = translate(model, {sources[i]}, beam4);
      EXPECT_EQ(alone[0].ids, wide[i].ids);
      EXPECT_GE(wide[i].score, together[i].score / std::pow(static_cast<double>(together[i].ids.size()), 1.0) - 1e-4);
    }
  }
}

TEST(Seq2SeqMasking, PaddedSourcePositionsDoNotChangeTheLoss) {
  for (AttentionScore score : {AttentionScore::Dot, AttentionScore::General, AttentionScore::Additive}) {
    Rng rng(8);
    Seq2SeqConfig c = small_config(score);
    Seq2Seq<double> model(c, rng);
    const std::vector<EncodedPair> pairs = some_pairs();
    const std::vector<int64_t> all{0, 1, 2};
    double sum_alone = 0;
    for (int64_t i : all) {
      const std::vector<int64_t> one{i};
      sum_alone += model.loss(make_batch(pairs, one), Mode::Eval, nullptr, {}).sum;
    }
    const SequenceLoss together = model.loss(make_batch(pairs, all), Mode::Eval, nullptr, {});
    EXPECT_NEAR(together.sum, sum_alone, 1e-10) << to_string(score);
    EXPECT_EQ(together.count, 4 + 5 + 2);
    // changing what sits in the padding changes nothing
    Seq2SeqBatch b = make_batch(pairs, all);
    b.src.at(4, 1) = 12;
    b.src.at(3, 2) = 3;
    EXPECT_NEAR(model.loss(b, Mode::Eval, nullptr, {}).sum, together.sum, 1e-12);
  }
}

}  // namespace
}  // namespace rnn::seq2seq
