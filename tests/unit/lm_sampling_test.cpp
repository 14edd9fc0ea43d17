// Sampling: greedy, temperature, top-k, top-p, <unk> never drawn, frequencies follow
// the softmax, and generation is deterministic for a seed and streamed piece by piece.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/lm/sampling.h"

namespace rnn::lm {
namespace {

TEST(LmSampling, GreedyTopKTopP) {
  const std::vector<float> logits{5.0f, 1.0f, 3.0f, 2.9f, -1.0f};
  Rng rng(1);
  SamplingOptions greedy{.greedy = true};
  EXPECT_EQ(sample_next(logits, greedy, rng), 2);  // id 0 (<unk>) is never drawn
  greedy.allow_unknown = true;
  EXPECT_EQ(sample_next(logits, greedy, rng), 0);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(sample_next(logits, {.top_k = 1}, rng), 2);
    EXPECT_EQ(sample_next(logits, {.top_p = 0.01}, rng), 2);
    const int64_t two = sample_next(logits, {.top_k = 2}, rng);
    EXPECT_TRUE(two == 2 || two == 3) << two;
    EXPECT_NE(sample_next(logits, {}, rng), 0);
  }
  EXPECT_EQ(sample_next(std::vector<float>{0.f, 1.f, 1.f}, {.greedy = true}, rng), 1);  // ties: lower id
  EXPECT_THROW(sample_next(logits, {.temperature = 0}, rng), Error);
  EXPECT_THROW(sample_next(logits, {.top_k = -1}, rng), Error);
  EXPECT_THROW(sample_next(logits, {.top_p = 1.5}, rng), Error);
  EXPECT_THROW(sample_next(std::vector<float>{0.f, NAN}, {}, rng), Error);
}

TEST(LmSampling, FrequenciesFollowTheTemperedSoftmax) {
  const std::vector<float> logits{0.0f, 1.0f, 0.5f, -0.5f};
  for (double temperature : {1.0, 0.5}) {
    double z = 0;
    std::vector<double> p(4, 0.0);
    for (size_t v = 1; v < 4; ++v) z += p[v] = std::exp(logits[v] / temperature);
    Rng rng(7);
    std::vector<int> count(4, 0);
    const int n = 40000;
    for (int i = 0; i < n; ++i) ++count[static_cast<size_t>(sample_next(logits, {.temperature = temperature}, rng))];
    EXPECT_EQ(count[0], 0);
    for (size_t v = 1; v < 4; ++v)
      EXPECT_NEAR(count[v] / double(n), p[v] / z, 0.01) << "token " << v << " T " << temperature;
  }
}

TEST(LmSampling, GenerationIsDeterministicForASeedAndStreamed) {
  const text::Vocabulary vocab(text::TokenLevel::Char, {"<unk>", "\n", " ", "a", "b", "c"});
  Rng init(3);
  LanguageModel<float> model(
      {.vocab_size = 6, .embed_size = 4, .rnn = {.mode = CellMode::GRU, .hidden_size = 8}}, init);
  GenerateOptions o;
  o.length = 64;
  o.seed = 11;
  o.prime = "ab";
  std::string streamed;
  const Generated a = generate(model, vocab, o, [&](const std::string& p) { streamed += p; });
  const Generated b = generate(model, vocab, o);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(streamed, a.text);
  EXPECT_EQ(a.ids.size(), 64u);
  EXPECT_EQ(a.prime_tokens, 2);
  o.seed = 12;
  EXPECT_NE(generate(model, vocab, o).text, a.text);
  o.prime = "abx";  // x is not in the vocabulary: counted, not an error
  EXPECT_EQ(generate(model, vocab, o).prime_unknown, 1);
  o.sampling.greedy = true;
  EXPECT_EQ(generate(model, vocab, o).text, generate(model, vocab, o).text);
  o.category = 0;
  EXPECT_THROW(generate(model, vocab, o), Error);  // not a conditional model
}

}  // namespace
}  // namespace rnn::lm
