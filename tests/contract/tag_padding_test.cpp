// Batches mix lengths freely: a padded batch gives every sequence the same outputs and the
// same parameter gradients as the sequence run alone (tagger and every classifier), in
// double precision, and what sits in the padding does not matter.
#include <gtest/gtest.h>

#include <cmath>

#include "rnn/tagging/models.h"
#include "rnn/tagging/tasks.h"
#include "support/gradcheck.h"

namespace rnn::test {
namespace {

using namespace rnn::tagging;

constexpr double kTol = 1e-12;

void expect_close(std::span<const double> a, std::span<const double> b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], kTol * std::max(1.0, std::abs(b[i]))) << what << " at " << i;
  }
}

std::vector<TaggedSentence> sentences() {
  return {{{"The", "dog", "barked", "."}, {"at", "nn", "vbd", "."}},
          {{"Cats", "sleep"}, {"nns", "vb"}},
          {{"A", "very", "unusual", "word", "appeared", "today"}, {"at", "ql", "jj", "nn", "vbd", "nr"}},
          {{"Yes"}, {"uh"}}};
}

TaggerConfig tagger_config(const TagVocab& v) {
  TaggerConfig c;
  c.words = v.words.size();
  c.chars = v.chars.size();
  c.tags = v.tags.size();
  c.word_embed = 5;
  c.char_embed = 3;
  c.char_hidden = 4;
  c.hidden = 6;
  c.layers = 2;
  c.dropout = 0.0;
  return c;
}

TEST(TagPaddingContract, TaggerBatchEqualsSentencesAlone) {
  const auto data = sentences();
  const TagVocab vocab = build_tag_vocab({data[0], data[1]}, 1);  // some words unknown
  Rng rng(31);
  Parameters<double> store;
  Tagger<double> tagger(tagger_config(vocab), store, rng);
  std::vector<const TaggedSentence*> all;
  for (const auto& s : data) all.push_back(&s);
  TagBatch batch = make_tag_batch(all, vocab, false);
  const int64_t T = batch.words.dim(0), B = 4, C = vocab.tags.size();
  // Garbage in the padding must not matter.
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      if (t >= batch.lengths[static_cast<size_t>(b)]) batch.words[t * B + b] = 3;
    }
  }
  Tensor<double> dlogits = random_tensor({T, B, C}, rng);
  TaggerCachePtr<double> cache;
  const Tensor<double> logits = tagger.forward(batch, Mode::Train, &rng, &cache);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = batch.lengths[static_cast<size_t>(b)];
    for (int64_t t = len; t < T; ++t) {
      for (int64_t k = 0; k < C; ++k) dlogits.at(t, b, k) = 0;  // what the masked loss gives
    }
  }
  store.zero_grad();
  tagger.backward(*cache, dlogits);
  const std::vector<double> batch_grad(store.grads().begin(), store.grads().end());

  std::vector<double> sum_grad(store.numel(), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const TagBatch alone = make_tag_batch({all[static_cast<size_t>(b)]}, vocab, false);
    const int64_t len = alone.lengths[0];
    Tensor<double> d({len, 1, C});
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t k = 0; k < C; ++k) d.at(t, 0, k) = dlogits.at(t, b, k);
    }
    TaggerCachePtr<double> c1;
    const Tensor<double> l1 = tagger.forward(alone, Mode::Train, &rng, &c1);
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t k = 0; k < C; ++k) {
        ASSERT_NEAR(l1.at(t, 0, k), logits.at(t, b, k), kTol) << "sentence " << b << " t " << t;
      }
    }
    store.zero_grad();
    tagger.backward(*c1, d);
    for (size_t i = 0; i < sum_grad.size(); ++i) sum_grad[i] += store.grads()[i];
  }
  expect_close(batch_grad, sum_grad, "tagger parameter gradients (batch vs sum of alone)");
}

void classifier_case(ClassifierKind kind, Pooling pooling) {
  Rng rng(32);
  Parameters<double> store;
  ClassifierConfig c;
  c.kind = kind;
  c.words = 7;
  c.classes = 3;
  c.embed = 4;
  c.hidden = 5;
  c.layers = 2;
  c.bidirectional = true;
  c.pooling = pooling;
  c.dropout = 0.0;
  auto model = make_classifier<double>(c, store, rng);
  const std::vector<std::vector<int64_t>> seqs{{1, 2, 3}, {4}, {5, 6, 1, 2, 6}, {3, 3}};
  const int64_t B = 4, T = 5;
  ClassBatch batch;
  batch.words = Tensor<int64_t>({T, B}, 6);  // padding filled with a real word on purpose
  for (int64_t b = 0; b < B; ++b) {
    batch.lengths.push_back(static_cast<int64_t>(seqs[static_cast<size_t>(b)].size()));
    for (size_t t = 0; t < seqs[static_cast<size_t>(b)].size(); ++t) {
      batch.words[static_cast<int64_t>(t) * B + b] = seqs[static_cast<size_t>(b)][t];
    }
  }
  const Tensor<double> dlogits = random_tensor({B, 3}, rng);
  std::unique_ptr<ClassifierCache> cache;
  const Tensor<double> logits = model->forward(batch, Mode::Train, &rng, &cache);
  store.zero_grad();
  model->backward(*cache, dlogits);
  const std::vector<double> batch_grad(store.grads().begin(), store.grads().end());
  std::vector<double> sum_grad(store.numel(), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = seqs[static_cast<size_t>(b)];
    ClassBatch alone;
    alone.lengths = {static_cast<int64_t>(s.size())};
    alone.words = Tensor<int64_t>({static_cast<int64_t>(s.size()), 1}, s);
    std::unique_ptr<ClassifierCache> c1;
    const Tensor<double> l1 = model->forward(alone, Mode::Train, &rng, &c1);
    Tensor<double> d({1, 3});
    for (int64_t k = 0; k < 3; ++k) {
      ASSERT_NEAR(l1.at(0, k), logits.at(b, k), kTol) << to_string(kind) << " row " << b;
      d.at(0, k) = dlogits.at(b, k);
    }
    store.zero_grad();
    model->backward(*c1, d);
    for (size_t i = 0; i < sum_grad.size(); ++i) sum_grad[i] += store.grads()[i];
  }
  expect_close(batch_grad, sum_grad, to_string(kind) + "/" + to_string(pooling) + " gradients");
}

TEST(TagPaddingContract, ClassifierRnnLastEqualsAlone) { classifier_case(ClassifierKind::Rnn, Pooling::Last); }
TEST(TagPaddingContract, ClassifierRnnMeanEqualsAlone) { classifier_case(ClassifierKind::Rnn, Pooling::Mean); }
TEST(TagPaddingContract, ClassifierRnnMaxEqualsAlone) { classifier_case(ClassifierKind::Rnn, Pooling::Max); }
TEST(TagPaddingContract, ClassifierMeanEmbeddingEqualsAlone) {
  classifier_case(ClassifierKind::MeanEmbedding, Pooling::Mean);
}
TEST(TagPaddingContract, ClassifierBagOfWordsEqualsAlone) {
  classifier_case(ClassifierKind::BagOfWords, Pooling::Mean);
}

}  // namespace
}  // namespace rnn::test
