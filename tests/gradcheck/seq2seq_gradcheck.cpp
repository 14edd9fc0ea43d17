// Gradchecks of translation's new math: attention (dot, general, additive) over a padded
// memory for several steps, and the whole encoder-decoder (embeddings, bidirectional
// stacked encoder with lengths, bridge, input feeding, attention, combine, generator,
// label-smoothed cross-entropy, dropout with fixed masks). Central differences in double,
// non-square shapes (S=4, B=3, M=6, Q=5, A=7; V 9 and 11), random upstream gradients.
// Bound: |analytic - numeric| / max(1, |numeric|) <= 1e-6 (eps 1e-6).
#include <gtest/gtest.h>

#include <vector>

#include "rnn/seq2seq/attention.h"
#include "rnn/seq2seq/model.h"
#include "support/gradcheck.h"

namespace rnn::test {
namespace {

using seq2seq::AttentionScore;

const GradcheckOptions kOptions{1e-6, 1e-6};

void check_attention(AttentionScore score) {
  Rng rng(3);
  const int64_t S = 4, B = 3, M = 6, Q = score == AttentionScore::Dot ? 6 : 5, steps = 2;
  Parameters<double> store;
  seq2seq::Attention<double> attn({score, Q, M, 7}, store, rng, "attn.");
  Tensor<double> memory = random_tensor({S, B, M}, rng);
  const std::vector<int64_t> lengths{4, 2, 3};
  std::vector<Tensor<double>> queries, upstream;
  for (int k = 0; k < steps; ++k) {
    queries.push_back(random_tensor({B, Q}, rng));
    upstream.push_back(random_tensor({B, M}, rng));
  }
  // loss = sum_k <dc_k, context_k>
  auto loss = [&] {
    const seq2seq::AttentionMemory<double> mem = attn.prepare(memory, lengths);
    double v = 0;
    for (int k = 0; k < steps; ++k) {
      seq2seq::AttentionStep<double> st;
      v += dot(upstream[static_cast<size_t>(k)], attn.forward(mem, queries[static_cast<size_t>(k)], st));
    }
    return v;
  };
  store.zero_grad();
  const seq2seq::AttentionMemory<double> mem = attn.prepare(memory, lengths);
  seq2seq::AttentionMemoryGrad<double> g;
  std::vector<Tensor<double>> dq;
  for (int k = 0; k < steps; ++k) {
    seq2seq::AttentionStep<double> st;
    attn.forward(mem, queries[static_cast<size_t>(k)], st);
    // masked: padded positions get exactly zero weight, the rest sums to one
    for (int64_t b = 0; b < B; ++b) {
      double sum = 0;
      for (int64_t s = 0; s < S; ++s) {
        if (s >= lengths[static_cast<size_t>(b)]) {
          EXPECT_EQ(st.weights.at(b, s), 0.0);
        }
        sum += st.weights.at(b, s);
      }
      EXPECT_NEAR(sum, 1.0, 1e-12);
    }
    dq.push_back(attn.backward(mem, st, upstream[static_cast<size_t>(k)], g));
  }
  Tensor<double> dmemory = attn.backward_memory(mem, g);
  for (const ParamInfo& p : store.infos()) {
    const ParamId id = store.id(p.name);
    EXPECT_TRUE(gradcheck(p.name, {store.value(id), p.numel}, {store.grad(id), p.numel}, loss,
                          kOptions));
  }
  EXPECT_TRUE(gradcheck("memory", memory.span(), dmemory.span(), loss, kOptions));
  for (int k = 0; k < steps; ++k)
    EXPECT_TRUE(gradcheck("query", queries[static_cast<size_t>(k)].span(),
                          dq[static_cast<size_t>(k)].span(), loss, kOptions));
  // padded memory positions receive no gradient
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = lengths[static_cast<size_t>(b)]; s < S; ++s)
      for (int64_t m = 0; m < M; ++m) EXPECT_EQ(dmemory.at(s, b, m), 0.0);
}

TEST(Seq2SeqGradcheck, AttentionDot) { check_attention(AttentionScore::Dot); }
TEST(Seq2SeqGradcheck, AttentionGeneral) { check_attention(AttentionScore::General); }
TEST(Seq2SeqGradcheck, AttentionAdditive) { check_attention(AttentionScore::Additive); }

void check_model(seq2seq::Seq2SeqConfig config, double label_smoothing) {
  Rng rng(17);
  config.src_vocab = 9;
  config.tgt_vocab = 11;
  seq2seq::Seq2Seq<double> model(config, rng);
  Parameters<double>& store = model.parameters();
  const int64_t S = 4, U = 3, B = 3;
  seq2seq::Seq2SeqBatch batch;
  batch.src = Tensor<int64_t>({S, B});
  batch.tgt_in = Tensor<int64_t>({U, B});
  batch.tgt_out = Tensor<int64_t>({U, B});
  for (int64_t i = 0; i < batch.src.numel(); ++i) batch.src[i] = 3 + static_cast<int64_t>(rng.below(6));
  for (int64_t i = 0; i < batch.tgt_in.numel(); ++i) {
    batch.tgt_in[i] = static_cast<int64_t>(rng.below(11));
    batch.tgt_out[i] = static_cast<int64_t>(rng.below(11));
  }
  batch.src_lengths = {4, 2, 3};
  batch.tgt_lengths = {3, 1, 2};
  seq2seq::LossOptions o;
  o.label_smoothing = label_smoothing;
  auto loss = [&] {
    Rng drop(9);  // same dropout masks every evaluation
    return model.loss(batch, Mode::Train, &drop, o).sum;
  };
  store.zero_grad();
  {
    Rng drop(9);
    seq2seq::LossOptions b = o;
    b.backward = true;
    model.loss(batch, Mode::Train, &drop, b);
  }
  for (const ParamInfo& p : store.infos()) {
    const ParamId id = store.id(p.name);
    EXPECT_TRUE(gradcheck(p.name, {store.value(id), p.numel}, {store.grad(id), p.numel}, loss,
                          kOptions));
  }
}

seq2seq::Seq2SeqConfig tiny(CellMode cell, AttentionScore score) {
  seq2seq::Seq2SeqConfig c;
  c.cell = cell;
  c.embed_size = 3;
  c.hidden_size = 2;
  c.encoder_layers = 2;
  c.bidirectional = true;
  c.decoder_hidden = score == AttentionScore::Dot ? 0 : 5;
  c.decoder_layers = 2;
  c.attention = score;
  c.attention_size = 3;
  return c;
}

TEST(Seq2SeqGradcheck, LstmGeneralInputFeedingSmoothing) {
  check_model(tiny(CellMode::LSTM, AttentionScore::General), 0.1);
}
TEST(Seq2SeqGradcheck, GruAdditiveWithDropout) {
  seq2seq::Seq2SeqConfig c = tiny(CellMode::GRU, AttentionScore::Additive);
  c.dropout = 0.3;
  check_model(c, 0.0);
}
TEST(Seq2SeqGradcheck, LstmDotUnidirectionalOneLayer) {
  seq2seq::Seq2SeqConfig c = tiny(CellMode::LSTM, AttentionScore::Dot);
  c.bidirectional = false;
  c.encoder_layers = 1;
  c.decoder_layers = 1;
  check_model(c, 0.0);
}
TEST(Seq2SeqGradcheck, NoAttentionNoInputFeeding) {
  seq2seq::Seq2SeqConfig c = tiny(CellMode::LSTM, AttentionScore::None);
  c.input_feeding = false;
  check_model(c, 0.2);
}

}  // namespace
}  // namespace rnn::test
