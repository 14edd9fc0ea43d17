// Learning: a task that cannot be solved without memory, solved by LSTM and by GRU within
// a fixed budget.
//
// Delayed recall: the input is a random token sequence over V symbols; the target at
// step t is the token seen K steps earlier (no target for t < K). A model that only sees
// the current token is at chance, loss ln V; remembering the last K tokens solves it.
// First-token recall: the only target is at the last step, T-1 = 14 steps after the token
// it asks for (the first one), with random distractors in between.
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
#include "rnn/nn/init.h"
#include "rnn/nn/linear.h"
#include "rnn/train/losses.h"
#include "rnn/train/optimizers.h"

namespace rnn::test {
namespace {

constexpr int64_t kVocab = 8;   // V
constexpr int64_t kDelay = 5;   // K
constexpr int64_t kBatch = 32;  // B
constexpr int64_t kEmbed = 8;   // E
constexpr int64_t kHidden = 48; // H

enum class Task { DelayedRecall, FirstTokenRecall };

int64_t steps_of(Task task) { return task == Task::DelayedRecall ? 20 : 15; }  // T

struct Batch {
  Tensor<int64_t> ids;      // [T,B]
  Tensor<int64_t> targets;  // [T*B]; -100 (ignored) where there is no target
};

Batch make_batch(Task task, Rng& rng) {
  const int64_t steps = steps_of(task);
  Batch batch{Tensor<int64_t>({steps, kBatch}), Tensor<int64_t>({steps * kBatch}, -100)};
  for (int64_t i = 0; i < batch.ids.numel(); ++i)
    batch.ids[i] = static_cast<int64_t>(rng.below(kVocab));
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t b = 0; b < kBatch; ++b) {
      if (task == Task::DelayedRecall && t >= kDelay)
        batch.targets[t * kBatch + b] = batch.ids.at(t - kDelay, b);
      if (task == Task::FirstTokenRecall && t == steps - 1)
        batch.targets[t * kBatch + b] = batch.ids.at(0, b);
    }
  }
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
  const int64_t steps = batch.ids.dim(0);
  Tensor<float> logits = m.head.forward(out.y);  // [T,B,V]
  logits.reshape({steps * kBatch, kVocab});
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
    loss.grad.reshape({steps, kBatch, kVocab});
    RecurrentGradOutput<float> grad;
    grad.dy = m.head.backward(out.y, loss.grad);  // [T,B,H]
    const RecurrentGradInput<float> dinput = m.rnn.backward(*cache, grad);
    m.embed.backward(batch.ids, dinput.dx);
  }
  return e;
}

Evaluation held_out(Model& m, Task task) {
  Rng rng(777);  // the same fresh sequences for every model, never used in training
  Evaluation total;
  const int kBatches = task == Task::DelayedRecall ? 4 : 16;
  for (int i = 0; i < kBatches; ++i) {
    const Evaluation e = run(m, make_batch(task, rng), false);
    total.loss += e.loss / kBatches;
    total.accuracy += e.accuracy / kBatches;
  }
  return total;
}

void learns(Task task, CellMode mode, int max_updates) {
  const auto start = std::chrono::steady_clock::now();
  Rng init_rng(2024);
  Model m(mode, init_rng);
  if (task == Task::FirstTokenRecall && mode == CellMode::LSTM) {
    // The usual help for long lags: start the LSTM remembering (forget-gate bias 1).
    init::forget_gate_bias(m.store.value_view(m.store.id("rnn.bias_ih_l0")), 1.0);
  }
  Adam<float> adam(AdamOptions{.lr = 1e-2});
  Rng data_rng(1);

  const double chance = std::log(static_cast<double>(kVocab));
  const double loss_bound = 0.05, accuracy_bound = 0.99;
  const Evaluation before = held_out(m, task);
  std::printf("%s: before training loss %.4f accuracy %.3f (chance: loss %.4f)\n",
              to_string(mode).c_str(), before.loss, before.accuracy, chance);
  // The bound is far from what an untrained model (or one without memory) reaches.
  EXPECT_GT(before.loss, 0.8 * chance);
  EXPECT_LT(before.accuracy, 0.5);

  Evaluation after;
  int updates = 0;
  while (updates < max_updates) {
    m.store.zero_grad();
    run(m, make_batch(task, data_rng), true);
    adam.step(m.store.values(), m.store.grads());
    ++updates;
    if (updates % 100 == 0) {
      after = held_out(m, task);
      std::printf("%s: update %d held-out loss %.4f accuracy %.4f\n", to_string(mode).c_str(),
                  updates, after.loss, after.accuracy);
      if (after.loss < loss_bound && after.accuracy > accuracy_bound) break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %d updates, %.2f s\n", to_string(mode).c_str(), updates, seconds);
  EXPECT_LT(after.loss, loss_bound) << "did not learn to recall the token asked for within "
                                    << max_updates << " updates";
  EXPECT_GT(after.accuracy, accuracy_bound);
}

TEST(LearningMemory, LstmRecallsTokenFiveStepsBack) {
  learns(Task::DelayedRecall, CellMode::LSTM, 800);
}
TEST(LearningMemory, GruRecallsTokenFiveStepsBack) {
  learns(Task::DelayedRecall, CellMode::GRU, 800);
}
TEST(LearningMemory, LstmRecallsFirstTokenAtTheEnd) {
  // The LSTM first sits on a plateau (held-out loss ~ln 4) whose length depends on the
  // initialisation and on the last bits of the arithmetic: over 31 initialisations and two
  // builds whose sigmoid / tanh differ in the last bit, 200-2600 updates for most, up to 5900
  // for two (a budget of 3000 failed 2 and 3 of the 31); every one learned within 6000.
  learns(Task::FirstTokenRecall, CellMode::LSTM, 8000);
}
TEST(LearningMemory, GruRecallsFirstTokenAtTheEnd) {
  learns(Task::FirstTokenRecall, CellMode::GRU, 3000);
}

}  // namespace
}  // namespace rnn::test
