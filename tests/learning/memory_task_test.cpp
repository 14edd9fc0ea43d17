// Learning: a task that cannot be solved without memory, solved by LSTM and by GRU within
// a fixed budget.
//
// Delayed recall: the input is a random token sequence over V symbols; the target at
// step t is the token seen K steps earlier (no target for t < K). A model that only sees
// the current token is at chance, loss ln V; remembering the last K tokens solves it.
//
// Model: Embedding [V,E] -> Recurrent (1 layer, H) -> Linear [V,H] -> cross_entropy,
// Adam, float32, fixed seeds. The bound is checked on fresh sequences the model never
// trained on; the untrained model is checked to fail it (so the test can fail).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "rnn/layers/recurrent.h"
#include "rnn/nn/embedding.h"
#include "rnn/nn/linear.h"
#include "rnn/train/losses.h"
#include "rnn/train/optimizers.h"

namespace rnn::test {
namespace {

constexpr int64_t kVocab = 8;   // V
constexpr int64_t kDelay = 5;   // K
constexpr int64_t kSteps = 20;  // T
constexpr int64_t kBatch = 32;  // B
constexpr int64_t kEmbed = 8;   // E
constexpr int64_t kHidden = 48; // H

struct Batch {
  Tensor<int64_t> ids;      // [T,B]
  Tensor<int64_t> targets;  // [T*B]; -100 (ignored) for t < K
};

Batch make_batch(Rng& rng) {
  Batch batch{Tensor<int64_t>({kSteps, kBatch}), Tensor<int64_t>({kSteps * kBatch})};
  for (int64_t i = 0; i < batch.ids.numel(); ++i)
    batch.ids[i] = static_cast<int64_t>(rng.below(kVocab));
  for (int64_t t = 0; t < kSteps; ++t)
    for (int64_t b = 0; b < kBatch; ++b)
      batch.targets[t * kBatch + b] = t < kDelay ? -100 : batch.ids.at(t - kDelay, b);
  return batch;
}

struct Model {
  Parameters<float> store;
  nn::Embedding<float> embed;
  Recurrent<float> rnn;
  nn::Linear<float> head;

  Model(CellMode mode, Rng& rng)
      : embed(kVocab, kEmbed, store, rng, "embed."),
        rnn(RecurrentConfig{.mode = mode, .input_size = kEmbed, .hidden_size = kHidden}, store,
            rng, "rnn."),
        head(kHidden, kVocab, store, rng, "head.") {}
};

struct Evaluation {
  double loss = 0;
  double accuracy = 0;  // over the steps that have a target
};

// One forward pass (and, when `train`, the backward pass into the store's gradients).
Evaluation run(Model& m, const Batch& batch, bool train) {
  const Tensor<float> x = m.embed.forward(batch.ids);  // [T,B,E]
  RecurrentCachePtr<float> cache;
  RecurrentInput<float> input;
  input.x = x;
  const RecurrentOutput<float> out =
      m.rnn.forward(input, train ? Mode::Train : Mode::Eval, nullptr, train ? &cache : nullptr);
  Tensor<float> logits = m.head.forward(out.y);  // [T,B,V]
  logits.reshape({kSteps * kBatch, kVocab});
  LossUpstream<float> upstream;
  upstream.want_grad = train;
  LossResult<float> loss = cross_entropy(logits, batch.targets, {}, upstream);

  Evaluation e;
  e.loss = loss.loss;
  int64_t correct = 0, counted = 0;
  for (int64_t n = 0; n < logits.dim(0); ++n) {
    if (batch.targets[n] < 0) continue;
    const float* row = logits.data() + n * kVocab;
    const int64_t guess = std::max_element(row, row + kVocab) - row;
    correct += guess == batch.targets[n];
    ++counted;
  }
  e.accuracy = static_cast<double>(correct) / static_cast<double>(counted);

  if (train) {
    loss.grad.reshape({kSteps, kBatch, kVocab});
    RecurrentGradOutput<float> grad;
    grad.dy = m.head.backward(out.y, loss.grad);  // [T,B,H]
    const RecurrentGradInput<float> dinput = m.rnn.backward(*cache, grad);
    m.embed.backward(batch.ids, dinput.dx);
  }
  return e;
}

Evaluation held_out(Model& m) {
  Rng rng(777);  // the same fresh sequences for every model, never used in training
  Evaluation total;
  const int kBatches = 4;
  for (int i = 0; i < kBatches; ++i) {
    const Evaluation e = run(m, make_batch(rng), false);
    total.loss += e.loss / kBatches;
    total.accuracy += e.accuracy / kBatches;
  }
  return total;
}

void learns_delayed_recall(CellMode mode, int max_updates) {
  const auto start = std::chrono::steady_clock::now();
  Rng init_rng(2024);
  Model m(mode, init_rng);
  Adam<float> adam(AdamOptions{.lr = 1e-2});
  Rng data_rng(1);

  const double chance = std::log(static_cast<double>(kVocab));
  const double loss_bound = 0.05, accuracy_bound = 0.99;
  const Evaluation before = held_out(m);
  std::printf("%s: before training loss %.4f accuracy %.3f (chance: loss %.4f)\n",
              to_string(mode).c_str(), before.loss, before.accuracy, chance);
  // The bound is far from what an untrained model (or one without memory) reaches.
  EXPECT_GT(before.loss, 0.8 * chance);
  EXPECT_LT(before.accuracy, 0.5);

  Evaluation after;
  int updates = 0;
  while (updates < max_updates) {
    m.store.zero_grad();
    run(m, make_batch(data_rng), true);
    adam.step(m.store.values(), m.store.grads());
    ++updates;
    if (updates % 100 == 0) {
      after = held_out(m);
      std::printf("%s: update %d held-out loss %.4f accuracy %.4f\n", to_string(mode).c_str(),
                  updates, after.loss, after.accuracy);
      if (after.loss < loss_bound && after.accuracy > accuracy_bound) break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %d updates, %.2f s\n", to_string(mode).c_str(), updates, seconds);
  EXPECT_LT(after.loss, loss_bound) << "did not learn to recall the token " << kDelay
                                    << " steps back within " << max_updates << " updates";
  EXPECT_GT(after.accuracy, accuracy_bound);
}

TEST(LearningMemory, LstmRecallsTokenFiveStepsBack) { learns_delayed_recall(CellMode::LSTM, 800); }
TEST(LearningMemory, GruRecallsTokenFiveStepsBack) { learns_delayed_recall(CellMode::GRU, 800); }

}  // namespace
}  // namespace rnn::test
