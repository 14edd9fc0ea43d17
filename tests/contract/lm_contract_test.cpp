// Language-model contracts: windows with the state carried equal one long forward; the
// task's streams carry state and reset it at a new pass; a checkpoint round trip restores
// everything; N steps straight equal N/2 + resume + N/2 bit for bit (through the one
// Trainer); exported model files give the same scores; mismatched checkpoints are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <vector>

#include "rnn/core/error.h"
#include "rnn/lm/corpus.h"
#include "rnn/lm/evaluation.h"
#include "rnn/lm/model.h"
#include "rnn/lm/model_file.h"
#include "rnn/lm/task.h"
#include "rnn/text/utf8.h"
#include "rnn/train/checkpoint.h"
#include "rnn/train/trainer.h"

namespace rnn::lm {
namespace {

namespace fs = std::filesystem;

LmConfig small_config(CellMode mode, int64_t vocab, double dropout = 0.0) {
  LmConfig c;
  c.vocab_size = vocab;
  c.embed_size = 6;
  c.rnn = {.mode = mode, .hidden_size = 10, .num_layers = 2, .dropout = dropout};
  c.dropout = dropout;
  return c;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("rnn_lm_contract_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

template <class T>
void windows_equal_one_long_forward(CellMode mode, double tolerance) {
  Rng rng(4);
  LanguageModel<T> model(small_config(mode, 9), rng);
  const int64_t steps = 23, batch = 3;
  Tensor<int64_t> ids({steps, batch});
  for (int64_t i = 0; i < ids.numel(); ++i) ids[i] = static_cast<int64_t>(rng.below(9));
  RecurrentState<T> whole_state;
  const Tensor<T> whole = model.forward(ids, whole_state, Mode::Eval, nullptr, nullptr);
  RecurrentState<T> state;
  int64_t t0 = 0;
  for (int64_t len : {5, 1, 8, 9}) {
    Tensor<int64_t> part({len, batch});
    std::copy(ids.data() + t0 * batch, ids.data() + (t0 + len) * batch, part.data());
    const Tensor<T> logits = model.forward(part, state, Mode::Eval, nullptr, nullptr);
    for (int64_t i = 0; i < logits.numel(); ++i)
      ASSERT_NEAR(logits[i], whole[t0 * batch * 9 + i], tolerance) << "step " << t0 << " + " << i;
    t0 += len;
  }
  for (int64_t i = 0; i < state.h.numel(); ++i) EXPECT_NEAR(state.h[i], whole_state.h[i], tolerance);
  for (int64_t i = 0; i < state.c.numel(); ++i) EXPECT_NEAR(state.c[i], whole_state.c[i], tolerance);
}

TEST(LmContract, CarriedStateEqualsOneLongForwardDouble) {
  windows_equal_one_long_forward<double>(CellMode::LSTM, 1e-12);
  windows_equal_one_long_forward<double>(CellMode::GRU, 1e-12);
}
TEST(LmContract, CarriedStateEqualsOneLongForwardFloat) {
  windows_equal_one_long_forward<float>(CellMode::LSTM, 1e-5);
}

// Stream evaluation = every stream run alone in one forward pass from zero state.
TEST(LmContract, StreamEvaluationEqualsEachStreamAlone) {
  Rng rng(8);
  LanguageModel<double> model(small_config(CellMode::LSTM, 7), rng);
  std::vector<int64_t> tokens(120);
  for (auto& t : tokens) t = static_cast<int64_t>(rng.below(7));
  // LanguageModel<double> is not what evaluate() takes: score by hand with TokenStreams.
  const TokenStreams streams(tokens, 4, 6);
  RecurrentState<double> state;
  Tensor<int64_t> x, y;
  double windowed = 0;
  for (int64_t w = 0; w < streams.windows(); ++w) {
    streams.window(w, x, y);
    windowed += model.window_loss(x, y, state, Mode::Eval, nullptr, false, 0).sum;
  }
  double alone = 0;
  const int64_t L = streams.stream_length();
  for (int64_t b = 0; b < 4; ++b) {
    Tensor<int64_t> sx({L, 1}), sy({L, 1});
    for (int64_t s = 0; s < L; ++s) {
      sx[s] = tokens[static_cast<size_t>(b * L + s)];
      sy[s] = tokens[static_cast<size_t>(b * L + s + 1)];
    }
    RecurrentState<double> fresh;
    alone += model.window_loss(sx, sy, fresh, Mode::Eval, nullptr, false, 0).sum;
  }
  EXPECT_NEAR(windowed, alone, 1e-10);
}

struct Fixture {
  Corpus corpus;
  std::unique_ptr<LanguageModel<float>> model;
  std::unique_ptr<LmTask> task;
  Fixture(const std::u32string& text, LmConfig config, LmTaskOptions options, uint64_t seed = 1) {
    corpus = make_corpus(text, {}, "sample");
    config.vocab_size = corpus.vocab.size();
    Rng rng(seed);
    model = std::make_unique<LanguageModel<float>>(config, rng);
    task = std::make_unique<LmTask>(*model, corpus.vocab, corpus.train, corpus.valid, options);
  }
};

std::u32string sample_text(size_t chars = 20000) {
  std::u32string t = text::read_text_file(std::string(RNN_SOURCE_DIR) + "/data/sample/kjv_genesis.txt");
  t.resize(std::min(chars, t.size()));
  return t;
}

TrainerOptions trainer(const fs::path& dir, int64_t steps) {
  TrainerOptions o;
  o.max_steps = steps;
  o.eval_every = 5;
  o.checkpoint_every = 0;
  o.clip_norm = 1.0;
  o.optimizer = "adam";
  o.optimizer_options = {{"lr", 3e-3}};
  o.seed = 9;
  o.run_dir = dir.string();
  o.progress = ProgressStyle::Off;
  return o;
}

TEST(LmContract, TaskPassesResetTheStateAndCountEpochs) {
  const std::u32string text = sample_text(3000);
  Fixture f(text, small_config(CellMode::GRU, 0), {.batch = 4, .seq_len = 50});
  const int64_t windows = f.task->streams().windows();
  Rng rng(1);
  for (int64_t i = 0; i < windows; ++i) f.task->train_step(rng);
  EXPECT_DOUBLE_EQ(f.task->epoch(), 1.0);
  f.task->train_step(rng);
  EXPECT_EQ(f.task->next_window(), 1);
  EXPECT_GT(f.task->epoch(), 1.0);
}

// A window on which the model diverges (NaN weights: the loss throws rnn::NonFiniteError)
// is used up and drops the carried state, which holds NaN: once the weights are good again
// the next window trains from zero state instead of failing on the NaN it carried.
TEST(LmContract, DivergedWindowDropsTheCarriedState) {
  Fixture f(sample_text(3000), small_config(CellMode::LSTM, 0), {.batch = 4, .seq_len = 20});
  Rng rng(1);
  EXPECT_TRUE(std::isfinite(f.task->train_step(rng).loss));
  Parameters<float>& p = f.task->parameters();
  const std::vector<float> good(p.values().begin(), p.values().end());
  int poisoned = 0;
  for (const ParamInfo& info : p.infos()) {
    if (info.name.find("weight_hh_l0") == std::string::npos) continue;
    for (size_t i = 0; i < info.numel; ++i) p.values()[info.offset + i] = std::nanf("");
    ++poisoned;
  }
  ASSERT_EQ(poisoned, 1);
  EXPECT_THROW(f.task->train_step(rng), NonFiniteError);
  EXPECT_EQ(f.task->next_window(), 2);
  std::copy(good.begin(), good.end(), p.values().begin());
  p.zero_grad();
  EXPECT_TRUE(std::isfinite(f.task->train_step(rng).loss));
  EXPECT_EQ(f.task->next_window(), 3);
}

TEST(LmContract, ResumeIsBitExact) {
  const std::u32string text = sample_text();
  const LmConfig config = small_config(CellMode::LSTM, 0, 0.1);  // dropout: the Rng matters
  const LmTaskOptions options{.batch = 4, .seq_len = 16};
  const fs::path straight_dir = fresh_dir("straight"), resumed_dir = fresh_dir("resumed");

  Fixture straight(text, config, options);
  const TrainSummary s = Trainer(trainer(straight_dir, 24), *straight.task).run();
  EXPECT_EQ(s.steps, 24);

  {
    Fixture first(text, config, options);
    Trainer(trainer(resumed_dir, 12), *first.task).run();
  }
  Fixture second(text, config, options, /*seed=*/77);  // other init: the checkpoint must win
  TrainerOptions o = trainer(resumed_dir, 24);
  o.resume = true;
  Trainer(o, *second.task).run();

  const auto a = straight.model->parameters().values();
  const auto b = second.model->parameters().values();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
      << "resumed weights differ from the uninterrupted run";
  EXPECT_EQ(second.task->next_window(), straight.task->next_window());
  EXPECT_EQ(Checkpoint::load((straight_dir / "last.ckpt").string()).task_tensor("h").values(),
            Checkpoint::load((resumed_dir / "last.ckpt").string()).task_tensor("h").values());
}

TEST(LmContract, CheckpointRoundTripAndModelFiles) {
  const std::u32string text = sample_text(6000);
  const fs::path dir = fresh_dir("roundtrip");
  Fixture f(text, small_config(CellMode::GRU, 0), {.batch = 4, .seq_len = 16});
  Trainer(trainer(dir, 10), *f.task).run();
  const LmEvaluation direct =
      evaluate(*f.model, f.corpus.test.ids, f.corpus.test.characters, f.corpus.test.unknown);

  const LoadedLm from_ckpt = load_lm((dir / "last.ckpt").string());
  EXPECT_EQ(from_ckpt.kind, "checkpoint");
  EXPECT_TRUE(from_ckpt.vocab == f.corpus.vocab);
  EXPECT_EQ(from_ckpt.info.at("step").get<int64_t>(), 10);
  save_lm_model((dir / "model.safetensors").string(), *f.model, f.corpus.vocab, {{"note", "x"}});
  const LoadedLm exported = load_lm((dir / "model.safetensors").string());
  EXPECT_EQ(exported.kind, "model");
  EXPECT_EQ(exported.info.at("note"), "x");
  for (const LoadedLm* m : {&from_ckpt, &exported}) {
    EXPECT_TRUE(m->model->config() == f.model->config());
    const auto a = m->model->parameters().values();
    const auto b = f.model->parameters().values();
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
    const LmEvaluation e =
        evaluate(*m->model, f.corpus.test.ids, f.corpus.test.characters, f.corpus.test.unknown);
    EXPECT_EQ(e.loss, direct.loss);
  }

  // The task refuses checkpoints of another model, vocabulary, text or batch layout.
  const Checkpoint c = Checkpoint::load((dir / "last.ckpt").string());
  auto message = [&](LmTask& task) -> std::string {
    try {
      task.load_state(c);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  LmConfig bigger = small_config(CellMode::GRU, 0);
  bigger.rnn.hidden_size = 12;
  Fixture other_model(text, bigger, {.batch = 4, .seq_len = 16});
  EXPECT_NE(message(*other_model.task).find("another model: rnn.hidden_size 10 in the checkpoint, 12 now"),
            std::string::npos) << message(*other_model.task);
  std::u32string changed = text;
  changed[10] = U'\u00E9';  // a new character in the training part: another vocabulary
  Fixture other_vocab(changed, small_config(CellMode::GRU, 0), {.batch = 4, .seq_len = 16});
  // The vocabulary size changes the model too; either message names the mismatch.
  EXPECT_NE(message(*other_vocab.task).find("another"), std::string::npos);
  std::u32string swapped = text;
  swapped[30] = swapped[30] == U'a' ? U'e' : U'a';  // same characters, another text
  Fixture other_text(swapped, small_config(CellMode::GRU, 0), {.batch = 4, .seq_len = 16});
  EXPECT_NE(message(*other_text.task).find("another text"), std::string::npos)
      << message(*other_text.task);
  Fixture other_batch(text, small_config(CellMode::GRU, 0), {.batch = 5, .seq_len = 16});
  EXPECT_NE(message(*other_batch.task).find("--batch 4 in the checkpoint, 5 now"), std::string::npos);
  Fixture other_window(text, small_config(CellMode::GRU, 0), {.batch = 4, .seq_len = 8});
  EXPECT_NE(message(*other_window.task).find("--seq-len 16"), std::string::npos);
}

}  // namespace
}  // namespace rnn::lm
