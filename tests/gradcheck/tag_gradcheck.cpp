// Gradchecks of the tagging/classification pieces: pooling over time (last, mean, max; one
// and two directions, ragged lengths), the character encoder, the whole tagger (word
// embedding ++ char encoding -> biLSTM -> Linear) and the classifiers (rnn with each
// pooling, mean-embedding MLP, bag of words). Central differences in double, non-square
// shapes, random upstream gradient, loss = <dlogits, logits>, dropout 0.
// Bound: |analytic - numeric| / max(1, |numeric|) <= 1e-6 (eps 1e-6).
#include <gtest/gtest.h>

#include "rnn/tagging/models.h"
#include "support/gradcheck.h"

namespace rnn::test {
namespace {

using namespace rnn::tagging;

const GradcheckOptions kOptions{1e-6, 1e-6};

void check_all_parameters(Parameters<double>& store, const std::function<double()>& loss) {
  for (const ParamInfo& info : store.infos()) {
    const ParamId id = store.id(info.name);
    EXPECT_TRUE(gradcheck(info.name, {store.value(id), info.numel}, {store.grad(id), info.numel},
                          loss, kOptions));
  }
}

void check_pooling(Pooling pooling, int64_t directions) {
  Rng rng(21);
  const int64_t T = 4, B = 3, F = 2 * 3;  // F = D * Hd with Hd = 3 or 6
  const std::vector<int64_t> lengths{4, 1, 3};
  Tensor<double> y = random_tensor({T, B, F}, rng);
  const Tensor<double> dpooled = random_tensor({B, F}, rng);
  std::vector<int64_t> argmax;
  pool_forward(pooling, y, lengths, directions, &argmax);
  const Tensor<double> dy = pool_backward(pooling, y.shape(), lengths, directions, argmax, dpooled);
  auto loss = [&] { return dot(dpooled, pool_forward(pooling, y, lengths, directions)); };
  EXPECT_TRUE(gradcheck("dy", y.span(), dy.span(), loss, kOptions));
  // Padded steps get no gradient.
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      if (t < lengths[static_cast<size_t>(b)]) continue;
      for (int64_t f = 0; f < F; ++f) EXPECT_EQ(dy.at(t, b, f), 0.0) << "t=" << t << " b=" << b;
    }
  }
}

TEST(TagGradcheck, PoolingLast) { check_pooling(Pooling::Last, 1); }
TEST(TagGradcheck, PoolingLastBidirectional) { check_pooling(Pooling::Last, 2); }
TEST(TagGradcheck, PoolingMean) { check_pooling(Pooling::Mean, 2); }
TEST(TagGradcheck, PoolingMax) { check_pooling(Pooling::Max, 1); }

TEST(TagGradcheck, CharEncoder) {
  Rng rng(22);
  Parameters<double> store;
  CharEncoder<double> enc({.chars = 6, .embed = 3, .hidden = 4, .mode = CellMode::LSTM}, store, rng,
                          "chars.");
  const std::vector<std::vector<int64_t>> words{{1, 2, 3}, {5}, {0, 4, 4, 2, 1}};
  const Tensor<double> dout = random_tensor({3, 8}, rng);
  CharEncoderCache<double> cache;
  enc.forward(words, Mode::Eval, nullptr, &cache);
  store.zero_grad();
  enc.backward(cache, dout);
  check_all_parameters(store, [&] { return dot(dout, enc.forward(words, Mode::Eval, nullptr, nullptr)); });
}

TagBatch tiny_tag_batch() {
  // T=3, B=2 (lengths 3 and 2); 4 distinct words; word ids with a repeat.
  TagBatch b;
  b.lengths = {3, 2};
  b.words = Tensor<int64_t>({3, 2}, std::vector<int64_t>{1, 4, 2, 1, 3, 0});
  b.types = Tensor<int64_t>({3, 2}, std::vector<int64_t>{0, 1, 2, 0, 3, 0});
  b.type_chars = {{1, 2}, {3, 1, 4}, {2}, {4, 4, 1}};
  return b;
}

void check_tagger(CellMode mode, int64_t char_hidden, int64_t layers) {
  Rng rng(23);
  Parameters<double> store;
  TaggerConfig c;
  c.words = 5;
  c.chars = 5;
  c.tags = 4;
  c.word_embed = 3;
  c.char_embed = 2;
  c.char_hidden = char_hidden;
  c.hidden = 3;
  c.layers = layers;
  c.mode = mode;
  c.dropout = 0.0;
  Tagger<double> tagger(c, store, rng);
  const TagBatch batch = tiny_tag_batch();
  Tensor<double> dlogits = random_tensor({3, 2, 4}, rng);
  for (int64_t k = 0; k < 4; ++k) dlogits.at(2, 1, k) = 0;  // padding: no upstream gradient
  TaggerCachePtr<double> cache;
  tagger.forward(batch, Mode::Train, &rng, &cache);
  store.zero_grad();
  tagger.backward(*cache, dlogits);
  check_all_parameters(store, [&] {
    return dot(dlogits, tagger.forward(batch, Mode::Eval, nullptr, nullptr));
  });
}

TEST(TagGradcheck, TaggerLstmWithCharEncoder) { check_tagger(CellMode::LSTM, 2, 1); }
TEST(TagGradcheck, TaggerGruTwoLayers) { check_tagger(CellMode::GRU, 2, 2); }
TEST(TagGradcheck, TaggerWithoutCharEncoder) { check_tagger(CellMode::LSTM, 0, 1); }

void check_classifier(ClassifierKind kind, Pooling pooling, bool bidirectional) {
  Rng rng(24);
  Parameters<double> store;
  ClassifierConfig c;
  c.kind = kind;
  c.words = 6;
  c.classes = 3;
  c.embed = 4;
  c.hidden = 3;
  c.bidirectional = bidirectional;
  c.pooling = pooling;
  c.dropout = 0.0;
  auto model = make_classifier<double>(c, store, rng);
  ClassBatch batch;
  batch.lengths = {2, 4, 1};
  batch.words = Tensor<int64_t>({4, 3}, std::vector<int64_t>{1, 2, 5, 3, 2, 0, 0, 4, 0, 0, 1, 0});
  const Tensor<double> dlogits = random_tensor({3, 3}, rng);
  std::unique_ptr<ClassifierCache> cache;
  model->forward(batch, Mode::Train, &rng, &cache);
  store.zero_grad();
  model->backward(*cache, dlogits);
  check_all_parameters(store, [&] { return dot(dlogits, model->forward(batch, Mode::Eval, nullptr, nullptr)); });
}

TEST(TagGradcheck, ClassifierRnnLast) { check_classifier(ClassifierKind::Rnn, Pooling::Last, true); }
TEST(TagGradcheck, ClassifierRnnMean) { check_classifier(ClassifierKind::Rnn, Pooling::Mean, true); }
TEST(TagGradcheck, ClassifierRnnMax) { check_classifier(ClassifierKind::Rnn, Pooling::Max, false); }
TEST(TagGradcheck, ClassifierMeanEmbedding) {
  check_classifier(ClassifierKind::MeanEmbedding, Pooling::Mean, false);
}
TEST(TagGradcheck, ClassifierBagOfWords) { check_classifier(ClassifierKind::BagOfWords, Pooling::Mean, false); }

}  // namespace
}  // namespace rnn::test
