// Gradcheck of the language model (embedding or one-hot -> recurrent -> decoder ->
// cross-entropy), tied and untied, with dropout, projection and a conditional initial
// state: central differences in double, non-square shapes (V=7, E/H/T/B all different),
// every parameter and the carried state h0/c0 (with a random upstream gradient on h_n/c_n).
// The mixed case (rows starting from their category beside rows carrying a given state,
// as in a batch of document streams) checks cond.* and h0/c0 of the carried row together.
// Bound: |analytic - numeric| / max(1, |numeric|) <= 1e-6 (eps 1e-6).
#include <gtest/gtest.h>

#include <vector>

#include "rnn/lm/model.h"
#include "rnn/train/losses.h"
#include "support/gradcheck.h"

namespace rnn::test {
namespace {

const GradcheckOptions kOptions{1e-6, 1e-6};

void check_model(lm::LmConfig config, bool with_state, bool with_categories = false,
                 std::vector<int64_t> categories = {2, 0, 2}) {
  Rng rng(21);
  lm::LanguageModel<double> model(config, rng);
  Parameters<double>& store = model.parameters();
  const int64_t steps = 4, batch = 3, V = config.vocab_size;
  Tensor<int64_t> ids({steps, batch}), targets({steps, batch});
  for (int64_t i = 0; i < ids.numel(); ++i) {
    ids[i] = static_cast<int64_t>(rng.below(static_cast<uint64_t>(V)));
    targets[i] = static_cast<int64_t>(rng.below(static_cast<uint64_t>(V)));
  }
  const std::span<const int64_t> cats =
      with_categories ? std::span<const int64_t>(categories) : std::span<const int64_t>();
  RecurrentState<double> h0;
  RecurrentState<double> dhn;  // random upstream gradient on the final state
  const RecurrentState<double> zero = model.initial_state(batch);
  if (with_state) {
    h0.h = random_tensor(zero.h.shape(), rng, 0.5);
    if (!zero.c.empty()) h0.c = random_tensor(zero.c.shape(), rng, 0.5);
  }
  dhn.h = random_tensor(zero.h.shape(), rng);
  if (!zero.c.empty()) dhn.c = random_tensor(zero.c.shape(), rng);

  // loss = sum cross-entropy + <dh_n, h_n> + <dc_n, c_n>; dropout masks drawn from a
  // generator reseeded for every evaluation, so they are the same each time.
  auto run = [&](bool backward, RecurrentState<double>* dstate0) {
    Rng drop(5);
    RecurrentState<double> state = h0;
    lm::LmCache<double> cache;
    Tensor<double> logits =
        model.forward(ids, state, Mode::Train, &drop, backward ? &cache : nullptr, cats);
    logits.reshape({steps * batch, V});
    Tensor<int64_t> flat = targets;
    flat.reshape({steps * batch});
    CrossEntropyOptions<double> ce;
    ce.reduction = Reduction::Sum;
    LossUpstream<double> up;
    up.want_grad = backward;
    LossResult<double> loss = cross_entropy(logits, flat, ce, up);
    double value = loss.loss + dot(dhn.h, state.h) + (state.c.empty() ? 0.0 : dot(dhn.c, state.c));
    if (backward) {
      loss.grad.reshape({steps, batch, V});
      *dstate0 = model.backward(cache, loss.grad, dhn);
    }
    return value;
  };
  store.zero_grad();
  RecurrentState<double> dstate0;
  run(true, &dstate0);
  auto loss = [&] { return run(false, nullptr); };
  for (const ParamInfo& p : store.infos()) {
    const ParamId id = store.id(p.name);
    EXPECT_TRUE(gradcheck(p.name, {store.value(id), p.numel}, {store.grad(id), p.numel}, loss,
                          kOptions));
  }
  if (with_state) {
    EXPECT_TRUE(gradcheck("h0", h0.h.span(), dstate0.h.span(), loss, kOptions));
    if (!h0.c.empty()) {
      EXPECT_TRUE(gradcheck("c0", h0.c.span(), dstate0.c.span(), loss, kOptions));
    }
  }
}

lm::LmConfig config(CellMode mode, int64_t embed, int64_t hidden, int64_t layers, bool tie,
                    double dropout = 0.0, int64_t proj = 0, int64_t categories = 0) {
  lm::LmConfig c;
  c.vocab_size = 7;
  c.embed_size = embed;
  c.rnn = {.mode = mode, .hidden_size = hidden, .num_layers = layers,
           .dropout = layers > 1 ? dropout : 0.0, .proj_size = proj};
  c.tie_weights = tie;
  c.dropout = dropout;
  c.num_categories = categories;
  return c;
}

TEST(LmGradcheck, LstmUntiedTwoLayers) { check_model(config(CellMode::LSTM, 3, 5, 2, false), true); }
TEST(LmGradcheck, LstmTied) { check_model(config(CellMode::LSTM, 5, 5, 1, true), true); }
TEST(LmGradcheck, LstmProjectionTied) {
  check_model(config(CellMode::LSTM, 3, 6, 2, true, 0.0, 3), true);
}
TEST(LmGradcheck, GruTiedWithDropout) { check_model(config(CellMode::GRU, 4, 4, 2, true, 0.3), true); }
TEST(LmGradcheck, RnnOneHot) { check_model(config(CellMode::RNN_TANH, 0, 5, 1, false), true); }
TEST(LmGradcheck, LstmUntiedDropoutZeroState) {
  check_model(config(CellMode::LSTM, 3, 5, 2, false, 0.25), false);
}
TEST(LmGradcheck, ConditionalLstm) {
  check_model(config(CellMode::LSTM, 3, 5, 2, false, 0.0, 0, 3), false, true);
}
TEST(LmGradcheck, ConditionalGruTied) {
  check_model(config(CellMode::GRU, 4, 4, 1, true, 0.0, 0, 3), false, true);
}
TEST(LmGradcheck, ConditionalLstmMixedStartsAndCarriedRows) {
  check_model(config(CellMode::LSTM, 3, 5, 2, false, 0.0, 0, 3), true, true,
              {1, lm::kCarry, 0});
}
TEST(LmGradcheck, ConditionalGruMixedWithDropout) {
  check_model(config(CellMode::GRU, 4, 6, 2, false, 0.2, 0, 3), true, true,
              {lm::kCarry, 2, lm::kCarry});
}

}  // namespace
}  // namespace rnn::test
