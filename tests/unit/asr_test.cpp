// Speech pieces: transcript lists (both line styles), tokens (word and char level, unknown
// tokens), frame stacking into a batch, decoding a batch column, model configuration JSON,
// and one training step through the AsrTask (finite loss, gradients, resumable state).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "rnn/asr/data.h"
#include "rnn/asr/model.h"
#include "rnn/asr/task.h"
#include "rnn/train/checkpoint.h"

namespace fs = std::filesystem;

namespace {

using namespace rnn::asr;
using rnn::Tensor;

TEST(AsrData, TranscriptListsInBothStyles) {
  const fs::path dir = fs::temp_directory_path() / "rnn_asr_list_test";
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "list.tsv");
    out << "# comment\n\na/b.wav\tone  two\tvoice x\n/abs/c.wav\tthree\r\nutt7 four five\n";
  }
  const auto u = read_transcripts((dir / "list.tsv").string());
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].path, (dir / "a/b.wav").string());
  EXPECT_EQ(u[0].text, "one two");
  EXPECT_EQ(u[0].speaker, "voice x");
  EXPECT_EQ(u[0].source, (dir / "list.tsv").string() + ":3");
  EXPECT_EQ(u[1].path, "/abs/c.wav");
  EXPECT_EQ(u[1].text, "three");
  EXPECT_EQ(u[2].path, (dir / "utt7.wav").string());
  EXPECT_EQ(u[2].text, "four five");
  {
    std::ofstream out(dir / "empty.tsv");
    out << "# nothing\n";
  }
  EXPECT_THROW(read_transcripts((dir / "empty.tsv").string()), rnn::Error);
  EXPECT_THROW(read_transcripts((dir / "missing.tsv").string()), rnn::Error);
  fs::remove_all(dir);
}

TEST(AsrData, WordAndCharTokens) {
  std::vector<Utterance> u = {{"a", "two one", "", "l:1"}, {"b", "oh two", "", "l:2"}};
  const Tokens w = Tokens::build(Tokens::Level::Word, u);
  EXPECT_EQ(w.tokens(), (std::vector<std::string>{"oh", "one", "two"}));
  EXPECT_EQ(w.classes(), 4);
  EXPECT_EQ(w.encode("two  oh", "x"), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(w.decode({3, 1}), "two oh");
  try {
    w.encode("one seven", "list.tsv:4");
    ADD_FAILURE();
  } catch (const rnn::Error& e) {
    EXPECT_EQ(std::string(e.what()), "list.tsv:4: unknown word 'seven' (not among the model's 3 tokens)");
  }
  const Tokens c = Tokens::build(Tokens::Level::Char, u);
  EXPECT_EQ(c.tokens().front(), " ");
  EXPECT_EQ(c.decode(c.encode("two one", "x")), "two one");
  EXPECT_THROW(c.encode("two!", "x"), rnn::Error);
  EXPECT_EQ(Tokens::from_json(w.to_json()).tokens(), w.tokens());
}

AsrConfig tiny_config() {
  AsrConfig c;
  c.features.n_mels = 4;
  c.stack = 2;
  c.hidden_size = 3;
  c.num_layers = 1;
  c.tokens = Tokens(Tokens::Level::Word, {"a", "b"});
  return c;
}

TEST(AsrModel, StacksFramesIntoAPaddedBatch) {
  rnn::Rng rng(1);
  const AsrModel model(tiny_config(), rng);
  Tensor<float> f0({5, 4}), f1({2, 4});
  for (int64_t i = 0; i < f0.numel(); ++i) f0[i] = static_cast<float>(i + 1);
  for (int64_t i = 0; i < f1.numel(); ++i) f1[i] = static_cast<float>(-(i + 1));
  const AsrBatch b = model.make_batch({&f0, &f1});
  EXPECT_EQ(b.lengths, (std::vector<int64_t>{3, 1}));
  ASSERT_EQ(b.x.shape(), (rnn::Shape{3, 2, 8}));
  // step 1 of utterance 0 = frames 2 and 3
  for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(b.x.at(1, 0, j), f0[8 + j]);
  // step 2 of utterance 0 = frame 4 then zeros
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(b.x.at(2, 0, j), f0[16 + j]);
  for (int64_t j = 4; j < 8; ++j) EXPECT_EQ(b.x.at(2, 0, j), 0.0f);
  for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(b.x.at(0, 1, j), f1[j]);
  EXPECT_EQ(b.x.at(1, 1, 0), 0.0f);
  const AsrForward out = model.forward(b, rnn::Mode::Eval, nullptr, false);
  ASSERT_EQ(out.log_probs.shape(), (rnn::Shape{3, 2, 3}));
  for (int64_t t = 0; t < 3; ++t) {
    double total = 0;
    for (int64_t c = 0; c < 3; ++c) total += std::exp(out.log_probs.at(t, 0, c));
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
  EXPECT_EQ(AsrConfig::from_json(model.config().to_json()).to_json(), model.config().to_json());
}

TEST(AsrModel, DecodesOneColumnOfABatch) {
  // [T=3, B=2, V=3]: column 1 has best classes 2, 2, 1 -> "2 1" (repeat collapsed)
  Tensor<float> lp({3, 2, 3}, -5.0f);
  lp.at(0, 1, 2) = 0.0f;
  lp.at(1, 1, 2) = 0.0f;
  lp.at(2, 1, 1) = 0.0f;
  EXPECT_EQ(decode(lp, 1, 3, 1), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(decode(lp, 1, 3, 4), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(decode(lp, 1, 1, 1), (std::vector<int64_t>{2}));
  EXPECT_THROW(decode(lp, 2, 3, 1), rnn::Error);
}

TEST(AsrTask, OneStepGivesAFiniteLossAndGradientsAndSavesItsState) {
  rnn::Rng rng(3);
  AsrModel model(tiny_config(), rng);
  FeatureSet set;
  for (int i = 0; i < 3; ++i) {
    Tensor<float> f({8 + i, 4});
    for (int64_t k = 0; k < f.numel(); ++k) f[k] = static_cast<float>(std::sin(0.7 * static_cast<double>(k) + i));
    set.features.push_back(f);
    set.targets.push_back(i == 0 ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 2});
    set.utterances.push_back({"u" + std::to_string(i), i == 0 ? "a" : "a b", "", "l"});
  }
  rnn::features::Normalizer norm;
  AsrTask task(model, norm, set, set, {.batch = 2, .valid_batch = 2});
  model.parameters().zero_grad();
  rnn::Rng step_rng(5);
  const rnn::StepResult r = task.train_step(step_rng);
  EXPECT_TRUE(std::isfinite(r.loss));
  EXPECT_GT(r.loss, 0.0);
  double norm2 = 0;
  for (float g : model.parameters().grads()) norm2 += static_cast<double>(g) * g;
  EXPECT_GT(norm2, 0.0);
  const rnn::EvalResult v = task.validate();
  EXPECT_TRUE(std::isfinite(v.loss));
  EXPECT_TRUE(v.metrics.count("wer") && v.metrics.count("string_accuracy"));
  rnn::Checkpoint ck;
  task.save_state(ck);
  AsrTask other(model, norm, set, set, {.batch = 2, .valid_batch = 2});
  other.load_state(ck);
  EXPECT_DOUBLE_EQ(other.epoch(), task.epoch());
  AsrTask wrong_batch(model, norm, set, set, {.batch = 3, .valid_batch = 2});
  EXPECT_THROW(wrong_batch.load_state(ck), rnn::Error);
}

}  // namespace
